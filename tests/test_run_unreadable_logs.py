"""Logs of a shape Vigil cannot read: the run says how many rows it read, that none were
profiled, and why, instead of a bare "nothing due"."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli.app import app


def test_a_run_on_logs_of_another_shape_says_every_row_was_quarantined_and_why(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [
        {"ts_ms": 1772724889219 + k, "service": {"name": "eta"}, "request": {"inputs": {"x": k}}}
        for k in range(5)
    ]
    (logs / "a.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    config = tmp_path / "vigil.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "v.db"}"\n[ingest]\nsources = ["{logs}"]\n'
    )
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["run", "--config", str(config), "--once"]
    )
    assert result.exit_code == 0, result.output
    assert "nothing due; 5 rows read, 0 profiled, 5 quarantined" in result.stdout
    assert "quarantined 5 rows with no readable model: missing field 'model'" in result.stdout

"""``vigil demo --json`` on a tiny platform prints the promised keys and writes the reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli.app import app


@pytest.mark.slow
@pytest.mark.parametrize("detector", ["same-hour", "deep"])
def test_demo_json_on_a_tiny_platform(tmp_path: Path, detector: str) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app,
        [
            *("demo", "--out", str(out), "--models", "2", "--days", "10", "--json"),
            "--detector",
            detector,
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"injected", "detected", "precision", "recall", "report"} <= set(summary)
    assert summary["injected"] == 2
    assert 0.0 <= summary["precision"] <= 1.0 and 0.0 <= summary["recall"] <= 1.0
    assert Path(summary["report"]).exists()
    assert (out / "reports" / "ranker.html").exists()


def test_demo_refuses_an_unknown_detector_before_simulating(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--detector", "prophet"])
    assert result.exit_code == 1
    assert "detect.detector" in result.output
    assert not (out / "logs").exists()

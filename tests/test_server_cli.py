"""``vigil serve`` refuses to start without a write token; ``vigil bench server`` prints numbers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from vigil.cli.app import app


def test_serve_without_a_token_is_refused_with_the_fix() -> None:
    result = CliRunner().invoke(app, ["serve", "--db", "sqlite://"], env={"VIGIL_TOKEN": ""})
    assert result.exit_code == 2
    assert "VIGIL_TOKEN" in result.output


def test_bench_server_reports_rates_and_reads_every_row_back() -> None:
    result = CliRunner().invoke(
        app, ["bench", "server", "--requests", "4", "--rows", "50", "--clients", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "rows read back from the spool: 200 (all)" in result.output
    rate = re.search(r"([\d,]+) rows/s \(200 rows", result.output)
    assert rate is not None and int(rate.group(1).replace(",", "")) > 0


@pytest.mark.parametrize(("flag", "monitors_on"), [("--realtime", True), ("--no-realtime", False)])
def test_serve_turns_the_realtime_monitors_on_or_off(
    flag: str, monitors_on: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **_: served.append(application))
    db = f"sqlite:///{tmp_path / 'vigil.db'}"
    arguments = ["serve", "--db", db, "--spool", str(tmp_path / "spool"), flag]
    result = CliRunner().invoke(app, arguments, env={"VIGIL_TOKEN": "t"})
    assert result.exit_code == 0, result.output
    (application,) = served
    assert (application.state.realtime is not None) is monitors_on

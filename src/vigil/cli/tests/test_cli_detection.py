"""``vigil simulate series`` and ``vigil bench detect`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli.app import app

runner = CliRunner()


def test_simulate_series_writes_one_labeled_csv_per_series(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate", "series", "--out", str(tmp_path), "--seed", "4", "--count", "3"]
    )
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("*.csv"))
    assert len(files) == 3
    assert files[0].read_text().splitlines()[0] == "timestamp,value,label"


def test_bench_detect_json_on_a_labeled_folder(tmp_path: Path) -> None:
    runner.invoke(
        app, ["simulate", "series", "--out", str(tmp_path), "--seed", "4", "--count", "3"]
    )
    result = runner.invoke(
        app,
        [
            "bench",
            "detect",
            "--dataset",
            str(tmp_path),
            "--detectors",
            "zscore",
            "--json",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["dataset"] == tmp_path.name
    assert [r["detector"] for r in payload["results"]] == ["zscore"]


def test_bench_detect_unknown_detector_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["bench", "detect", "--dataset", str(tmp_path), "--detectors", "nope"]
    )
    assert result.exit_code != 0
    assert "known detectors" in result.output

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
    # The default family computes each value from raw rows and writes how many (n) and the
    # value's standard error from them (se).
    assert files[0].read_text().splitlines()[0] == "timestamp,value,label,n,se"


def test_simulate_series_keeps_the_older_generator_by_name(tmp_path: Path) -> None:
    args = ["simulate", "series", "--out", str(tmp_path), "--seed", "4", "--count", "2"]
    assert runner.invoke(app, [*args, "--family", "simulated"]).exit_code == 0
    files = sorted(tmp_path.glob("*.csv"))
    assert len(files) == 2
    assert files[0].read_text().splitlines()[0] == "timestamp,value,label"
    unknown = runner.invoke(app, [*args, "--family", "nope"])
    assert unknown.exit_code != 0 and "known: service" in unknown.output


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


def _bench(folder: Path, *extra: str) -> object:
    args = ["bench", "detect", "--dataset", str(folder), "--detectors", "zscore,mad"]
    result = runner.invoke(app, [*args, "--workers", "1", "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_several_fprs_are_judged_from_one_scoring_pass_like_separate_runs(tmp_path: Path) -> None:
    runner.invoke(
        app, ["simulate", "series", "--out", str(tmp_path), "--seed", "5", "--count", "4"]
    )
    both = _bench(tmp_path, "--fpr", "0.01", "--fpr", "0.001")
    assert isinstance(both, list) and [r["fpr"] for r in both] == [0.01, 0.001]
    for report in both:
        alone = _bench(tmp_path, "--fpr", str(report["fpr"]))
        assert isinstance(alone, dict)
        for joint, single in zip(report["results"], alone["results"], strict=True):
            for field in ("detector", "f1", "threshold", "false_events", "calibration_steps"):
                assert joint[field] == single[field]
    normal = _bench(tmp_path, "--calibration", "normal-prefix")
    assert isinstance(normal, dict) and "outside labeled windows" in normal["calibration"]
    refused = runner.invoke(app, ["bench", "detect", "--dataset", str(tmp_path), "--fpr", "2"])
    assert refused.exit_code != 0 and "fpr" in refused.output

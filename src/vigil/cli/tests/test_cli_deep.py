"""``vigil train deep`` and ``vigil bench deep`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.detect.deep import load_model

runner = CliRunner()


def test_train_deep_writes_loadable_weights_with_provenance(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "w.npz"
    args = ["train", "deep", "--out", str(out), "--simulated", "3", "--epochs", "1"]
    result = runner.invoke(app, [*args, "--rows", "2000", "--omit", "2"])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.spec.omit == 2
    assert "simulated seed 1 x3" in model.provenance
    assert "s CPU" in result.output


def test_from_feedback_needs_a_store_url(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    result = runner.invoke(
        app, ["train", "deep", "--out", str(tmp_path / "w.npz"), "--from-feedback"]
    )
    assert result.exit_code != 0
    assert "--db" in result.output


def test_bench_deep_json_on_a_labeled_folder(tmp_path: Path) -> None:
    assert (
        runner.invoke(
            app, ["simulate", "series", "--out", str(tmp_path), "--seed", "5", "--count", "3"]
        ).exit_code
        == 0
    )
    result = runner.invoke(app, ["bench", "deep", "--dataset", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["result"]["detector"] == "deep"
    assert report["result"]["calibration_steps"] > 0
    assert "vigil train deep" in report["weights"]

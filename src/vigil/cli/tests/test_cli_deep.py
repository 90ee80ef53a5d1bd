"""``vigil train deep`` and ``vigil bench deep`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def test_fine_tune_closes_the_store_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    from vigil.store import SqlStore

    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    SqlStore(url).close()
    opened: list[SqlStore] = []
    closed: list[SqlStore] = []
    init, close = SqlStore.__init__, SqlStore.close

    def tracking_init(self: SqlStore, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        opened.append(self)

    def tracking_close(self: SqlStore) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(SqlStore, "__init__", tracking_init)
    monkeypatch.setattr(SqlStore, "close", tracking_close)
    out = tmp_path / "w.npz"
    result = runner.invoke(
        app, ["train", "deep", "--out", str(out), "--from-feedback", "--db", url]
    )
    assert result.exit_code != 0 and "no feedback" in result.output
    assert len(opened) == 1 and closed == opened


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


def test_fine_tune_from_feedback_in_a_sqlite_store(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from datetime import UTC, datetime

    import numpy as np

    from vigil.core import SeriesKey
    from vigil.detect import make_detector
    from vigil.incidents import Feedback, Incident, IncidentState, Verdict
    from vigil.stats import Series
    from vigil.store import SqlStore

    n = 24 * 21
    values = 50 * (1 + 0.1 * np.sin(2 * np.pi * np.arange(n) / 24))
    values += np.random.default_rng(0).normal(0, 0.5, n)
    values[[24 * 15, 24 * 17 + 3, 24 * 19 + 7]] *= 3.0
    series = Series(
        key=SeriesKey(model="m", version="1", family="f", column="c", statistic="mean"),
        timestamps=np.datetime64("2024-03-04T00:00:00") + np.arange(n) * np.timedelta64(3600, "s"),
        values=values,
    )
    anomalies = tuple(make_detector("deep").predict([series])[0].anomalies("deep"))[:3]
    assert anomalies, "the shipped model should alert on a 3x spike"
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    store = SqlStore(url)
    store.series.put([series])
    at = anomalies[0].timestamp
    incident = Incident(
        id="inc-1",
        model=series.key.model,
        version=series.key.version,
        state=IncidentState.OPEN,
        opened_at=at,
        updated_at=at,
        last_anomaly_at=at,
        severity=1.0,
        summary="test",
        anomalies=anomalies,
    )
    store.incidents.put([incident])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    store.feedback.put(Feedback(incident_id="inc-1", verdict=Verdict.FALSE_ALARM, at=now))
    out = tmp_path / "tuned.npz"
    result = runner.invoke(
        app, ["train", "deep", "--out", str(out), "--from-feedback", "--db", url]
    )
    assert result.exit_code == 0, result.output
    assert f"fine-tuned stage 2 on {len(anomalies)} feedback labels" in result.output
    assert "feedback" in load_model(out).provenance


def simulated_folder(path: Path, seed: int) -> Path:
    args = ["simulate", "series", "--family", "simulated", "--out", str(path), "--seed", str(seed)]
    assert runner.invoke(app, [*args, "--count", "2"]).exit_code == 0
    return path


TINY = ["--epochs", "1", "--rows", "2000", "--hidden", "8"]


def test_train_deep_on_the_generated_corpus_and_named_sets(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "w.npz"
    folder = simulated_folder(tmp_path / "alpha", 5)
    args = ["train", "deep", "--out", str(out), "--simulated", "0", "--minute", "0"]
    args += ["--generated", "6", "--window", "48", "--support", "--dataset", str(folder)]
    result = runner.invoke(app, [*args, *TINY])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert (model.spec.window, model.spec.support) == (48, True)
    assert (
        "generated broad seed 1 x6" in model.provenance and "alpha (2 series)" in model.provenance
    )
    assert "simulated seed" not in model.provenance


def test_bench_deep_lodo_never_trains_on_the_set_it_scores(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    sets = [simulated_folder(tmp_path / name, seed) for name, seed in (("alpha", 5), ("beta", 6))]
    args = ["bench", "deep-lodo", "--datasets", ",".join(map(str, sets)), "--generated", "6"]
    result = runner.invoke(app, [*args, *TINY, "--window", "32", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["datasets"] == ["alpha", "beta"]
    rows = {(row["corpus"], row["detector"]) for row in report["rows"]}
    corpora = {"shipped weights", "generated only", "generated + the other sets"}
    assert rows == {(c, d) for c in corpora for d in ("deep", "deep-calibrated")}
    for fold in report["trained_without"]:
        other = "beta" if fold["left_out"] == "alpha" else "alpha"
        assert f"{other} (2 series)" in fold["weights"]
        assert f"{fold['left_out']} (" not in fold["weights"]
    for row in report["rows"]:
        assert set(row["f1"]) == {"alpha", "beta"}

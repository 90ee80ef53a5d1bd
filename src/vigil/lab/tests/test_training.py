"""Training (torch) against inference (numpy): parity, a tiny end-to-end run, fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import torch

from vigil.core import ConfigError
from vigil.detect.deep import DeepDetector, build_features, load_model, shipped_weights
from vigil.detect.deep.model import classify, forecast, series_evidence
from vigil.lab import simulate_series
from vigil.lab.labeled import LabeledDataset
from vigil.lab.training import (
    TrainSettings,
    examples_from,
    inject,
    torch_stage1,
    train_deep,
)
from vigil.lab.training.finetune import fine_tune_stage2
from vigil.lab.training.trainer import torch_stage2
from vigil.pipeline import FeedbackSeries


def small_corpus(count: int = 6) -> LabeledDataset:
    return LabeledDataset(
        name="sim", form="simulated", series=tuple(simulate_series(seed=11, count=count))
    )


def test_numpy_inference_matches_torch() -> None:
    model = load_model(shipped_weights())
    series = small_corpus(2).series[0].series
    feats = build_features(series, model.spec)
    stage1 = forecast(model, feats.inputs, feats.irregularity)
    net = torch_stage1(model)
    with torch.no_grad():
        t_out = net(torch.from_numpy(feats.inputs), torch.from_numpy(feats.irregularity))
    mine_all = (stage1.baseline, stage1.lower, stage1.upper, stage1.multiplier)
    for mine, theirs in zip(mine_all, t_out, strict=True):
        assert np.max(np.abs(mine - theirs.numpy())) <= 1e-5
    evidence = series_evidence(model, series, feats)
    with torch.no_grad():
        t_prob = torch.sigmoid(torch_stage2(model)(torch.from_numpy(evidence))[:, 0]).numpy()
    assert np.max(np.abs(classify(model, evidence) - t_prob)) <= 1e-5


def test_injection_labels_the_head_of_each_anomaly() -> None:
    example = examples_from(small_corpus(1), "sim")[0]
    quiet = type(example)(
        name="q",
        series=example.series,
        positive=np.zeros(len(example.series), bool),
        ignore=np.zeros(len(example.series), bool),
        source="sim",
    )
    injected = inject(quiet, np.random.default_rng(0), per_1000=3.0)
    changed = injected.series.values != quiet.series.values
    assert changed.any()
    # Every changed step is a positive or (beyond the head of a long anomaly) ignored.
    assert np.all(injected.positive[changed] | injected.ignore[changed])
    assert not np.any(injected.positive & injected.ignore)


def test_training_smoke_and_determinism(tmp_path) -> None:  # type: ignore[no-untyped-def]
    examples = examples_from(small_corpus(3), "sim")
    settings = TrainSettings(
        stage1_rows=3000, stage1_epochs=1, stage2_rows=3000, stage2_epochs=1, hidden=16
    )
    first = train_deep(examples, settings, log=lambda _: None, provenance="smoke")
    second = train_deep(examples, settings, log=lambda _: None, provenance="smoke")
    np.testing.assert_array_equal(first.stage1[0][0], second.stage1[0][0])
    assert first.decision == second.decision
    scores = DeepDetector(first).score([examples[0].series])[0]
    assert np.isfinite(scores.expected[200:]).all()
    with pytest.raises(ConfigError, match="validation"):
        TrainSettings(validation=1.0)


def test_fine_tuning_moves_stage2_towards_the_feedback() -> None:
    model = load_model(shipped_weights())
    series = small_corpus(1).series[0].series
    detector = DeepDetector(model)
    before = detector.explain(series).probability
    steps = np.flatnonzero(np.isfinite(before))[100:110]
    rejected = np.zeros(len(series), bool)
    rejected[steps] = True
    tuned = fine_tune_stage2(
        model,
        [FeedbackSeries(series=series, confirmed=np.zeros(len(series), bool), rejected=rejected)],
        seed=0,
        log=lambda _: None,
        epochs=30,
    )
    after = DeepDetector(tuned).explain(series).probability
    assert np.mean(after[steps]) < np.mean(before[steps])
    np.testing.assert_array_equal(tuned.stage1[0][0], model.stage1[0][0])
    assert "feedback" in tuned.provenance

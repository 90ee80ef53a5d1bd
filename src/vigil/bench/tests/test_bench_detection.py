"""The detection bench: calibration never sees labels or scored steps; results add up."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from vigil.bench.detection import (
    CALIBRATIONS,
    bench_detectors,
    format_kinds_table,
    format_table,
    judge,
    parse_detectors,
    report_json,
)
from vigil.core import ConfigError, SeriesKey
from vigil.detect import Scores, ThresholdDetector
from vigil.lab import BENCH_DETECTORS
from vigil.lab.labeled import LabeledDataset, LabeledSeries
from vigil.lab.scoring import nab_probation
from vigil.lab.simulation.series import simulate_series
from vigil.stats import Series


def small_dataset(seed: int = 21) -> LabeledDataset:
    return LabeledDataset(
        name="small", form="simulated", series=tuple(simulate_series(seed=seed, count=5))
    )


def test_unknown_detector_names_list_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known detectors: .*zscore"):
        parse_detectors("zscore,nope")
    assert parse_detectors(None) == list(BENCH_DETECTORS)
    assert parse_detectors(" mad , seasonal ") == ["mad", "seasonal"]


def test_threshold_depends_only_on_the_unlabeled_prefixes() -> None:
    dataset = small_dataset()
    (base,) = bench_detectors(dataset, ["zscore"], fpr=0.02, workers=1)
    flipped = []
    for one in dataset.series:
        cut = nab_probation(len(one.series))
        values = one.series.values.copy()
        values[cut:] = values[cut:] * 3 + 100  # the scored part changes entirely
        series = replace(one.series, values=values)
        flipped.append(replace(one, series=series, labels=~one.labels, windows=(), window_kinds=()))
    changed = LabeledDataset(name="x", form="simulated", series=tuple(flipped))
    (other,) = bench_detectors(changed, ["zscore"], fpr=0.02, workers=1)
    assert other.threshold == base.threshold


def _one_series_with_a_prefix_anomaly(n: int = 1000) -> tuple[LabeledDataset, np.ndarray]:
    """A series whose prefix (150 steps) holds a labeled window (40..49) that scores 100,
    ordinary steps scoring 0..1, and a labeled window after the prefix (600..609) scoring 50."""
    stamps = np.datetime64("2026-01-01T00:00:00") + np.arange(n) * np.timedelta64(3600, "s")
    key = SeriesKey(model="m", version="", family="f", column="s", statistic="value")
    series = Series(key=key, timestamps=stamps, values=np.zeros(n))
    windows = ((40, 49), (600, 609))
    labels = np.zeros(n, dtype=bool)
    for start, end in windows:
        labels[start : end + 1] = True
    score = np.random.default_rng(0).uniform(0.0, 1.0, n)
    score[40:50] = 100.0
    score[600:610] = 50.0
    one = LabeledSeries(name="s", family="f", series=series, labels=labels, windows=windows)
    return LabeledDataset(name="d", form="csv", series=(one,)), score


def test_normal_prefix_calibration_leaves_out_only_the_prefix_labels() -> None:
    dataset, score = _one_series_with_a_prefix_anomaly()
    assert nab_probation(1000) == 150
    kept = judge("x", dataset, [score], fpr=0.05, tolerance=3, seconds=0.0)
    # 5% of 150 steps is 7 allowed above the threshold; the 10 anomalous prefix steps set it.
    assert kept.threshold == 100.0 and kept.calibration_steps == 150
    assert kept.tally.detected == 0
    normal = judge(
        "x", dataset, [score], fpr=0.05, tolerance=3, seconds=0.0, calibration="normal-prefix"
    )
    # Steps 40..52 (the window and its 3-step tolerance) leave the pool: 137 ordinary steps.
    assert normal.calibration_steps == 137 and normal.threshold < 1.0
    assert normal.tally.detected == 1 and normal.tally.events == 1
    # Only prefix labels matter: moving the scored window changes nothing in the threshold.
    moved = replace(
        dataset.series[0],
        windows=((40, 49), (700, 709)),
        labels=np.isin(np.arange(1000), [*range(40, 50), *range(700, 710)]),
    )
    other = judge(
        "x",
        replace(dataset, series=(moved,)),
        [score],
        fpr=0.05,
        tolerance=3,
        seconds=0.0,
        calibration="normal-prefix",
    )
    assert other.threshold == normal.threshold


def test_an_unknown_calibration_is_refused() -> None:
    dataset, score = _one_series_with_a_prefix_anomaly()
    with pytest.raises(ConfigError, match="normal-prefix"):
        judge("x", dataset, [score], fpr=0.05, tolerance=3, seconds=0.0, calibration="all")
    with pytest.raises(ConfigError, match="calibration"):
        bench_detectors(small_dataset(), ["zscore"], workers=1, calibration="labels")
    assert set(CALIBRATIONS) == {"prefix", "normal-prefix"}


def test_results_are_consistent_counts() -> None:
    dataset = small_dataset()
    results = bench_detectors(dataset, ["zscore", "mad"], fpr=0.01, workers=1)
    scored_events = sum(
        1 for s in dataset.series for _, end in s.windows if end >= nab_probation(len(s.series))
    )
    for result in results:
        t = result.tally
        assert t.events == scored_events
        assert 0 <= t.detected <= t.events
        assert len(t.delay_steps) == t.detected
        assert 0.0 <= t.precision <= 1.0 and 0.0 <= t.recall <= 1.0
        assert t.nab("standard") <= 100.0
        assert result.seconds > 0
    payload = report_json(dataset, results, 0.01)
    assert [r["detector"] for r in payload["results"]] == ["zscore", "mad"]
    assert set(payload["results"][0]) >= {"precision", "recall", "f1", "nab_standard", "seconds"}
    table = format_table(results).splitlines()
    assert table[0] == "| Algorithm | Precision | Recall | F1 | NAB | Time |"
    assert len(table) == 2 + len(results)


def test_two_workers_give_the_same_scores_as_one() -> None:
    dataset = small_dataset(seed=22)
    (serial,) = bench_detectors(dataset, ["seasonal"], workers=1)
    (parallel,) = bench_detectors(dataset, ["seasonal"], workers=2)
    assert serial.threshold == parallel.threshold or (
        math.isinf(serial.threshold) and math.isinf(parallel.threshold)
    )
    assert serial.tally == parallel.tally


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="fpr"):
        bench_detectors(small_dataset(), ["zscore"], fpr=0.0, workers=1)
    with pytest.raises(ConfigError, match="workers"):
        bench_detectors(small_dataset(), ["zscore"], workers=0)
    empty = LabeledDataset(name="e", form="csv", series=())
    with pytest.raises(ConfigError, match="no series"):
        bench_detectors(empty, ["zscore"], workers=1)
    assert np.isfinite(bench_detectors(small_dataset(), ["zscore"], workers=1)[0].threshold)


def test_incident_kinds_are_counted_per_detected_window() -> None:
    dataset = small_dataset(seed=23)
    (result,) = bench_detectors(dataset, ["seasonal"], workers=1)
    kinds = {kind for s in dataset.series for kind in s.window_kinds}
    assert {kind for kind, _, _ in result.by_kind} <= kinds
    assert sum(events for _, events, _ in result.by_kind) == result.tally.events
    assert sum(hits for _, _, hits in result.by_kind) == result.tally.detected
    assert "Incident kind" in format_kinds_table([result])


class RefusesDaily(ThresholdDetector):
    """Refuses daily series the way a forecaster refuses a series too short to fit."""

    name = "refuses-daily"

    def score(self, series: Sequence[Series]) -> list[Scores]:
        for one in series:
            if "daily" in one.key.column:
                raise ConfigError(f"{one.key.column} is too short")
        return super().score(series)


def test_a_refused_series_is_counted_and_flags_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BENCH_DETECTORS, "refuses-daily", RefusesDaily)
    dataset = LabeledDataset(
        name="mixed", form="simulated", series=tuple(simulate_series(seed=9, count=10))
    )
    daily = [s.name for s in dataset.series if "daily" in s.name]
    assert daily, "seed 9 should include daily series"
    (result,) = bench_detectors(dataset, ["refuses-daily"], workers=1)
    assert sorted(reason.split(":")[0] for reason in result.refused) == sorted(daily)
    assert report_json(dataset, [result], 0.01)["results"][0]["refused_series"] == list(
        result.refused
    )


def test_a_row_family_without_standard_errors_keeps_its_sample_sizes() -> None:
    """``business:1:no-se`` is ``business:1`` as the labeled CSV without its optional ``se``
    column gives it: same values, labels and ``n``, no ``stderr``; other suffixes are paths."""
    from pathlib import Path

    from vigil.bench.detection import resolve_dataset

    whole = resolve_dataset("service:1", Path("."))
    bare = resolve_dataset("service:1:no-se", Path("."))
    assert bare.name == f"{whole.name}:no-se" and len(bare.series) == len(whole.series)
    assert any(one.series.stderr is not None for one in whole.series)
    for left, right in zip(whole.series, bare.series, strict=True):
        assert right.series.stderr is None and left.name == right.name
        np.testing.assert_array_equal(left.series.values, right.series.values)
        np.testing.assert_array_equal(left.labels, right.labels)
        if left.series.support is not None:
            assert right.series.support is not None
            np.testing.assert_array_equal(left.series.support, right.series.support)
    with pytest.raises(ConfigError, match="service:1:se"):
        resolve_dataset("service:1:se", Path("."))

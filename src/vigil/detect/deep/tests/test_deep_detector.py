"""The deep detector's numpy inference on the shipped weights: causality, evidence, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vigil.core import ConfigError, SerializationError, SeriesKey
from vigil.detect import DETECTORS
from vigil.detect.deep import (
    DecisionDefaults,
    DeepDetector,
    DeepModel,
    FeatureSpec,
    build_features,
    load_model,
    save_model,
    shipped_weights,
)
from vigil.detect.deep.features import TimeGrid, lag_index
from vigil.stats.series import Series


def hourly(values: np.ndarray, name: str = "s", step_s: int = 3600) -> Series:
    stamps = np.datetime64("2024-03-04T00:00:00") + np.arange(len(values)) * np.timedelta64(
        step_s, "s"
    )
    key = SeriesKey(model="m", version="1", family="f", column=name, statistic="mean")
    return Series(key=key, timestamps=stamps, values=values.astype(np.float64))


def daily_cycle(n: int, seed: int, level: float = 50.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hours = np.arange(n)
    return level * (1 + 0.1 * np.sin(2 * np.pi * hours / 24) + 0.01 * rng.normal(size=n))


def test_registered_and_loads_shipped_weights() -> None:
    detector = DETECTORS["deep"]()
    assert isinstance(detector, DeepDetector)
    assert shipped_weights().stat().st_size < 5 * 1024 * 1024
    assert "vigil train deep" in detector.model.provenance


def test_scores_are_causal() -> None:
    values = daily_cycle(24 * 20, 1)
    cut = 24 * 15
    changed = values.copy()
    changed[cut + 1 :] *= np.random.default_rng(2).uniform(0.2, 5.0, len(values) - cut - 1)
    first = DeepDetector().score([hourly(values)])[0]
    second = DeepDetector().score([hourly(changed)])[0]
    for field in ("score", "expected", "lower", "upper"):
        np.testing.assert_array_equal(
            getattr(first, field)[: cut + 1], getattr(second, field)[: cut + 1], err_msg=field
        )


def test_recent_omit_keeps_the_last_steps_out_of_the_baseline() -> None:
    values = daily_cycle(24 * 10, 3)
    target = 24 * 8
    model = load_model(shipped_weights())
    omit = model.spec.omit
    changed = values.copy()
    changed[target - omit : target] += 1000.0  # only the omitted steps change
    a = DeepDetector(model).explain(hourly(values))
    b = DeepDetector(model).explain(hourly(changed))
    assert a.expected[target] == b.expected[target]
    assert a.lower[target] == b.lower[target]


def test_a_large_spike_alerts_with_its_evidence() -> None:
    values = daily_cycle(24 * 21, 4)
    at = 24 * 18 + 5
    values[at] *= 3.0
    detector = DeepDetector()
    detection = detector.predict([hourly(values)])[0]
    anomalies = detection.anomalies("deep")
    assert at in np.flatnonzero(detection.flags)
    spike = next(a for a in anomalies if a.value == values[at])
    assert spike.value > spike.upper > spike.expected > spike.lower
    assert spike.direction == "up"
    assert spike.severity >= detector.decision.severity
    quiet = np.flatnonzero(detection.flags[24 * 8 : at]).size
    assert quiet <= 2, f"{quiet} alerts on a clean daily cycle before the spike"


def test_scale_invariance_from_window_normalisation() -> None:
    # Per-window normalisation: multiplying a series by 1000 scales the band and keeps scores.
    values = daily_cycle(24 * 14, 5)
    values[24 * 12] *= 2.0
    small = DeepDetector().score([hourly(values)])[0]
    large = DeepDetector().score([hourly(values * 1000.0)])[0]
    np.testing.assert_allclose(large.expected, small.expected * 1000.0, rtol=1e-4)
    np.testing.assert_allclose(large.score, small.score, atol=1e-4)


def test_warm_up_and_missing_values_score_nan() -> None:
    values = daily_cycle(24 * 5, 6)
    values[100] = np.nan
    scores = DeepDetector().score([hourly(values)])[0]
    spec = DeepDetector().model.spec
    assert np.all(np.isnan(scores.score[: spec.omit + spec.window // 2 - 1]))
    assert np.isnan(scores.score[100])
    assert not np.isnan(scores.score[99])


def test_lags_are_found_by_time_in_gappy_series() -> None:
    seconds = np.array([0, 3600, 7200, 86400 + 3600, 86400 + 10800], dtype=np.int64)
    index = lag_index(seconds, 86400)
    np.testing.assert_array_equal(index, [-1, -1, -1, 1, -1])


def test_duration_filter_needs_k_of_n() -> None:
    detector = DeepDetector(
        decision=DecisionDefaults(threshold=0.0, severity=0.0, duration_k=2, duration_n=3)
    )
    outside = np.array([True, False, True, True, False, True])
    hits = detector.decide(np.ones(6), np.ones(6), outside, np.ones(6))
    np.testing.assert_array_equal(hits, [False, False, True, True, False, True])


def test_routine_test_drops_excursions_the_series_makes_every_day() -> None:
    detector = DeepDetector(decision=DecisionDefaults(threshold=0.0, severity=0.0))
    outside = np.ones(4, dtype=bool)
    excess = np.array([0.5, 0.0, -1.0, np.nan])  # log ratio to the series' 99th percentile
    hits = detector.decide(np.ones(4), np.ones(4), outside, excess)
    np.testing.assert_array_equal(hits, [True, False, False, False])
    routine_off = DeepDetector(
        decision=DecisionDefaults(threshold=0.0, severity=0.0, beyond_routine=False)
    )
    assert routine_off.decide(np.ones(4), np.ones(4), outside, excess).all()


def test_a_spike_the_series_repeats_every_day_stops_alerting() -> None:
    values = daily_cycle(24 * 28, 3)
    for day in range(8, 28):
        values[24 * day + 13] *= 1.6  # the same lunchtime burst, every day
    explained = DeepDetector().explain(hourly(values))
    first, last = 24 * 8 + 13, 24 * 27 + 13
    assert explained.excess[first] > 0  # new on its first day
    assert explained.excess[last] <= 0  # routine three weeks later
    assert not explained.passed[last]


def test_weights_round_trip(tmp_path: Path) -> None:
    model = load_model(shipped_weights())
    save_model(model, tmp_path / "copy.npz")
    again = load_model(tmp_path / "copy.npz")
    assert again.spec == model.spec and again.decision == model.decision
    for (w1, b1), (w2, b2) in zip(
        model.stage1 + model.stage2, again.stage1 + again.stage2, strict=True
    ):
        np.testing.assert_array_equal(w1, w2)
        np.testing.assert_array_equal(b1, b2)


def test_weights_from_before_the_routine_test_load_without_it(tmp_path: Path) -> None:
    model = load_model(shipped_weights())
    assert model.decision.beyond_routine  # the shipped files decide with it
    save_model(model, tmp_path / "copy.npz")
    with np.load(tmp_path / "copy.npz") as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(bytes(arrays["header"]).decode())
    del header["decision"]["beyond_routine"]  # as written by the previous release
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(tmp_path / "old.npz", **arrays)
    old = load_model(tmp_path / "old.npz")
    assert not old.decision.beyond_routine
    assert old.decision.threshold == model.decision.threshold


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(SerializationError, match=r"bad\.npz"):
        load_model(tmp_path / "bad.npz")
    with pytest.raises(ConfigError, match="normalize"):
        FeatureSpec(normalize="global")
    with pytest.raises(ConfigError, match="duration_k"):
        DecisionDefaults(duration_k=3, duration_n=2)


def test_features_use_only_steps_before_the_omitted_ones() -> None:
    spec = FeatureSpec(window=8, omit=2, lags=1)
    values = np.arange(40, dtype=np.float64)
    feats = build_features(hourly(values), spec)
    t = 20  # window = steps 10..17, mean 13.5
    assert feats.mean[t] == pytest.approx(13.5)


def test_scores_without_torch() -> None:
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "from vigil.detect import make_detector\n"
        "from vigil.core import SeriesKey\n"
        "from vigil.stats.series import Series\n"
        "n = 24 * 10\n"
        "v = 10 + np.sin(np.arange(n) * 2 * np.pi / 24); v[200] = 40\n"
        "t = np.datetime64('2024-01-01T00:00:00') + np.arange(n) * np.timedelta64(3600, 's')\n"
        "k = SeriesKey(model='m', version='', family='f', column='c', statistic='mean')\n"
        "d = make_detector('deep').predict([Series(key=k, timestamps=t, values=v)])[0]\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'torch']\n"
        "print(int(d.flags[200]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_construction_reads_no_weights_until_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from vigil.detect.deep import detector as module

    loads: list[Path] = []

    def counting(path: Path) -> DeepModel:
        loads.append(path)
        return load_model(path)

    monkeypatch.setattr("vigil.detect.deep.detector.load_model", counting)
    module.shipped_model.cache_clear()
    try:
        detector = DeepDetector()
        assert loads == []
        detector.score([hourly(daily_cycle(24 * 10, 1))])
        DeepDetector().score([hourly(daily_cycle(24 * 10, 2))])
        assert loads == [shipped_weights()]  # once per process, not once per detector
    finally:
        module.shipped_model.cache_clear()


def test_from_file_scores_like_the_shipped_default() -> None:
    series = hourly(daily_cycle(24 * 14, 4))
    shipped = DeepDetector().score([series])[0].score
    from_file = DeepDetector.from_file(shipped_weights()).score([series])[0].score
    np.testing.assert_array_equal(shipped, from_file)


def test_warm_up_steps_stay_out_of_the_routine_memory() -> None:
    # A warm-up window of a few steps has a near-zero spread, so its severity can reach 1e7;
    # in the memory, that made every excursion of the following week look routine.
    values = daily_cycle(24 * 21, 11)
    explained = DeepDetector().explain(hourly(values))
    scored = explained.excess[~np.isnan(explained.excess)]
    assert scored.size > 24 * 14
    assert np.mean(scored <= -7.9) < 0.01  # -8 is the floor of the log ratio


def test_a_shared_time_grid_gives_the_features_and_scores_of_each_series_alone() -> None:
    # Series of one model share their timestamps; the batch reads the grid once for them.
    # A gappy series has a grid of its own. Nothing may change for either.
    gappy = hourly(daily_cycle(400, 9))
    keep = np.ones(400, dtype=bool)
    keep[100:130] = False
    gappy = Series(key=gappy.key, timestamps=gappy.timestamps[keep], values=gappy.values[keep])
    batch = [hourly(daily_cycle(400, seed), name=f"s{seed}") for seed in range(3)] + [gappy]
    spec = DeepDetector().model.spec
    grid = TimeGrid.of(batch[0].timestamps, spec.lags)
    for one in batch[:3]:
        shared, alone = build_features(one, spec, grid), build_features(one, spec)
        for name in ("inputs", "irregularity", "calendar", "mean", "scale", "valid"):
            np.testing.assert_array_equal(getattr(shared, name), getattr(alone, name))
    together = DeepDetector().score(batch)
    for one, scores in zip(batch, together, strict=True):
        (single,) = DeepDetector().score([one])
        np.testing.assert_array_equal(scores.score, single.score)
        np.testing.assert_array_equal(scores.lower, single.lower)

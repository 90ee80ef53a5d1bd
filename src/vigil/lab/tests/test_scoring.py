"""Event-wise, point-wise and NAB scoring, checked against their written rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core import ConfigError
from vigil.lab.labeled import runs
from vigil.lab.scoring import (
    MISSED,
    NAB_PROFILES,
    PROBATION,
    NabProfile,
    Tally,
    nab_probation,
    nab_raw_score,
    tally,
    window_delays,
)


def flags_at(n: int, *indices: int) -> np.ndarray:
    flags = np.zeros(n, dtype=bool)
    flags[list(indices)] = True
    return flags


def labels_for(n: int, windows: list[tuple[int, int]]) -> np.ndarray:
    labels = np.zeros(n, dtype=bool)
    for start, end in windows:
        labels[start : end + 1] = True
    return labels


def test_runs_are_inclusive_index_pairs() -> None:
    labels = np.array([0, 1, 1, 0, 0, 1, 0, 1], dtype=bool)
    assert runs(labels) == ((1, 2), (5, 5), (7, 7))
    assert runs(np.zeros(3, dtype=bool)) == ()


def test_event_counts_tolerance_and_false_events() -> None:
    windows = [(10, 14), (30, 31), (50, 52)]
    # 12 hits event 1 (delay 2); 33 is within tolerance 3 after event 2 (delay 3); event 3 missed;
    # 20-21 are one false event, 40 another.
    flags = flags_at(60, 12, 13, 20, 21, 33, 40)
    result = tally(labels_for(60, windows), windows, flags, probation=0, tolerance=3)
    assert (result.events, result.detected, result.false_events) == (3, 2, 2)
    assert result.delay_steps == (2, 3)
    assert result.precision == pytest.approx(2 / 4)
    assert result.recall == pytest.approx(2 / 3)
    assert result.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    # Point-wise: only 12 and 13 are labeled and flagged; 33 is outside the label.
    assert (result.true_points, result.flagged_points, result.labeled_points) == (2, 6, 10)


def test_probation_hides_early_events_and_flags() -> None:
    windows = [(2, 4), (20, 25)]
    flags = flags_at(40, 3, 8, 22)
    result = tally(labels_for(40, windows), windows, flags, probation=10)
    assert (result.events, result.detected, result.false_events) == (1, 1, 0)
    assert result.flagged_points == 1


def test_tally_adds_counts_and_rejects_bad_shapes() -> None:
    windows = [(5, 6)]
    one = tally(labels_for(10, windows), windows, flags_at(10, 5), probation=0)
    both = one + one
    assert (both.events, both.detected, both.delay_steps) == (2, 2, (0, 0))
    assert dict(both.nab_raw)["standard"] == pytest.approx(2 * dict(one.nab_raw)["standard"])
    with pytest.raises(ConfigError):
        tally(labels_for(10, windows), windows, np.zeros(9, dtype=bool), probation=0)


def test_nab_probation_is_fifteen_percent_capped_at_750() -> None:
    assert nab_probation(1000) == 150
    assert nab_probation(10_000) == 750


@pytest.mark.parametrize("profile", sorted(NAB_PROFILES))
def test_nab_null_scores_zero_and_perfect_scores_hundred(profile: str) -> None:
    n, windows = 400, [(100, 139), (250, 289)]
    labels = labels_for(n, windows)
    null = tally(labels, windows, np.zeros(n, dtype=bool), probation=60)
    perfect = tally(labels, windows, flags_at(n, 100, 250), probation=60)
    assert null.nab(profile) == pytest.approx(0.0)
    assert perfect.nab(profile) == pytest.approx(100.0)


def test_nab_false_positive_before_any_window_costs_the_full_fp_weight() -> None:
    n, windows = 400, [(100, 139)]
    weights = NAB_PROFILES["standard"]
    raw = nab_raw_score(windows, flags_at(n, 70, 100), probation=60, profile=weights)
    assert raw == pytest.approx(weights.tp - weights.fp)
    # Normalised: (raw - null) / (perfect - null) with null = -fn, perfect = tp.
    result = tally(labels_for(n, windows), windows, flags_at(n, 70, 100), probation=60)
    assert result.nab("standard") == pytest.approx(100 * (1 - 0.11 + 1) / 2)


def reference_sweeper(
    n: int, windows: list[tuple[int, int]], flags: np.ndarray, probation: int, w: NabProfile
) -> float:
    """A line-by-line port of NAB v1.1's ``calcSweepScore`` + ``calcScoreByThreshold`` at one
    threshold, on row indices instead of timestamps."""

    def scaled_sigmoid(p: float) -> float:
        return -1.0 if p >= 3.0 else 2 * (1 / (1 + math.exp(5 * p))) - 1.0

    pending = sorted(windows)
    max_tp = scaled_sigmoid(-1.0)
    current = None
    prev_right = prev_width = None
    points = []
    for i in range(n):
        if pending and i == pending[0][0]:
            current = pending.pop(0)
            width = float(current[1] - current[0] + 1)
        if current is not None:
            weighted = scaled_sigmoid(-(current[1] - i + 1) / width) * w.tp / max_tp
        else:
            if prev_right is None or prev_width is None or prev_width == 1:
                position = 3.0
            else:
                position = abs(prev_right - i) / float(prev_width - 1)
            weighted = scaled_sigmoid(position) * w.fp
        name = current if i >= probation else "probationary"
        points.append((bool(flags[i]), weighted, name))
        if current is not None and i == current[1]:
            prev_right, prev_width, current = i, width, None
    parts: dict[object, float] = {"fp": 0.0}
    for _, _, name in points:
        if name not in ("probationary", None):
            parts[name] = -w.fn
    for flagged, weighted, name in points:
        if not flagged or name == "probationary":
            continue
        if name is None:
            parts["fp"] += weighted
        else:
            parts[name] = max(parts[name], weighted)
    return sum(parts.values())


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_nab_raw_score_matches_a_port_of_nab_sweeper(data: st.DataObject) -> None:
    n = data.draw(st.integers(20, 120))
    cuts = sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=6)))
    windows = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    windows = [(s, e) for s, e in windows if e > s]
    flags = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    probation = data.draw(st.integers(0, n // 3))
    for profile in NAB_PROFILES.values():
        ours = nab_raw_score(windows, flags, probation=probation, profile=profile)
        assert ours == pytest.approx(reference_sweeper(n, windows, flags, probation, profile))


def test_empty_tally_has_no_ratios() -> None:
    empty = Tally()
    assert math.isnan(empty.precision) and math.isnan(empty.recall)
    assert math.isnan(empty.nab("standard"))


def test_window_delays_mark_probation_missed_and_found() -> None:
    windows = [(2, 4), (20, 25), (30, 32)]
    flags = flags_at(40, 3, 23, 35)
    delays = window_delays(windows, flags, probation=10, tolerance=3)
    assert delays == [PROBATION, 3, 5]
    assert window_delays(windows, flags, probation=10, tolerance=2) == [PROBATION, 3, MISSED]

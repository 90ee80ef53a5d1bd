"""NAB's threshold optimiser over a corpus, checked against the fixed-threshold scorer (itself
checked against a line-by-line port of NAB's sweeper) and against a number NAB published."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core import ConfigError
from vigil.lab.labeled import load_nab
from vigil.lab.nab import (
    NabFile,
    nab_curve,
    nab_rows,
    optimise,
    probation_rows,
    profile_weights,
    score_at,
    sweep_weights,
)
from vigil.lab.scoring import NAB_PROFILES, nab_raw_score

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[NabFile], list[np.ndarray]]:
    files, scores = [], []
    for index in range(draw(st.integers(1, 4))):
        rows = draw(st.integers(20, 150))
        cuts = sorted(draw(st.sets(st.integers(0, rows - 1), max_size=6)))
        windows = tuple(
            (cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2) if cuts[i + 1] > cuts[i]
        )
        files.append(
            NabFile(name=f"f{index}", family=f"fam{index % 2}", rows=rows, windows=windows)
        )
        # Few distinct values, so ties inside and across files are common.
        scores.append(
            np.array(
                draw(
                    st.lists(
                        st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0]), min_size=rows, max_size=rows
                    )
                )
            )
        )
    return files, scores


@settings(max_examples=30, deadline=None)
@given(corpora(), st.sampled_from(PROFILES))
def test_every_point_of_the_curve_is_the_fixed_threshold_score(
    corpus: tuple[list[NabFile], list[np.ndarray]], profile: str
) -> None:
    files, scores = corpus
    weights = profile_weights(profile)
    curve = nab_curve(files, scores, weights)
    for threshold, total in zip(curve.thresholds, curve.totals, strict=True):
        expected = sum(
            nab_raw_score(
                list(file.windows),
                score >= threshold,
                probation=probation_rows(file.rows),
                profile=weights,
            )
            for file, score in zip(files, scores, strict=True)
        )
        assert total == pytest.approx(expected, abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(corpora(), st.sampled_from(PROFILES))
def test_the_optimiser_keeps_the_best_threshold_and_the_highest_of_ties(
    corpus: tuple[list[NabFile], list[np.ndarray]], profile: str
) -> None:
    files, scores = corpus
    weights = profile_weights(profile)
    curve = nab_curve(files, scores, weights)
    best = optimise(files, scores, weights)
    assert best.raw == pytest.approx(float(np.max(curve.totals)))
    tied = curve.thresholds[np.isclose(curve.totals, np.max(curve.totals), atol=0, rtol=0)]
    assert best.threshold == float(np.max(tied))


def test_a_weight_nab_published() -> None:
    """``results/numenta/realAdExchange/numenta_exchange-2_cpc_results.csv`` (numenta/NAB at
    4b89bafe): 1,624 hourly rows, one window from row 244 to 406; HTM's first score above its
    standard threshold 0.5421876907348634 in the window is row 325, and NAB writes
    ``S(t)_standard = 0.86195803375`` (and the same for low FN) at the window's start."""
    file = NabFile(name="exchange-2_cpc", family="realAdExchange", rows=1624, windows=((244, 406),))
    scores = np.zeros(1624)
    scores[325] = 0.544449877418
    for profile in ("standard", "reward_low_FN_rate"):
        weights, _ = sweep_weights(file, profile_weights(profile))
        assert weights[325] == pytest.approx(0.86195803375, abs=1e-11)
        total = score_at([file], [scores], profile_weights(profile), 0.5421876907348634)
        assert total.raw == pytest.approx(0.86195803375, abs=1e-11)
    # NAB's low-FP threshold (0.5751955032348636) is above HTM's score there: a miss, -1.
    low_fp = score_at([file], [scores], profile_weights("reward_low_FP_rate"), 0.5751955032348636)
    assert low_fp.raw == -1.0


def test_probation_is_nab_s() -> None:
    assert probation_rows(1624) == 243
    assert probation_rows(4032) == 604
    assert probation_rows(22_000) == 750


def test_null_scores_zero_and_a_perfect_detector_a_hundred() -> None:
    files = [
        NabFile(name="a", family="x", rows=400, windows=((100, 139), (250, 289))),
        NabFile(name="b", family="y", rows=300, windows=((200, 219),)),
    ]
    perfect = [np.zeros(f.rows) for f in files]
    for file, score in zip(files, perfect, strict=True):
        score[[start for start, _ in file.windows]] = 1.0
    for profile in PROFILES:
        weights = profile_weights(profile)
        assert optimise(files, [np.full(f.rows, 0.5) for f in files], weights).normalised == 0.0
        assert optimise(files, perfect, weights).normalised == pytest.approx(100.0)


def test_a_false_alarm_costs_more_in_the_low_fp_profile() -> None:
    file = NabFile(name="a", family="x", rows=400, windows=((200, 239),))
    score = np.zeros(400)
    score[[210, 399]] = 1.0  # 160 rows after a 40-row window: far after, the full weight
    standard = score_at([file], [score], NAB_PROFILES["standard"], 1.0)
    low_fp = score_at([file], [score], NAB_PROFILES["low_fp"], 1.0)
    assert standard.raw - low_fp.raw == pytest.approx(0.11, abs=1e-12)


def test_windows_must_be_ordered_and_inside() -> None:
    with pytest.raises(ConfigError, match="windows"):
        NabFile(name="a", family="x", rows=10, windows=((5, 9), (2, 3)))
    with pytest.raises(ConfigError, match="windows"):
        NabFile(name="a", family="x", rows=10, windows=((5, 10),))


def test_nab_rows_keeps_repeated_timestamps_and_finds_windows_by_first_row(tmp_path: Path) -> None:
    (tmp_path / "data" / "fam").mkdir(parents=True)
    (tmp_path / "labels").mkdir()
    stamps = [f"2024-01-01 00:{m:02d}:00" for m in range(10)]
    rows = [*stamps[:4], stamps[3], *stamps[4:]]  # minute 3 twice
    (tmp_path / "data" / "fam" / "s.csv").write_text(
        "timestamp,value\n" + "".join(f"{s},{i}\n" for i, s in enumerate(rows))
    )
    (tmp_path / "labels" / "combined_windows.json").write_text(
        json.dumps({"fam/s.csv": [["2024-01-01 00:03:00.000000", "2024-01-01 00:05:00.000000"]]})
    )
    series = load_nab(tmp_path).series[0]
    file, step_of_row = nab_rows(tmp_path, series)
    assert len(series.series) == 10 and file.rows == 11
    assert file.windows == ((3, 6),)  # the first row at minute 3 to the row at minute 5
    assert step_of_row.tolist() == [0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]
    assert not math.isnan(optimise([file], [np.zeros(11)], NAB_PROFILES["standard"]).normalised)

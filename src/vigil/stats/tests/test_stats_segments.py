"""Segment series: a shift confined to one segment is flagged in that segment and not in the
others, nothing is flagged without it, and segments are tested at alpha / their number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from vigil.core import Family, Window
from vigil.ingest import Column, RecordBatch
from vigil.profile import Profile, ProfileSpec, profile_batch
from vigil.profile.labels import Tally, TallyKey
from vigil.profile.performance import ClassifierTally
from vigil.profile.synthetic import prediction_meta
from vigil.stats import Series, StatsSpec, drift_series, segment_series
from vigil.stats.performance_series import performance_series
from vigil.stats.segments import performance_by_segment, segment_spec, segments_to_test

START = datetime(2026, 1, 5, tzinfo=UTC)
DAYS = 8
ROWS = 400
SHIFT_FROM = START + timedelta(days=7, hours=6)
SPEC = StatsSpec()


def _hour(at: datetime, rng: np.random.Generator, shift_sd: float) -> RecordBatch:
    regions = rng.choice(["eu", "us"], size=ROWS, p=[0.2, 0.8])
    x = rng.normal(50.0, 10.0, ROWS)
    if at >= SHIFT_FROM:
        x = np.where(regions == "eu", x + shift_sd * 10.0, x)
    return RecordBatch(
        meta=prediction_meta(ROWS, start=at, span=timedelta(minutes=59)),
        features={"x": Column.from_numbers(x), "y": Column.from_numbers(rng.normal(0, 1, ROWS))},
        tags={"region": pa.array(regions.tolist(), pa.string())},
    )


def _profiles(
    shift_sd: float, *, tags: tuple[str, ...] = ("region",), hours: int = DAYS * 24
) -> list[Profile]:
    rng = np.random.default_rng(3)
    spec = ProfileSpec(segments=tags)
    found: list[Profile] = []
    for hour in range(hours):
        at = START + timedelta(hours=hour)
        found += profile_batch(_hour(at, rng, shift_sd), spec).values()
    return found


def _flagged(series: list[Series], column: str, statistic: str = "mean") -> int:
    """Windows where ``statistic`` of ``column`` lies outside its stored band."""
    by = {(s.key.column, s.key.statistic): s for s in series if s.key.family == Family.DRIFT}
    value = by[(column, statistic)].values
    lower = by[(column, statistic + "_lower")].values
    upper = by[(column, statistic + "_upper")].values
    with np.errstate(invalid="ignore"):
        return int(np.sum((value < lower) | (value > upper)))


@pytest.fixture(scope="module")
def shifted_profiles() -> list[Profile]:
    return _profiles(1.0)


@pytest.fixture(scope="module")
def shifted(shifted_profiles: list[Profile]) -> list[Series]:
    return segment_series(shifted_profiles, SPEC, since=SHIFT_FROM - timedelta(hours=6))


@pytest.fixture(scope="module")
def unchanged() -> list[Series]:
    return segment_series(_profiles(0.0), SPEC, since=SHIFT_FROM - timedelta(hours=6))


def test_a_shift_in_one_segment_is_flagged_there_only(shifted: list[Series]) -> None:
    # +1 sd in region=eu (a fifth of the rows) for 18 hours: every hour of it is flagged.
    assert _flagged(shifted, "x@region=eu") >= 17
    assert _flagged(shifted, "x@region=us") == 0
    assert _flagged(shifted, "y@region=eu") == 0


def test_the_whole_model_alone_dilutes_the_same_shift(shifted_profiles: list[Profile]) -> None:
    # The whole model sees +0.2 sd per hour: inside its hourly band nearly always.
    whole = drift_series(shifted_profiles, None, SPEC, since=SHIFT_FROM - timedelta(hours=6))
    assert _flagged(whole, "x") <= 3


def test_without_a_shift_no_segment_is_flagged(unchanged: list[Series]) -> None:
    for column in ("x@region=eu", "x@region=us", "y@region=eu", "y@region=us"):
        for statistic in ("mean", "std", "p50", "ks"):
            assert _flagged(unchanged, column, statistic) == 0, (column, statistic)


def test_segment_series_are_named_and_carry_quality_events(shifted: list[Series]) -> None:
    columns = {s.key.column for s in shifted}
    assert columns == {"x@region=eu", "x@region=us", "y@region=eu", "y@region=us"}
    statistics = {s.key.statistic for s in shifted if s.key.column == "x@region=eu"}
    assert {"mean", "mean_1d", "missing", "constant"} <= statistics
    assert all(s.key.segment and s.key.base_column in ("x", "y") for s in shifted)


def test_segments_are_tested_at_alpha_over_their_number() -> None:
    assert segment_spec(SPEC, 4).change.alpha == pytest.approx(SPEC.change.alpha / 4)
    assert segment_spec(SPEC, 1) is SPEC


def test_a_tag_with_one_segment_only_is_not_tested() -> None:
    # No row carries "shop": its one segment, shop=(none), is the whole model again.
    profiles = _profiles(0.0, tags=("region", "shop"), hours=3)
    assert segments_to_test(profiles) == ["region=eu", "region=us"]
    assert segments_to_test(_profiles(0.0, tags=("shop",), hours=3)) == []


def test_segment_performance_is_tested_at_alpha_over_the_segments() -> None:
    rng = np.random.default_rng(5)
    tallies: dict[TallyKey, Tally] = {}
    for hour in range(24 * 8):
        at = START + timedelta(hours=hour)
        for segment in ("", "region=eu", "region=us"):
            scores = rng.beta(2.0, 2.0, 200)
            labels = (rng.random(200) < scores).astype(np.float64)
            key = TallyKey(
                model="m", version="v1", window=Window(start=at, end=at + timedelta(hours=1)),
                output="score", segment=segment,
            )  # fmt: skip
            tallies[key] = ClassifierTally.of_predictions(scores).merge(
                ClassifierTally.of_labels(scores, labels)
            )
    since = START + timedelta(days=7)
    found = {
        (s.key.column, s.key.statistic): s
        for s in performance_by_segment(tallies, SPEC, since=since)
    }
    alone = {  # every column at the full alpha
        (s.key.column, s.key.statistic): s for s in performance_series(tallies, SPEC, since=since)
    }

    def width(series: dict[tuple[str, str], Series], column: str) -> float:
        upper, lower = series[(column, "roc_auc_upper")], series[(column, "roc_auc_lower")]
        return float(np.nanmean(upper.values - lower.values))

    assert width(found, "score") == width(alone, "score")  # the whole model: unchanged
    for column in ("score@region=eu", "score@region=us"):  # at alpha / 2: wider
        assert width(found, column) > width(alone, column) * 1.02

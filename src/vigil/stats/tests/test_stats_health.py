"""health_series and the data-quality signals, on profiles of synthetic inference records."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from vigil.core import ProfileKey, SeriesKey, Window
from vigil.ingest import records_to_chunk
from vigil.profile import Profile, ProfileSpec, profile_batch
from vigil.stats.health import IngestTally, health_series, quality_events
from vigil.stats.quality import QualityKind
from vigil.stats.series import Series
from vigil.stats.spec import Reference, StatsSpec
from vigil.stats.timeline import SeriesCollector

START = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
SPEC = StatsSpec(reference=Reference.trailing(timedelta(hours=3)))
Record = dict[str, Any]
Tweak = Callable[[Record, np.random.Generator], None]


def _records(
    hour: int, n: int, seed: int, version: str = "v1", tweak: Tweak | None = None
) -> Iterator[Record]:
    rng = np.random.default_rng(seed)
    for i in range(n):
        record: Record = {
            "model": "ranker",
            "version": version,
            "timestamp": (START + hour * HOUR + timedelta(seconds=3600 * i / n)).isoformat(),
            "event": "prediction",
            "features": {
                "age": float(rng.normal(40, 10)),
                "country": str(rng.choice(["DE", "FR", "US"])),
                "is_new": bool(rng.random() < 0.3),
            },
            "outputs": {"score": float(rng.random())},
            "latency_ms": float(rng.lognormal(2, 0.5)),
        }
        if tweak is not None:
            tweak(record, rng)
        yield record


def _profiles(*parts: Iterator[Record]) -> list[Profile]:
    records = [r for part in parts for r in part]
    chunk = records_to_chunk(records, source="test", now=None)
    assert not chunk.quarantined
    return list(profile_batch(chunk.batch, ProfileSpec()).values())


def _healthy(hours: int = 4, n: int = 400) -> list[Iterator[Record]]:
    return [_records(h, n, seed=h) for h in range(hours)]


def _get(
    series: list[Series], family: str, column: str, statistic: str, version: str = "v1"
) -> Series:
    key = SeriesKey(
        model="ranker", version=version, family=family, column=column, statistic=statistic
    )
    found = [s for s in series if s.key == key]
    assert found, f"no series {key}"
    return found[0]


def test_feature_statistics_match_the_raw_values() -> None:
    records = list(
        _records(
            0,
            500,
            seed=1,
            tweak=lambda r, g: r["features"].update(age=None) if g.random() < 0.1 else None,
        )
    )
    profiles = _profiles(iter(records))
    series = health_series(profiles, SPEC)
    ages = np.array([r["features"]["age"] for r in records if r["features"]["age"] is not None])
    assert _get(series, "feature", "age", "mean").values[0] == pytest.approx(ages.mean())
    assert _get(series, "feature", "age", "std").values[0] == pytest.approx(ages.std())
    assert _get(series, "feature", "age", "max").values[0] == ages.max()
    # A quantile from the sketch is within its stated rank error of the asked level.
    p50 = _get(series, "feature", "age", "p50").values[0]
    rank_error = profiles[0].features["age"].quantiles.normalized_rank_error
    assert abs((ages <= p50).mean() - 0.5) <= rank_error
    nulls = 500 - ages.size
    assert _get(series, "feature", "age", "null_rate").values[0] == pytest.approx(nulls / 500)
    assert _get(series, "feature", "age", "coverage").values[0] == pytest.approx(ages.size / 500)
    assert _get(series, "feature", "country", "distinct").values[0] == pytest.approx(3, abs=0.1)
    scores = np.array([r["outputs"]["score"] for r in records])
    above = _get(series, "output", "score", "share_above_0.5").values[0]
    assert abs(above - (scores > 0.5).mean()) <= rank_error
    assert _get(series, "auxiliary", "", "rows").values[0] == 500


def test_windows_without_data_are_nan_not_skipped() -> None:
    series = health_series(_profiles(_records(0, 50, 0), _records(3, 50, 3)), SPEC)
    mean = _get(series, "feature", "age", "mean")
    assert len(mean) == 4
    assert mean.timestamps[3] - mean.timestamps[0] == np.timedelta64(3 * 3600, "s")
    assert np.isnan(mean.values[1:3]).all() and not np.isnan(mean.values[[0, 3]]).any()
    assert all(len(s) == 4 for s in series)


def test_traffic_ratio_splits_the_model_between_versions() -> None:
    series = health_series(_profiles(_records(0, 300, 1, "v1"), _records(0, 100, 2, "v2")), SPEC)
    assert _get(series, "auxiliary", "", "traffic_ratio", "v1").values[0] == pytest.approx(0.75)
    assert _get(series, "auxiliary", "", "traffic_ratio", "v2").values[0] == pytest.approx(0.25)


def test_each_point_carries_the_rows_it_rests_on() -> None:
    def sparse(record: Record, rng: np.random.Generator) -> None:
        if rng.random() < 0.2:
            record["features"]["age"] = None
        if rng.random() < 0.5:
            del record["latency_ms"]

    # A quiet hour (30 rows) and a busy one (3,000): the same rates, a hundredfold support.
    series = health_series(
        _profiles(_records(0, 30, 1, tweak=sparse), _records(1, 3000, 2, tweak=sparse)), SPEC
    )
    null_rate = _get(series, "feature", "age", "null_rate")
    mean = _get(series, "feature", "age", "mean")
    p95 = _get(series, "feature", "age", "p95")
    assert null_rate.support is not None and mean.support is not None and p95.support is not None
    np.testing.assert_array_equal(null_rate.support, [30, 3000])  # rows mentioning "age"
    nulls = null_rate.values * null_rate.support
    np.testing.assert_array_equal(mean.support, null_rate.support - nulls)  # its numbers
    np.testing.assert_array_equal(p95.support, mean.support)
    assert _get(series, "feature", "age", "coverage").support.tolist() == [30, 3000]  # type: ignore[union-attr]
    share = _get(series, "output", "score", "share_above_0.5")
    assert share.support is not None and share.support.tolist() == [30, 3000]
    latency = _get(series, "auxiliary", "", "latency_p99")
    assert latency.support is not None and 0 < latency.support[0] < 30  # only the timed rows
    ratio = _get(series, "auxiliary", "", "traffic_ratio")
    assert ratio.support is not None and ratio.support.tolist() == [30, 3000]
    # Counts are their own sample size.
    assert _get(series, "auxiliary", "", "rows").support is None


def test_tallies_give_quarantine_rate_late_and_duplicates() -> None:
    window = Window(start=START, end=START + HOUR)
    tally = IngestTally(
        key=ProfileKey(model="ranker", version="v1", window=window), quarantined=100, late=7
    )
    series = health_series(_profiles(_records(0, 300, 1)), SPEC, tallies=[tally])
    assert _get(series, "auxiliary", "", "quarantine_rate").values[0] == pytest.approx(0.25)
    assert _get(series, "auxiliary", "", "late").values[0] == 7
    assert _get(series, "auxiliary", "", "duplicates").values[0] == 0


def _flags(series: list[Series], family: str, column: str) -> dict[str, np.ndarray]:
    return {kind.value: _get(series, family, column, kind.value).values for kind in QualityKind}


def test_healthy_batches_raise_no_quality_signal() -> None:
    profiles = _profiles(*_healthy())
    series = health_series(profiles, SPEC)
    for family, column in [
        ("feature", "age"),
        ("feature", "country"),
        ("feature", "is_new"),
        ("output", "score"),
    ]:
        for kind, values in _flags(series, family, column).items():
            assert np.nansum(values) == 0, (column, kind)
    # No reference in the first window: missing/new/type change are undefined there.
    assert np.isnan(_get(series, "feature", "age", "missing").values[0])
    assert quality_events(profiles, SPEC) == []


def _drop_age(record: Record, rng: np.random.Generator) -> None:
    del record["features"]["age"]


def _constant_age(record: Record, rng: np.random.Generator) -> None:
    record["features"]["age"] = 42.0


def _new_feature(record: Record, rng: np.random.Generator) -> None:
    record["features"]["zip"] = str(rng.integers(10000, 99999))


def _age_as_text(record: Record, rng: np.random.Generator) -> None:
    record["features"]["age"] = str(round(record["features"]["age"]))


@pytest.mark.parametrize(
    ("tweak", "column", "kind"),
    [
        (_drop_age, "age", QualityKind.MISSING),
        (_constant_age, "age", QualityKind.CONSTANT),
        (_new_feature, "zip", QualityKind.NEW),
        (_age_as_text, "age", QualityKind.TYPE_CHANGED),
    ],
)
def test_each_fault_is_reported_in_its_window_only(
    tweak: Tweak, column: str, kind: QualityKind
) -> None:
    profiles = _profiles(*_healthy(3), _records(3, 400, seed=3, tweak=tweak))
    series = health_series(profiles, SPEC)
    flags = _flags(series, "feature", column)
    assert flags[kind.value][3] == 1.0
    assert np.nansum(flags[kind.value][:3]) == 0
    others = [k for k in QualityKind if k is not kind]
    assert all(flags[k.value][3] != 1.0 for k in others), flags
    events = quality_events(profiles, SPEC)
    assert [(e.column, e.kind, e.key.window.start) for e in events] == [
        (column, kind, START + 3 * HOUR)
    ]
    assert str(events[0]).startswith(f"ranker@v1 feature {column!r} {kind.value}")


def test_missing_all_null_counts_as_missing() -> None:
    profiles = _profiles(
        *_healthy(3), _records(3, 200, 3, tweak=lambda r, g: r["features"].update(age=None))
    )
    assert _get(health_series(profiles, SPEC), "feature", "age", "missing").values[3] == 1.0


def test_constant_in_the_reference_too_is_not_news() -> None:
    parts = [_records(h, 200, h, tweak=_constant_age) for h in range(4)]
    constant = _get(health_series(_profiles(*parts), SPEC), "feature", "age", "constant").values
    assert constant[0] == 1.0  # nothing to compare with: a constant feature is reported
    assert constant[1:].tolist() == [0.0, 0.0, 0.0]


def test_new_version_is_checked_against_the_model_s_other_versions() -> None:
    profiles = _profiles(*_healthy(3), _records(3, 300, 9, version="v2", tweak=_drop_age))
    events = quality_events(profiles, SPEC)
    assert [(e.key.version, e.column, e.kind) for e in events] == [
        ("v2", "age", QualityKind.MISSING)
    ]


def test_default_reference_is_the_same_hour_of_previous_days() -> None:
    spec = StatsSpec()
    days = [_records(24 * d + 5, 200, d) for d in range(7)]
    noon = [_records(24 * d + 12, 200, 100 + d, tweak=_drop_age) for d in range(7)]
    last = _records(24 * 7 + 5, 200, 50, tweak=_drop_age)
    series = health_series(_profiles(*days, *noon, last), spec)
    missing = _get(series, "feature", "age", "missing")
    # 05:00 on day 8 lacks age, which every earlier 05:00 had; the noon windows never had it.
    assert missing.values[-1] == 1.0
    assert np.nansum(missing.values) == 1.0
    assert math.isnan(missing.values[5])  # the first 05:00 has no reference


def test_model_level_tally_gives_every_version_the_model_rate() -> None:
    window = Window(start=START, end=START + HOUR)
    tally = IngestTally(key=ProfileKey(model="ranker", version="", window=window), quarantined=100)
    profiles = _profiles(_records(0, 300, 1, "v1"), _records(0, 100, 2, "v2"))
    series = health_series(profiles, SPEC, tallies=[tally])
    for version in ("v1", "v2"):
        rate = _get(series, "auxiliary", "", "quarantine_rate", version).values[0]
        assert rate == pytest.approx(100 / 500)


def test_since_keeps_later_windows_and_uses_earlier_ones_as_reference() -> None:
    profiles = _profiles(*_healthy(3), _records(3, 400, seed=3, tweak=_drop_age))
    series = health_series(profiles, SPEC, since=START + 3 * HOUR)
    missing = _get(series, "feature", "age", "missing")
    assert len(missing) == 1
    assert missing.values.tolist() == [1.0]
    assert missing.timestamps[0] == np.datetime64(int((START + 3 * HOUR).timestamp()), "s")


def test_quality_events_since() -> None:
    profiles = _profiles(*_healthy(3), _records(3, 400, seed=3, tweak=_drop_age))
    assert len(quality_events(profiles, SPEC, since=START + 3 * HOUR)) == 1
    assert quality_events(profiles, SPEC, since=START + 4 * HOUR) == []


def _completion(record: Record, rng: np.random.Generator) -> None:
    del rng
    record["event"] = "completion"


def _completion_without_country(record: Record, rng: np.random.Generator) -> None:
    _completion(record, rng)
    del record["features"]["country"]


def test_one_completion_line_per_request_is_traffic_with_coverage_and_quality_signals() -> None:
    """Logs of one ``completion`` line per request, features and outputs included: the shape that
    read as zero requests with every coverage and quality signal NaN."""
    parts = [_records(h, 300, seed=h, tweak=_completion) for h in range(4)]
    parts.append(_records(4, 300, seed=4, tweak=_completion_without_country))
    series = health_series(_profiles(*parts), SPEC)
    assert _get(series, "auxiliary", "", "requests").values.tolist() == [300.0] * 5
    coverage = _get(series, "feature", "country", "coverage").values
    assert coverage.tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    missing = _get(series, "feature", "country", "missing").values
    assert missing[-1] == 1.0 and np.all(missing[1:-1] == 0.0)


def _mostly_zero(record: Record, rng: np.random.Generator) -> None:
    record["features"]["clicks"] = 0.0 if rng.random() < 0.9 else float(rng.integers(1, 5))


def _zero_clicks(record: Record, rng: np.random.Generator) -> None:
    record["features"]["clicks"] = 0.0


def test_a_new_model_s_first_day_is_judged_against_its_own_earlier_hours() -> None:
    """Under the default same-hour reference, a model's first day has no reference: a feature
    that is 0 in 90% of rows and reads 0 in all 30 values of one hour (0.9^30 = 4%) is judged
    by the model's earlier hours, not called constant; a continuous feature stuck is."""
    spec = StatsSpec()  # the default reference: the same hour on the trailing days
    first_hours = [_records(h, 40, h, tweak=_mostly_zero) for h in range(4)]

    def stuck(record: Record, rng: np.random.Generator) -> None:
        _zero_clicks(record, rng)
        record["features"]["age"] = 0.0

    profiles = _profiles(*first_hours, _records(4, 30, 4, tweak=stuck))
    series = health_series(profiles, spec)
    assert _get(series, "feature", "clicks", "constant").values.tolist() == [0.0] * 5
    assert _get(series, "feature", "age", "constant").values.tolist() == [0.0] * 4 + [1.0]
    events = quality_events(profiles, spec)
    assert [(e.column, e.kind, e.key.window.start) for e in events] == [
        ("age", QualityKind.CONSTANT, START + 4 * HOUR)
    ]


def test_each_point_carries_the_standard_error_its_rows_give() -> None:
    """The mean's ``s/sqrt(n)``, a rate's binomial one, a quantile's rank interval; counts none.
    A quiet hour's errors are about ten times a busy hour's (a hundredth of the rows)."""
    series = health_series(_profiles(_records(0, 30, 1), _records(1, 3000, 2)), SPEC)
    mean = _get(series, "feature", "age", "mean")
    std = _get(series, "feature", "age", "std")
    assert mean.stderr is not None and mean.support is not None
    np.testing.assert_allclose(mean.stderr, std.values / np.sqrt(mean.support), rtol=1e-12)
    assert mean.stderr[0] == pytest.approx(10 / math.sqrt(30), rel=0.35)  # sd 10 by design
    share = _get(series, "output", "score", "share_above_0.5")
    assert share.stderr is not None and share.support is not None
    p = share.values
    np.testing.assert_allclose(share.stderr, np.sqrt(p * (1 - p) / share.support), rtol=1e-12)
    p50 = _get(series, "feature", "age", "p50")
    assert p50.stderr is not None
    # A normal median's standard error is sqrt(pi/2) sd / sqrt(n): 0.23 at 3,000 rows of sd 10;
    # the sketch (k 269, rank error 1% at 99%) adds its one-sigma rank error, 0.0039 of rank,
    # 0.097 in value at the mode. At 30 rows it holds every value: sampling alone, 2.3.
    sampling = math.sqrt(math.pi / 2) * 10 / math.sqrt(3000)
    stated = sampling + 0.01 / 2.576 * 10 * 2.5066
    assert 0.5 * stated < p50.stderr[1] < 2.0 * stated  # KLL compacts at random
    assert p50.stderr[0] == pytest.approx(sampling * 10, rel=0.35)
    latency = _get(series, "auxiliary", "", "latency_p99")
    assert latency.stderr is not None and np.all(latency.stderr > 0)
    ratio = _get(series, "auxiliary", "", "traffic_ratio")
    assert ratio.stderr is not None and ratio.stderr.tolist() == [0.0, 0.0]  # one version: all
    assert _get(series, "auxiliary", "", "rows").stderr is None
    assert _get(series, "feature", "age", "max").stderr is None


def test_the_whole_models_latency_quantiles_carry_their_timed_rows_and_errors() -> None:
    """Over every version: the timed requests behind each quantile and its rank interval's
    error, so a p99 of a quiet hour reads as noisy as it is; a window with no rows has size 0
    and no error. Traffic counts still carry neither."""
    series = health_series(
        _profiles(
            _records(0, 40, 1),
            _records(0, 160, 2, version="v2"),
            _records(1, 3000, 3),
            _records(3, 50, 4),  # hour 2 served nothing
        ),
        SPEC,
    )
    p99 = _get(series, "auxiliary", "", "latency_p99", version="*")
    assert p99.support is not None and p99.stderr is not None
    assert p99.support.tolist() == [200, 3000, 0, 50]
    assert math.isnan(p99.values[2]) and math.isnan(p99.stderr[2])
    # A lognormal(2, 0.5)'s p99 is 23.6 ms; at 200 requests its rank interval 0.99 ± 0.007
    # spans about the 98.3rd to the 99.7th percentile, at 3,000 a quarter of that.
    assert 0 < p99.stderr[1] < p99.stderr[0] / 2, p99.stderr
    assert 0.5 < p99.stderr[0] < 8.0, p99.stderr
    assert _get(series, "auxiliary", "", "requests", version="*").support is None


def test_health_gathered_per_column_is_health_added_point_by_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each column's points reach the collector at once (``add_column``); every series, with
    its sample sizes and standard errors (present or absent), is what adding them one point at
    a time gives. Faults (a column dropped, constant, typed as text, new) and two versions."""
    parts = [
        *_healthy(6, 120),
        _records(6, 120, seed=60, tweak=_drop_age),
        _records(7, 120, seed=70, tweak=_constant_age),
        _records(8, 120, seed=80, tweak=_age_as_text),
        _records(9, 120, seed=90, tweak=_new_feature),
        _records(9, 50, seed=91, version="v2"),
    ]
    profiles = _profiles(*parts)
    since = START + 2 * HOUR
    together = health_series(profiles, SPEC, since=since)

    def point_by_point(
        self: SeriesCollector,
        key: SeriesKey,
        windows: list[Window],
        values: list[float],
        support: list[float | None],
        stderr: list[float | None],
    ) -> None:
        for window, value, size, error in zip(windows, values, support, stderr, strict=True):
            self.add(key, window, value, size, error)

    monkeypatch.setattr(SeriesCollector, "add_column", point_by_point)
    alone = health_series(profiles, SPEC, since=since)
    assert [s.key for s in together] == [s.key for s in alone]
    assert any(s.support is None for s in alone) and any(s.stderr is None for s in alone)
    assert any(s.stderr is not None and np.isnan(s.stderr).any() for s in alone)
    for mine, theirs in zip(together, alone, strict=True):
        np.testing.assert_array_equal(mine.values, theirs.values)
        for one, other in ((mine.support, theirs.support), (mine.stderr, theirs.stderr)):
            assert (one is None) == (other is None), mine.key
            if one is not None:
                np.testing.assert_array_equal(one, other)


def test_a_column_of_points_is_its_points_added_one_by_one() -> None:
    """Windows outside the collector are skipped; a ``None`` size or error leaves that step
    unknown, and none at all leaves the series without that column."""
    windows = tuple(Window(start=START + h * HOUR, end=START + (h + 1) * HOUR) for h in range(6))
    outside = Window(start=START - HOUR, end=START)
    key = SeriesKey(model="m", version="v", family="feature", column="age", statistic="mean")
    chosen = [windows[4], outside, windows[1], windows[2]]
    values = [0.25, 9.0, math.nan, 0.5]
    sizes: list[float | None] = [40.0, 1.0, None, 38.0]
    errors: list[float | None] = [None, 2.0, None, None]
    together, one_by_one = SeriesCollector(windows=windows), SeriesCollector(windows=windows)
    together.add_column(key, chosen, values, sizes, errors)
    together.add_column(key, [outside], [1.0], [1.0], [1.0])  # nothing inside: nothing changes
    for window, value, size, error in zip(chosen, values, sizes, errors, strict=True):
        one_by_one.add(key, window, value, size, error)
    (mine,), (theirs,) = together.series(), one_by_one.series()
    np.testing.assert_array_equal(mine.values, theirs.values)
    np.testing.assert_array_equal(mine.support, theirs.support)
    assert mine.stderr is None and theirs.stderr is None
    assert mine.support is not None
    assert mine.values[4] == 0.25 and mine.support[2] == 38.0 and np.isnan(mine.support[1])

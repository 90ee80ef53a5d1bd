"""The conformance suite every :class:`Store` runs through: MemoryStore, SQLite and PostgreSQL.

``StoreContract`` holds the behaviour; each ``Test*`` subclass only says how to open its store
(the river ``checks`` habit: one suite, every implementation).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vigil.core import ConfigError, SeriesKey, Window
from vigil.ingest import QuarantinedRow, records_to_chunk
from vigil.profile import Profile, ProfileSpec, profile_batch
from vigil.stats.series import Series
from vigil.store import MemoryStore, QuarantineCount, Run, RunStatus, SqlStore, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _window(hour: int, duration: timedelta = HOUR) -> Window:
    start = datetime(2026, 11, 20, tzinfo=UTC) + timedelta(hours=hour)
    return Window(start=start, end=start + duration)


def _series(
    statistic: str,
    values: list[float],
    support: list[float] | None = None,
    stderr: list[float] | None = None,
) -> Series:
    stamps = np.array(
        [np.datetime64("2026-11-20T00:00:00") + np.timedelta64(i, "h") for i in range(len(values))]
    ).astype("datetime64[s]")
    return Series(
        key=SeriesKey(
            model="ranker", version="v1", family="feature", column="age", statistic=statistic
        ),
        timestamps=stamps,
        values=np.array(values, dtype=np.float64),
        support=None if support is None else np.array(support, dtype=np.float64),
        stderr=None if stderr is None else np.array(stderr, dtype=np.float64),
    )


def _profiles(*, model: str = "ranker", version: str = "v1", per_hour: int = 4) -> list[Profile]:
    """Hourly profiles of three hours from 00:00, ``per_hour`` rows each."""
    step = timedelta(hours=1) / per_hour
    records = [
        {
            "model": model,
            "version": version,
            "timestamp": (_window(0).start + i * step).isoformat(),
            "features": {"x": i, "country": "DE" if i % 2 else "FR"},
        }
        for i in range(3 * per_hour)
    ]
    chunk = records_to_chunk(records, source="test", now=None)
    assert not chunk.quarantined
    return list(profile_batch(chunk.batch, ProfileSpec(window=HOUR)).values())


def _quarantined(source: str, position: int, model: str | None = "ranker") -> QuarantinedRow:
    return QuarantinedRow(
        source=source, position=position, reason="missing field 'timestamp'", raw="{}", model=model
    )


class StoreContract:
    """Behaviour every store must have; subclasses provide the ``store`` fixture."""

    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)

    def test_only_a_store_other_processes_can_open_has_more_than_one_worker(
        self, store: Store
    ) -> None:
        assert store.workers >= 1
        assert store.url is not None or store.workers == 1

    def test_profiles_come_back_as_they_went_in(self, store: Store) -> None:
        sent = _profiles()
        assert store.profiles.put(sent, now=NOW) == 3
        back = store.profiles.get()
        assert [p.key for p in back] == sorted(p.key for p in sent)
        assert [p.to_bytes() for p in back] == [
            p.to_bytes() for p in sorted(sent, key=lambda p: p.key)
        ]
        (record, *_) = store.profiles.records()
        assert record.fingerprint == sent[0].spec.fingerprint()
        assert record.size_bytes == len(sent[0].to_bytes()) and record.rows == 4
        assert record.updated_at == NOW

    def test_writing_a_stored_key_replaces_it(self, store: Store) -> None:
        store.profiles.put(_profiles(per_hour=4), now=NOW)
        later = NOW + HOUR
        store.profiles.put(_profiles(per_hour=6), now=later)  # the same three windows again
        records = store.profiles.records()
        assert [r.rows for r in records] == [6, 6, 6]  # replaced, not 10 = 4 + 6
        assert {r.updated_at for r in records} == {later}

    def test_profile_filters(self, store: Store) -> None:
        assert store.profiles.first_window_start(duration=HOUR) is None
        store.profiles.put(
            _profiles() + _profiles(version="v2") + _profiles(model="fraud"), now=NOW
        )
        daily = _profiles()[0]
        store.profiles.put(
            [Profile.empty(replace(daily.key, window=_window(0, timedelta(days=1))), daily.spec)],
            now=NOW,
        )
        assert store.profiles.models() == ["fraud", "ranker"]
        assert len(store.profiles.records(model="ranker")) == 7
        assert len(store.profiles.records(model="ranker", version="v2")) == 3
        hourly = store.profiles.records(model="ranker", duration=HOUR)
        assert len(hourly) == 6
        inside = store.profiles.records(start=_window(1).start, end=_window(2).end)
        assert {r.key.window for r in inside} == {_window(1), _window(2)}
        assert len(inside) == 3 * 2  # (ranker v1, ranker v2, fraud v1) x two hours
        assert store.profiles.get(model="nobody") == []
        assert store.profiles.first_window_start(duration=HOUR) == min(
            r.key.window.start for r in hourly
        )
        assert store.profiles.first_window_start(duration=timedelta(days=1)) == _window(0).start
        assert store.profiles.first_window_start(duration=timedelta(minutes=5)) is None

    def test_quarantine_keeps_rows_with_reasons_and_counts_them(self, store: Store) -> None:
        rows = [_quarantined("a.jsonl", i) for i in range(1, 4)] + [
            _quarantined("b.jsonl", 7, None)
        ]
        assert store.quarantine.put(rows[:2], now=NOW, window=_window(0)) == 2
        assert store.quarantine.put(rows[2:], now=NOW) == 2

        assert store.quarantine.get() == rows
        assert store.quarantine.get(model="ranker", limit=2) == rows[:2]
        assert store.quarantine.counts() == [
            QuarantineCount(model="", window_start=None, rows=1),
            QuarantineCount(model="ranker", window_start=None, rows=1),
            QuarantineCount(model="ranker", window_start=_window(0).start, rows=2),
        ]
        assert store.quarantine.counts(since=_window(0).start) == [
            QuarantineCount(model="ranker", window_start=_window(0).start, rows=2)
        ]

    def test_deleting_a_sources_quarantine_leaves_the_others(self, store: Store) -> None:
        store.quarantine.put(
            [_quarantined("a.jsonl", 1), _quarantined("b.jsonl", 1), _quarantined("a.jsonl", 2)],
            now=NOW,
        )
        assert store.quarantine.delete(["a.jsonl"]) == 2
        assert [row.source for row in store.quarantine.get()] == ["b.jsonl"]
        assert store.quarantine.delete([]) == 0

    def test_series_round_trip_keeps_nan_and_support(self, store: Store) -> None:
        mean = _series("mean", [1.5, float("nan"), -2.25], support=[10.0, 0.0, 3.0])
        p99 = _series("p99", [9.0, 8.0, 7.0])
        assert store.series.put([mean, p99]) == 6

        mean_back, p99_back = store.series.get(model="ranker")
        for sent, back in ((mean, mean_back), (p99, p99_back)):
            assert back.key == sent.key
            np.testing.assert_array_equal(back.timestamps, sent.timestamps)
            np.testing.assert_array_equal(back.values, sent.values)  # NaN equals NaN here
        assert mean_back.support is not None
        np.testing.assert_array_equal(mean_back.support, [10.0, 0.0, 3.0])
        assert p99_back.support is None

    def test_series_round_trip_keeps_the_standard_error_and_its_gaps(self, store: Store) -> None:
        nan = float("nan")
        mean = _series("mean", [1.5, nan, -2.25], support=[10.0, 0.0, 3.0], stderr=[0.25, nan, 2.5])
        rows = _series("rows", [10.0, 0.0, 3.0])
        store.series.put([mean, rows])
        back = {one.key.statistic: one for one in store.series.get(model="ranker")}
        assert back["mean"].stderr is not None
        np.testing.assert_array_equal(back["mean"].stderr, [0.25, nan, 2.5])
        assert back["rows"].stderr is None
        # A later write of the same points without standard errors leaves none behind.
        store.series.put([_series("mean", [1.0, 2.0, 3.0], support=[1.0, 1.0, 1.0])])
        again = {one.key.statistic: one for one in store.series.get(model="ranker")}
        assert again["mean"].stderr is None

    def test_series_upsert_replaces_points_and_filters(self, store: Store) -> None:
        store.series.put([_series("mean", [1.0, 2.0, 3.0])])
        store.series.put([_series("mean", [1.0, 20.0])])  # the first two hours again
        (back,) = store.series.get(model="ranker", family="feature")
        np.testing.assert_array_equal(back.values, [1.0, 20.0, 3.0])

        since = datetime(2026, 11, 20, 1, tzinfo=UTC)
        (recent,) = store.series.get(model="ranker", since=since)
        np.testing.assert_array_equal(recent.values, [20.0, 3.0])
        assert store.series.get(model="ranker", family="output") == []
        assert store.series.get(model="other") == []

    def test_one_key_twice_in_one_write_keeps_the_later_points(self, store: Store) -> None:
        early = _series("mean", [1.0, 2.0])
        late = _series("mean", [5.0, 6.0, 7.0])
        assert store.series.put([early, late]) == 3
        (back,) = store.series.get(model="ranker")
        np.testing.assert_array_equal(back.values, [5.0, 6.0, 7.0])

    def test_runs_are_replaced_per_stage_model_and_window(self, store: Store) -> None:
        running = Run(stage="profile", window=_window(1), status=RunStatus.RUNNING, started_at=NOW)
        earlier = Run(
            stage="profile",
            window=_window(0),
            status=RunStatus.FAILED,
            started_at=NOW,
            finished_at=NOW + HOUR,
            message="disk full",
        )
        store.runs.put(running)
        store.runs.put(earlier)
        done = Run(
            stage="profile",
            window=_window(1),
            status=RunStatus.SUCCEEDED,
            started_at=NOW,
            finished_at=NOW + timedelta(seconds=3),
            rows_read=10,
            rows_profiled=9,
            rows_quarantined=1,
        )
        store.runs.put(done)

        assert store.runs.get() == [earlier, done]
        assert store.runs.get(status=RunStatus.FAILED) == [earlier]
        assert store.runs.get(stage="detect") == []


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()


class TestSqlStore(StoreContract):
    @pytest.fixture
    def store(self, store_url: str) -> Iterator[Store]:
        opened = SqlStore(store_url)
        yield opened
        opened.close()

    def test_workers_is_a_setting_and_the_url_opens_the_same_store(self, store_url: str) -> None:
        first = SqlStore(store_url, workers=3)
        first.quarantine.put([_quarantined("a.jsonl", 1)], now=NOW)
        second = SqlStore(first.url)
        try:
            assert (first.workers, second.workers) == (3, 2)
            assert second.quarantine.get() == [_quarantined("a.jsonl", 1)]
        finally:
            first.close()
            second.close()
        alone = SqlStore(store_url, workers=1)
        alone.close()
        assert alone.workers == 1
        with pytest.raises(ConfigError, match="workers=0"):
            SqlStore(store_url, workers=0)

"""The incident side of the store, run through MemoryStore, SQLite and PostgreSQL alike."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from vigil.alert import DeliveryRecord, NotificationKey
from vigil.core import ConflictError, SeriesKey, StoreError
from vigil.detect import Anomaly
from vigil.incidents import (
    Attribution,
    Feedback,
    GroupingSettings,
    IncidentState,
    Silence,
    Verdict,
    update_incidents,
    with_attribution,
)
from vigil.store import MemoryStore, SqlStore, Store

T0 = datetime(2026, 11, 20, 14, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _anomaly(hour: int = 0, column: str = "age", severity: float = 2.0) -> Anomaly:
    key = SeriesKey(model="ranker", version="v3", family="feature", column=column, statistic="p99")
    return Anomaly(
        key=key,
        timestamp=T0 + hour * HOUR,
        value=9.0,
        expected=1.0,
        lower=0.0,
        upper=2.0,
        score=8.0,
        severity=severity,
        detector="same-hour",
    )


class IncidentStoreContract:
    def test_anomalies_replace_their_period(self, store: Store) -> None:
        store.anomalies.replace(
            [_anomaly(0), _anomaly(1), _anomaly(5)], start=T0, end=T0 + 6 * HOUR
        )
        assert len(store.anomalies.get(model="ranker")) == 3
        store.anomalies.replace([_anomaly(1, severity=math.nan)], start=T0, end=T0 + 2 * HOUR)
        stored = store.anomalies.get(model="ranker")
        assert [a.timestamp for a in stored] == [T0 + HOUR, T0 + 5 * HOUR]
        assert math.isnan(stored[0].severity)
        assert store.anomalies.get(since=T0 + 2 * HOUR) == [_anomaly(5)]

    def test_incidents_round_trip_and_upsert(self, store: Store) -> None:
        settings = GroupingSettings()
        opened = update_incidents([], [_anomaly(0), _anomaly(0, "zip")], now=T0, settings=settings)
        store.incidents.put(opened)
        assert store.incidents.get() == opened
        resolved = update_incidents(
            store.incidents.get(), [], now=T0 + 2 * settings.resolve_after, settings=settings
        )
        store.incidents.put(resolved)
        assert [i.state for i in store.incidents.get()] == [IncidentState.RESOLVED]
        assert store.incidents.get(states={IncidentState.OPEN}) == []
        assert store.incidents.find(opened[0].id) == resolved[0]
        assert store.incidents.find("inc-missing") is None

    def test_incidents_resolved_after_a_moment_are_read_without_the_older_ones(
        self, store: Store
    ) -> None:
        settings = GroupingSettings()
        early = update_incidents([], [_anomaly(0)], now=T0, settings=settings)
        late = update_incidents([], [_anomaly(10, "zip")], now=T0 + 10 * HOUR, settings=settings)
        store.incidents.put(early + late)
        stored_early = [i for i in store.incidents.get() if i.id == early[0].id]
        store.incidents.put(
            update_incidents(
                stored_early, [], now=T0 + 2 * settings.resolve_after, settings=settings
            )
        )
        (resolved,) = store.incidents.get(states={IncidentState.RESOLVED})
        assert resolved.resolved_at is not None
        just_before = resolved.resolved_at - timedelta(microseconds=1)
        assert store.incidents.get(resolved_after=just_before) == [resolved]  # the open one: no
        assert store.incidents.get(resolved_after=resolved.resolved_at) == []

    def test_an_incident_keeps_the_hosts_that_carry_it(self, store: Store) -> None:
        """What ``vigil incidents --json`` and the scoring read back: the attribution."""
        (opened,) = update_incidents([], [_anomaly(0)], now=T0, settings=GroupingSettings())
        carried = with_attribution(
            opened,
            [
                Attribution(
                    dimension="host",
                    value="eta-02",
                    share=0.9,
                    rate=0.4,
                    others=0.01,
                    root_llr=12.5,
                ),
                Attribution(
                    dimension="tag:zone",
                    value="eu",
                    share=0.1,
                    rate=0.05,
                    others=0.01,
                    root_llr=math.inf,
                ),
            ],
        )
        store.incidents.put([carried])
        (back,) = store.incidents.get()
        assert back.attribution[0] == carried.attribution[0]
        assert back.attribution[1].value == "eu" and math.isnan(back.attribution[1].root_llr)
        assert "eta-02" in back.summary

    def test_a_write_from_the_revision_read_succeeds_and_moves_the_revision_on(
        self, store: Store
    ) -> None:
        (opened,) = update_incidents([], [_anomaly(0)], now=T0, settings=GroupingSettings())
        assert opened.revision == 0  # never stored
        store.incidents.put([opened])
        first = store.incidents.find(opened.id)
        assert first is not None and first.revision == 1
        longer = update_incidents(
            [first], [_anomaly(1)], now=T0 + HOUR, settings=GroupingSettings()
        )
        assert longer[0].revision == 1  # the value carries the revision it was read at
        store.incidents.put(longer)
        second = store.incidents.find(opened.id)
        assert second is not None and second.revision == 2
        assert len(second.anomalies) == 2

    def test_a_write_that_changes_nothing_keeps_the_revision(self, store: Store) -> None:
        """A cycle that re-runs windows decides their incidents again as stored: writing them
        must leave the rows (revision included) as one run left them, even when an anomaly's
        score is a NaN computed anew (never equal to the NaN read back, as a float)."""
        unscored = replace(_anomaly(0), score=float("nan"))
        settings = GroupingSettings()
        (opened,) = update_incidents([], [unscored, _anomaly(1)], now=T0 + HOUR, settings=settings)
        assert store.incidents.put([opened]) == 1
        read = store.incidents.find(opened.id)
        assert read is not None and read.revision == 1
        decided_again = replace(
            read,
            anomalies=tuple(replace(a, score=float("nan")) for a in read.anomalies[:1])
            + read.anomalies[1:],
        )
        assert store.incidents.put([decided_again]) == 0
        kept = store.incidents.find(opened.id)
        assert kept is not None and kept.revision == 1
        # One thing changed is a write, from the revision read, and moves the revision on ...
        checked = replace(read, summary=f"{read.summary} (checked)")
        assert store.incidents.put([checked]) == 1
        moved = store.incidents.find(opened.id)
        assert moved is not None and moved.revision == 2 and moved.summary == checked.summary
        # ... and the same content from the revision before it is refused: it is stale.
        with pytest.raises(ConflictError, match=opened.id):
            store.incidents.put([checked])

    def test_a_write_from_a_stale_revision_is_refused_and_writes_nothing(
        self, store: Store
    ) -> None:
        settings = GroupingSettings()
        (opened,) = update_incidents([], [_anomaly(0)], now=T0, settings=settings)
        (other,) = update_incidents([], [_anomaly(0, "zip")], now=T0, settings=settings)
        other = replace(other, id="inc-other")
        store.incidents.put([opened])
        read_by_a = store.incidents.find(opened.id)
        read_by_b = store.incidents.find(opened.id)
        assert read_by_a is not None and read_by_b is not None
        verdict = replace(read_by_a, state=IncidentState.RESOLVED, resolved_at=T0 + HOUR)
        store.incidents.put([verdict])  # a wrote first
        extended = update_incidents([read_by_b], [_anomaly(1)], now=T0 + HOUR, settings=settings)
        with pytest.raises(ConflictError, match=opened.id) as raised:
            store.incidents.put([other, *extended])  # b wrote from the revision before a's
        assert raised.value.ids == (opened.id,)
        assert isinstance(raised.value, StoreError)
        # All or none: b's new incident was not written either, and a's verdict stands.
        assert store.incidents.find("inc-other") is None
        kept = store.incidents.find(opened.id)
        assert kept is not None and kept.state is IncidentState.RESOLVED and kept.revision == 2
        # An incident never stored (revision 0) is refused when another writer stored it first.
        with pytest.raises(ConflictError):
            store.incidents.put([opened])
        # b reads again and applies its change to what is stored now: written.
        again = update_incidents([kept], [], now=T0 + 2 * HOUR, settings=settings)
        store.incidents.put([*again, other])
        assert {i.id for i in store.incidents.get()} == {opened.id, "inc-other"}

    def test_notifications_remember_only_deliveries(self, store: Store) -> None:
        sent = NotificationKey(incident_id="inc-1", state="open", channel="mail")
        failed = NotificationKey(incident_id="inc-1", state="open", channel="hook")
        store.notifications.put(DeliveryRecord(key=sent, delivered=True, attempts=1), at=T0)
        store.notifications.put(
            DeliveryRecord(key=failed, delivered=False, attempts=4, error="503"), at=T0
        )
        assert store.notifications.delivered() == {sent}

    def test_silences_and_feedback(self, store: Store) -> None:
        silence = Silence(
            id="s1", matchers={"model": "rank*"}, starts=T0, expires=T0 + HOUR, reason="backfill"
        )
        store.silences.put(silence)
        assert store.silences.get() == [silence]
        assert store.silences.delete("s1") and not store.silences.delete("s1")
        verdict = Feedback(incident_id="inc-1", verdict=Verdict.FALSE_ALARM, at=T0, by="ana")
        store.feedback.put(verdict)
        assert store.feedback.get("inc-1") == [verdict]
        assert store.feedback.get("inc-2") == []


class TestMemoryIncidentStore(IncidentStoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()


class TestSqlIncidentStore(IncidentStoreContract):
    @pytest.fixture
    def store(self, store_url: str) -> Iterator[Store]:
        opened = SqlStore(store_url)
        yield opened
        opened.close()

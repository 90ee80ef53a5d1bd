"""Versioned incident writes: a person's verdict given on the dashboard's API while a `vigil run`
cycle is between reading and writing the same incident is never written over, on SQLite and
PostgreSQL alike.

The interleaving is real: the server runs in its own thread with its own store on the database,
and the verdict is posted over HTTP at the moment the cycle has read the incidents and decided,
before it writes them (the hook is the cycle's attribution step, which runs in between). Before
incident rows carried a revision, the cycle's write put the dismissed incident back to open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from vigil.core import SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import (
    Feedback,
    GroupingSettings,
    Incident,
    IncidentState,
    Verdict,
    update_incidents,
)
from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline import deciding
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import run_cycle
from vigil.server import ServerSettings, create_app, serve_in_background
from vigil.server.feedback import record_feedback
from vigil.store import SqlStore

START = datetime(2026, 11, 2, tzinfo=UTC)
FIRST_END = START + timedelta(days=8, hours=12)
"""fraud-scorer's feature is constant from day 8, 06:00 (to day 9, 12:00): open by then."""
SECOND_END = START + timedelta(days=9)
VERDICT_AT = FIRST_END + timedelta(minutes=20)
TOKEN = "write-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GROUPING = GroupingSettings()
CONFIG = parse_config({"detect": {"history": "3d"}})
"""A short history: a smaller cycle, the same interleaving."""


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logs")
    simulate_platform(root, start=START, days=9, models=2, rate_scale=0.1, seed=3)
    return root


def _cycle(store: SqlStore, root: Path, until: datetime) -> Any:
    return run_cycle(
        config=CONFIG, store=store, now=until, until=until, channels={},
        sources=[str(root)],
    )  # fmt: skip


def _open_fraud_incident(store: SqlStore) -> Incident:
    found = [
        i
        for i in store.incidents.get(model="fraud-scorer")
        if i.state is IncidentState.OPEN and "f_account_age" in i.features
    ]
    assert len(found) == 1, [(i.id, i.state, i.features) for i in found]
    return found[0]


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    settings = ServerSettings(
        store_url=store_url, spool_dir=tmp_path / "spool", token=TOKEN, clock=lambda: VERDICT_AT
    )
    with serve_in_background(create_app(settings)) as base, httpx.Client(base_url=base) as client:
        yield client


@pytest.mark.slow
def test_a_verdict_given_while_a_cycle_decides_is_kept(
    logs: Path,
    store_url: str,
    server: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vigil.pipeline.deciding")
    store = SqlStore(store_url)
    try:
        _cycle(store, logs, FIRST_END)
        incident = _open_fraud_incident(store)
        posted: list[int] = []
        attribute = deciding.attribute_incidents

        def verdict_between_read_and_write(*args: Any, **kwargs: Any) -> Any:
            if not posted:  # the cycle has read and decided; it has not written yet
                answer = server.post(
                    f"/v1/incidents/{incident.id}/feedback",
                    json={"verdict": "false_alarm", "by": "ana"},
                    headers=AUTH,
                )
                posted.append(answer.status_code)
            return attribute(*args, **kwargs)

        monkeypatch.setattr(deciding, "attribute_incidents", verdict_between_read_and_write)
        second = _cycle(store, logs, SECOND_END)
        assert posted == [201]
        assert len(second.windows) == 12
        kept = store.incidents.find(incident.id)
        assert kept is not None
        # The verdict stands: resolved when the person said so, not reopened by the cycle.
        assert kept.state is IncidentState.RESOLVED
        assert kept.resolved_at == VERDICT_AT
        assert kept.revision == incident.revision + 1  # written once more: by the server
        # The cycle decided again from the dismissed incident: its series are silenced, so the
        # next 12 hours of the constant feature are in no open incident.
        assert "deciding again" in caplog.text
        held = {key for i in store.incidents.get() if i.state is IncidentState.OPEN
                for key in i.series}  # fmt: skip
        assert not held & set(kept.series)
    finally:
        store.close()


def _seeded(store: SqlStore) -> Incident:
    key = SeriesKey(model="ranker", version="v3", family="feature", column="age", statistic="p99")
    anomaly = Anomaly(
        key=key, timestamp=FIRST_END, value=9.0, expected=1.0, lower=0.0, upper=2.0, score=8.0,
        severity=4.0, detector="same-hour",
    )  # fmt: skip
    store.incidents.put(update_incidents([], [anomaly], now=FIRST_END, settings=GROUPING))
    (stored,) = store.incidents.get()
    return stored


def _cycle_writes(store: SqlStore, incident: Incident) -> Incident:
    """What a cycle does to the incident: one more anomaly, written from the revision read."""
    later = replace(incident.anomalies[0], timestamp=FIRST_END + timedelta(hours=1))
    store.incidents.put(
        update_incidents([incident], [later], now=later.timestamp, settings=GROUPING)
    )
    written = store.incidents.find(incident.id)
    assert written is not None
    return written


def test_a_verdict_on_a_revision_the_incident_has_left_is_refused_with_409(
    store_url: str, server: httpx.Client
) -> None:
    store = SqlStore(store_url)
    try:
        incident = _seeded(store)
        path = f"/v1/incidents/{incident.id}"
        seen = server.get(path, headers=AUTH).json()["revision"]
        assert seen == incident.revision == 1
        _cycle_writes(store, incident)  # the cycle wrote after the person looked
        stale = server.post(
            f"{path}/feedback", json={"verdict": "false_alarm", "revision": seen}, headers=AUTH
        )
        assert stale.status_code == 409
        assert "revision 2, not 1" in stale.json()["detail"]
        assert store.feedback.get(incident.id) == []  # refused: nothing stored
        assert store.incidents.get(states={IncidentState.OPEN})[0].id == incident.id
        fresh = server.get(path, headers=AUTH).json()["revision"]
        taken = server.post(
            f"{path}/feedback", json={"verdict": "false_alarm", "revision": fresh}, headers=AUTH
        )
        assert taken.status_code == 201
        dismissed = store.incidents.find(incident.id)
        assert dismissed is not None
        assert dismissed.state is IncidentState.RESOLVED and dismissed.revision == fresh + 1
        assert len(dismissed.anomalies) == 2  # the cycle's anomaly kept, not written over
    finally:
        store.close()


def test_a_verdict_without_a_revision_is_applied_again_to_the_incident_as_it_is_now(
    store_url: str,
) -> None:
    store = SqlStore(store_url)
    try:
        read_by_server = _seeded(store)
        _cycle_writes(store, read_by_server)  # between the server's read and its write
        verdict = Feedback(
            incident_id=read_by_server.id, verdict=Verdict.FALSE_ALARM, at=VERDICT_AT, by="ana"
        )
        resolved, silences = record_feedback(store, read_by_server, verdict)
        stored = store.incidents.find(read_by_server.id)
        assert stored == resolved
        assert stored is not None and stored.revision == 3
        assert stored.state is IncidentState.RESOLVED and stored.resolved_at == VERDICT_AT
        assert len(stored.anomalies) == 2  # dismissed as it is now, the cycle's change kept
        assert [s.id for s in store.silences.get()] == [s.id for s in silences]
        assert store.feedback.get(read_by_server.id) == [verdict]
    finally:
        store.close()

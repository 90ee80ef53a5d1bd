"""The server on both store backends: SQLite and a real PostgreSQL (``store_url`` fixture).

One pass over every write path (ingest quarantine, feedback, silences) and the pages that read
them, with names that are hostile to SQL and HTML, so a query built by string pasting or a
missing escape would show up on either backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from vigil.incidents import IncidentState
from vigil.lab.simulation.sample import seed_sample
from vigil.server import ServerSettings, create_app, serve_in_background
from vigil.store import SqlStore

NOW = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
TOKEN = "stores-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NASTY = "x'); DROP TABLE incidents; --<script>"


def test_every_write_path_round_trips_on_the_backend(store_url: str, tmp_path: Path) -> None:
    store = SqlStore(store_url)
    try:
        incidents = seed_sample(store, now=NOW)
    finally:
        store.close()
    target = next(i for i in incidents if i.state is not IncidentState.RESOLVED)
    settings = ServerSettings(
        store_url=store_url, spool_dir=tmp_path / "spool", token=TOKEN, clock=lambda: NOW
    )
    with serve_in_background(create_app(settings)) as url, httpx.Client(base_url=url) as client:
        rows = [
            {"model": NASTY, "timestamp": "2026-11-25T03:00:00Z", "features": {NASTY: 1}},
            {"model": NASTY, "timestamp": "not a time"},
        ]
        ingested = client.post("/v1/ingest", json=rows, headers=AUTH).json()
        assert ingested["accepted"] == 1
        assert [r["position"] for r in ingested["rejected"]] == [1]

        feedback = {"verdict": "false_alarm", "by": NASTY, "note": NASTY}
        path = f"/v1/incidents/{target.id}/feedback"
        assert client.post(path, json=feedback, headers=AUTH).status_code == 201
        silence = {"matchers": {"model": NASTY}, "duration_hours": 1, "reason": NASTY}
        created = client.post("/v1/silences", json=silence, headers=AUTH).json()

        assert client.get(f"/v1/incidents/{target.id}").json()["verdict"] == "false_alarm"
        listed = {s["id"]: s for s in client.get("/v1/silences").json()}
        assert (listed[created["id"]]["matchers"], listed[created["id"]]["reason"]) == (
            {"model": NASTY},
            NASTY,
        )
        # The false alarm silenced its series; the hostile note round-trips in their reasons.
        dismissed = [s for s in listed.values() if s["id"] != created["id"]]
        assert dismissed and all(NASTY in s["reason"] for s in dismissed)
        assert client.get("/v1/realtime").json()["cycle_errors"] == 0
        for page in (f"/incidents/{target.id}", "/silences"):
            html = client.get(page).text
            assert "<script>" not in html
            assert "&lt;script&gt;" in html
        assert len(client.get("/v1/incidents").json()) == len(incidents)
        assert client.delete(f"/v1/silences/{created['id']}", headers=AUTH).status_code == 204

    store = SqlStore(store_url)
    try:
        quarantined = store.quarantine.get()
    finally:
        store.close()
    assert [(q.model, q.position) for q in quarantined] == [(NASTY, 1)]
    spooled = list((tmp_path / "spool").rglob("*.jsonl"))
    assert len(spooled) == 1
    assert orjson.loads(spooled[0].read_bytes())["features"] == {NASTY: 1}


CORPUS = Path(__file__).parent / "bad_inputs"


def test_nul_characters_are_quarantined_or_refused_never_fatal(
    store_url: str, tmp_path: Path
) -> None:
    """PostgreSQL's text cannot hold NUL: a NUL in a name or a raw line used to abort the whole
    profiling run and answer 503 to every retry. Now names with NULs are quarantined, raw text
    keeps them escaped, and text fields of the API refuse them with a 422."""
    from vigil.pipeline import profile_paths
    from vigil.profile import ProfileSpec

    files = [CORPUS / "nul_in_names.jsonl", CORPUS / "nul_and_control_bytes.jsonl"]
    store = SqlStore(store_url)
    try:
        summary = profile_paths(files, store=store, spec=ProfileSpec(), now=NOW)
        assert (summary.rows_read, summary.rows_quarantined) == (10, 7)
        raw = [row.raw for row in store.quarantine.get()]
        assert len(raw) == 7 and not any("\x00" in text for text in raw)
        assert any("\\x00" in text for text in raw)  # kept, escaped, for a person to read
    finally:
        store.close()
    settings = ServerSettings(
        store_url=store_url, spool_dir=tmp_path / "spool", token=TOKEN, clock=lambda: NOW
    )
    with serve_in_background(create_app(settings)) as url, httpx.Client(base_url=url) as client:
        for path in files:
            answer = client.post("/v1/ingest", content=path.read_bytes(), headers=AUTH)
            assert answer.status_code == 200, answer.text
        refused = client.post(
            "/v1/silences", json={"duration_hours": 1, "reason": "a\x00b"}, headers=AUTH
        )
        assert refused.status_code == 422

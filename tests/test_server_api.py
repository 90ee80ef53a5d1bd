"""The JSON API, /metrics and the dashboard's HTML on the sample data set in a SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from vigil.incidents import Incident, IncidentState, opening_problem
from vigil.lab.simulation.sample import HOSTILE_FEATURE, SAMPLE_HOURS, SHIFT_HOURS, seed_sample
from vigil.server import ServerSettings, create_app, serve_in_background
from vigil.server.auth import COOKIE
from vigil.store import SqlStore

NOW = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
TOKEN = "api-write-token"
READ = "api-read-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Incident]]:
    folder = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{folder / 'vigil.db'}"
    store = SqlStore(url)
    try:
        incidents = seed_sample(store, now=NOW)
    finally:
        store.close()
    return url, incidents


@contextmanager
def _client(url: str, spool: Path, read_token: str | None = None) -> Iterator[httpx.Client]:
    settings = ServerSettings(
        store_url=url, spool_dir=spool, token=TOKEN, read_token=read_token, clock=lambda: NOW
    )
    with serve_in_background(create_app(settings)) as base, httpx.Client(base_url=base) as client:
        yield client


@pytest.fixture
def client(seeded: tuple[str, list[Incident]], tmp_path: Path) -> Iterator[httpx.Client]:
    with _client(seeded[0], tmp_path / "spool") as test_client:
        yield test_client


def _open_incident(incidents: list[Incident], model: str) -> Incident:
    return next(i for i in incidents if i.model == model and i.state is not IncidentState.RESOLVED)


def test_models_report_health_open_incidents_and_last_window_rows(client: httpx.Client) -> None:
    models = {m["model"]: m for m in client.get("/v1/models").json()}
    assert set(models) == {"ranker", "fraud"}
    ranker = models["ranker"]
    assert ranker["status"] == "red"
    # The +5 sd shift of age is decided by its tested drift band (feature distributions are
    # watched through drift).
    assert ranker["families"]["drift"] == "red" and ranker["families"]["feature"] == "green"
    assert ranker["families"]["output"] == "green"
    assert ranker["open_incidents"] == 1
    assert ranker["last_window_rows"] == 40  # sample_records writes 40 rows per hour
    assert ranker["last_window_at"] == "2026-11-25T02:00:00+00:00"
    assert client.get("/v1/models/ranker").json() == ranker
    assert client.get("/v1/models/nobody").status_code == 404


def test_series_endpoint_returns_the_stored_points(client: httpx.Client) -> None:
    found = client.get(
        "/v1/series",
        params={"model": "ranker", "family": "feature", "column": "age", "statistic": "mean"},
    ).json()
    assert len(found) == 1
    values = found[0]["values"]
    # A week by default, ending where the data ends.
    assert len(values) == 24 * 7 == len(found[0]["timestamps"])
    assert SAMPLE_HOURS > 24 * 7
    # The last SHIFT_HOURS hours are shifted by +50 (five standard deviations of age).
    assert min(values[-SHIFT_HOURS:]) > max(values[:-SHIFT_HOURS]) + 30
    fewer = client.get("/v1/series", params={"model": "ranker", "hours": 6}).json()
    assert all(len(s["timestamps"]) <= 6 for s in fewer)
    # An explicit range: the 12 hours before a moment of the first day.
    until = found[0]["timestamps"][0]
    earlier = client.get(
        "/v1/series",
        params={
            "model": "ranker",
            "statistic": "mean",
            "family": "feature",
            "column": "age",
            "until": until,
            "hours": 12,
        },
    ).json()
    (one,) = earlier
    assert 0 < len(one["timestamps"]) <= 12 and max(one["timestamps"]) < until


def test_incidents_list_filter_and_detail(
    client: httpx.Client, seeded: tuple[str, list[Incident]]
) -> None:
    listed = client.get("/v1/incidents").json()
    assert {i["id"] for i in listed} == {i.id for i in seeded[1]}
    unresolved = client.get("/v1/incidents", params={"state": "open"}).json()
    assert {i["model"] for i in unresolved} == {"ranker", "fraud"}
    assert all(i["state"] != "resolved" for i in unresolved)
    incident = _open_incident(seeded[1], "ranker")
    detail = client.get(f"/v1/incidents/{incident.id}").json()
    assert detail["anomaly_count"] == len(detail["anomalies"]) == len(incident.anomalies)
    assert all(a["value"] > a["upper"] for a in detail["anomalies"])
    assert client.get("/v1/incidents/inc-nothing").status_code == 404


def test_feedback_needs_the_write_token_and_a_false_alarm_stops_paging(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'own.db'}"  # its own store: a dismissal changes the data
    store = SqlStore(url)
    try:
        incidents = seed_sample(store, now=NOW)
    finally:
        store.close()
    with _client(url, tmp_path / "spool") as client:
        incident = _open_incident(incidents, "fraud")
        path = f"/v1/incidents/{incident.id}/feedback"
        assert client.post(path, json={"verdict": "false_alarm"}).status_code == 401
        assert client.post(path, json={"verdict": "maybe"}, headers=AUTH).status_code == 422
        assert client.post("/v1/incidents/inc-x/feedback", json={"verdict": "confirmed"},
                           headers=AUTH).status_code == 404  # fmt: skip
        created = client.post(path, json={"verdict": "false_alarm", "by": "ana"}, headers=AUTH)
        assert created.status_code == 201
        assert created.json()["at"] == NOW.isoformat()
        detail = client.get(f"/v1/incidents/{incident.id}").json()
        assert (detail["verdict"], detail["state"]) == ("false_alarm", "resolved")
        feedback = client.get("/v1/feedback", params={"incident_id": incident.id}).json()
        assert [(f["verdict"], f["by"]) for f in feedback] == [("false_alarm", "ana")]
        # Its series are silenced for a day, from the incident's start.
        silenced = set(created.json()["silences"])
        listed = {s["id"]: s for s in client.get("/v1/silences").json()}
        assert silenced and silenced <= set(listed)
        for silence_id in silenced:
            assert listed[silence_id]["active"] is True
            assert incident.id in listed[silence_id]["reason"]
            assert listed[silence_id]["matchers"]["model"] == "fraud"
        # A confirmed incident stays as it is.
        confirmed = _open_incident(incidents, "ranker")
        url_ranker = f"/v1/incidents/{confirmed.id}/feedback"
        answer = client.post(url_ranker, json={"verdict": "confirmed"}, headers=AUTH).json()
        assert answer["silences"] == []
        assert client.get(f"/v1/incidents/{confirmed.id}").json()["state"] == confirmed.state


def test_silences_are_created_listed_and_deleted(client: httpx.Client) -> None:
    body = {"matchers": {"model": "rank*"}, "duration_hours": 2, "reason": "deploy"}
    assert client.post("/v1/silences", json=body).status_code == 401
    created = client.post("/v1/silences", json=body, headers=AUTH)
    assert created.status_code == 201
    silence = created.json()
    assert silence["expires"] == "2026-11-25T05:30:00+00:00"
    assert silence["active"] is True
    assert silence["id"] in {s["id"] for s in client.get("/v1/silences").json()}
    bad = client.post("/v1/silences", json={**body, "matchers": {"colour": "red"}}, headers=AUTH)
    assert bad.status_code == 422
    assert "colour" in bad.text
    assert client.post("/v1/silences", json={"reason": "x"}, headers=AUTH).status_code == 422
    assert client.delete(f"/v1/silences/{silence['id']}", headers=AUTH).status_code == 204
    assert client.delete(f"/v1/silences/{silence['id']}", headers=AUTH).status_code == 404


def test_a_read_token_guards_reads_and_does_not_allow_writes(
    seeded: tuple[str, list[Incident]], tmp_path: Path
) -> None:
    with _client(seeded[0], tmp_path / "spool", read_token=READ) as client:
        reader = {"Authorization": f"Bearer {READ}"}
        assert client.get("/v1/models").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/v1/health").json()["status"] == "ok"
        assert client.get("/v1/models", headers=reader).status_code == 200
        assert client.get("/v1/models", headers=AUTH).status_code == 200
        assert client.get("/metrics", headers=reader).status_code == 200
        written = client.post("/v1/silences", json={"duration_hours": 1, "reason": "r"},
                              headers=reader)  # fmt: skip
        assert written.status_code == 401
        assert client.post("/v1/ingest", json=[], headers=reader).status_code == 401
        page = client.get("/", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")


def test_metrics_have_per_model_gauges(client: httpx.Client) -> None:
    client.get("/v1/models")
    text = client.get("/metrics").text
    assert 'vigil_model_health{model="ranker"} 2.0' in text
    assert 'vigil_http_requests_total{method="GET",route="/v1/models",status="200"} 1.0' in text


def test_metrics_give_grafana_each_version_s_traffic_latency_drift_and_incidents(
    client: httpx.Client, seeded: tuple[str, list[Incident]]
) -> None:
    """Was: three hand-written values per model (open incidents, rows, health), no version."""
    samples = _samples(client.get("/metrics").text)
    ranker = {"model": "ranker", "version": "v2"}
    assert samples[("vigil_model_rows", _labels(ranker))] == 40.0  # the sample's rows per hour
    assert samples[("vigil_model_requests", _labels(ranker))] == 40.0
    assert samples[("vigil_store_up", _labels({}))] == 1.0
    latency = {
        dict(labels)["quantile"]: value
        for (name, labels), value in samples.items()
        if name == "vigil_model_latency_ms" and dict(labels)["model"] == "ranker"
    }
    assert set(latency) == {"0.5", "0.9", "0.99", "0.999"}
    assert latency["0.5"] < latency["0.99"]
    drift = {
        dict(labels)["feature"]: value
        for (name, labels), value in samples.items()
        if name == "vigil_feature_drift_psi" and dict(labels)["model"] == "ranker"
    }
    assert max(drift, key=drift.__getitem__) == "age"  # the feature the sample shifts
    (incident,) = [
        i for i in seeded[1] if i.model == "ranker" and i.state is not IncidentState.RESOLVED
    ]
    kind = opening_problem(incident).kind.value
    assert samples[("vigil_model_open_incidents", _labels({**ranker, "kind": kind}))] == 1.0


Labels = frozenset[tuple[str, str]]


def _labels(values: dict[str, str]) -> Labels:
    return frozenset(values.items())


def _samples(text: str) -> dict[tuple[str, Labels], float]:
    """(name, labels) -> value of every sample of a Prometheus text exposition."""
    return {
        (sample.name, _labels(sample.labels)): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_dashboard_pages_escape_names_from_data(
    client: httpx.Client, seeded: tuple[str, list[Incident]]
) -> None:
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    incident = _open_incident(seeded[1], "fraud")
    assert HOSTILE_FEATURE in incident.summary
    for path in ("/", "/models/fraud", f"/incidents/{incident.id}", "/incidents"):
        html = client.get(path).text
        assert "<img" not in html, path
        assert escaped in html, path
    assert client.get("/models/nobody").status_code == 404
    # Defence in depth: the pages run no script even if a name slipped through unescaped.
    assert "script-src 'none'" in client.get("/").headers["content-security-policy"]


def test_dashboard_writes_need_a_session_and_the_same_origin(
    client: httpx.Client, seeded: tuple[str, list[Incident]]
) -> None:
    incident = _open_incident(seeded[1], "ranker")
    path = f"/incidents/{incident.id}/feedback"
    anonymous = client.post(path, data={"verdict": "confirmed"}, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    failed = client.post("/login", data={"token": "wrong", "next": "/"}, follow_redirects=False)
    assert "failed=1" in failed.headers["location"]
    login = client.post("/login", data={"token": TOKEN, "next": "//evil.test/"},
                        follow_redirects=False)  # fmt: skip
    assert login.headers["location"] == "/"  # no open redirect
    assert TOKEN not in login.headers["set-cookie"]
    assert "httponly" in login.headers["set-cookie"].lower()
    assert client.cookies.get(COOKIE)
    foreign = client.post(path, data={"verdict": "confirmed"},
                          headers={"Origin": "http://evil.test"})  # fmt: skip
    assert foreign.status_code == 403
    done = client.post(path, data={"verdict": "confirmed", "by": "li"}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get(f"/v1/incidents/{incident.id}").json()["verdict"] == "confirmed"

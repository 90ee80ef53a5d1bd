"""``vigil incidents``: the stored incidents with their kind, features and attribution, filtered
by model, state and time; the API serves the same fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.core import SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import (
    Attribution,
    GroupingSettings,
    IncidentState,
    incident_record,
    update_incidents,
    with_attribution,
)
from vigil.server.api import incident_json
from vigil.store import SqlStore

T0 = datetime(2026, 3, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)
FIELDS = [
    "id",
    "model",
    "version",
    "state",
    "kind",
    "opened_at",
    "resolved_at",
    "summary",
    "series",
    "features",
    "attribution",
]


def _anomaly(model: str, family: str, column: str, statistic: str, at: datetime) -> Anomaly:
    key = SeriesKey(model=model, version="*", family=family, column=column, statistic=statistic)
    return Anomaly(
        key=key,
        timestamp=at,
        value=1.0 if family == "feature" else 900.0,
        expected=0.0 if family == "feature" else 120.0,
        lower=-0.5 if family == "feature" else 60.0,
        upper=0.5 if family == "feature" else 200.0,
        score=5.0,
        severity=2.0,
        detector="test",
    )


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    settings = GroupingSettings()
    missing = update_incidents(
        [],
        [_anomaly("loan", "feature", "employment", "missing", T0)],
        now=T0,
        settings=settings,
    )
    resolved = update_incidents(missing, [], now=T0 + 10 * HOUR, settings=settings)
    slow = update_incidents(
        [],
        [
            _anomaly("eta", "auxiliary", "", "latency_p99", T0 + 24 * HOUR + k * HOUR)
            for k in (0, 1)
        ],
        now=T0 + 26 * HOUR,
        settings=settings,
    )
    host = Attribution(
        dimension="host", value="eta-03", share=0.97, rate=0.5, others=0.01, root_llr=30.0
    )
    store = SqlStore(url)
    try:
        store.incidents.put([*resolved, with_attribution(slow[0], [host])])
    finally:
        store.close()
    return url


def _json(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["incidents", *args, "--json"])
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def test_incidents_are_listed_as_json_with_kind_features_and_attribution(tmp_path: Path) -> None:
    url = _store(tmp_path)
    listed = _json("--db", url)
    assert [i["model"] for i in listed] == ["eta", "loan"]  # newest first
    assert all(list(i) == FIELDS for i in listed)
    eta, loan = listed
    assert (eta["state"], eta["kind"], eta["resolved_at"]) == ("open", "latency", None)
    assert eta["attribution"] == [
        {"dimension": "host", "value": "eta-03", "share": 0.97, "root_llr": 30.0}
    ]
    assert "eta-03" in str(eta["summary"])
    assert (loan["state"], loan["kind"], loan["features"]) == (
        "resolved",
        "missing_feature",
        ["employment"],
    )
    assert loan["resolved_at"] is not None


def test_incidents_filter_by_model_state_and_time(tmp_path: Path) -> None:
    url = _store(tmp_path)
    assert [i["model"] for i in _json("--db", url, "--model", "loan")] == ["loan"]
    assert [i["model"] for i in _json("--db", url, "--state", "open")] == ["eta"]
    assert [i["model"] for i in _json("--db", url, "--state", "resolved")] == ["loan"]
    # --since keeps what was still live then or opened after: the loan incident was resolved
    # before it.
    after = (T0 + 20 * HOUR).isoformat()
    assert [i["model"] for i in _json("--db", url, "--since", after)] == ["eta"]
    before = (T0 + 5 * HOUR).isoformat()
    assert [i["model"] for i in _json("--db", url, "--since", before)] == ["eta", "loan"]
    wrong = CliRunner().invoke(app, ["incidents", "--db", url, "--state", "updated"])
    assert wrong.exit_code == 1 and "--state must be open or resolved" in wrong.stderr


def test_the_table_names_kinds_and_the_api_serves_the_same_fields(tmp_path: Path) -> None:
    url = _store(tmp_path)
    table = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["incidents", "--db", url])
    assert table.exit_code == 0, table.output
    assert "latency" in table.stdout and "missing_feature" in table.stdout
    store = SqlStore(url, create=False)
    try:
        (incident,) = store.incidents.get(states={IncidentState.OPEN})
    finally:
        store.close()
    served = incident_json(incident, None, anomalies=False)
    assert {k: served[k] for k in FIELDS} == incident_record(incident)

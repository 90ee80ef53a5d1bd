"""Raw request logs end to end: one ``completion`` line per request, six injected incidents,
replayed with ``vigil run --once`` (to the end of the data) and with ``--until``; and the same
logs in another shape, read through ``[ingest.fields]``.

The logs come from :mod:`vigil.lab.simulation.raw_logs` with a seed used nowhere else in
development; the result is judged strictly (:mod:`vigil.lab.raw_evaluation`): every injected
incident its own incident, of the right kind, naming the right feature or host, soon enough.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.lab.raw_evaluation import score_raw
from vigil.lab.simulation.foreign_logs import FOREIGN_FIELDS, write_foreign_logs
from vigil.lab.simulation.raw_logs import CLEAN_DAYS, simulate_raw_logs
from vigil.store import SqlStore

START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _config(tmp_path: Path, logs: Path, name: str) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / name}.db"
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'[store]\nurl = "{url}"\n[ingest]\nsources = ["{logs}"]\n[report]\nout = "{tmp_path}/r"\n'
    )
    return path, url


@pytest.mark.slow
def test_completion_logs_replayed_find_each_injected_incident_as_its_own(tmp_path: Path) -> None:
    logs = simulate_raw_logs(tmp_path / "logs", start=START, seed=2031)
    config, url = _config(tmp_path, logs.root, "replay")
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--once"])
    assert result.exit_code == 0, result.output
    # A replay stops at its last data: 14 days of hourly windows, not a walk to today.
    assert "336 windows to 2026-03-16 00:00" in result.output
    assert "quarantined" in result.output  # the malformed lines are counted, with reasons
    store = SqlStore(url)
    try:
        incidents = store.incidents.get()
        runs = store.runs.get()
    finally:
        store.close()
    assert max(r.window.end for r in runs) == logs.end
    score = score_raw(
        logs.injected, incidents, window=HOUR, evaluated_from=START + timedelta(days=CLEAN_DAYS)
    )
    for match in score.matches:
        truth = match.injected
        assert match.incident is not None, (truth, match.kind_found)
        assert match.subject_named, (truth, match.incident.summary)
        assert match.delay_windows is not None
        assert match.delay_windows <= (24 if truth.kind == "drift" else 2), (truth, match)
    assert len(score.false_incidents) <= 1, [i.summary for i in score.false_incidents]


@pytest.mark.slow
def test_until_stops_a_replay_at_that_data_time(tmp_path: Path) -> None:
    logs = simulate_raw_logs(tmp_path / "logs", start=START, days=13, seed=2032, rate_scale=0.2)
    config, _ = _config(tmp_path, logs.root, "until")
    until = START + timedelta(days=9, hours=6)
    result = CliRunner().invoke(
        app, ["run", "--config", str(config), "--once", "--until", until.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert f"{9 * 24 + 6} windows to 2026-03-11 06:00" in result.output
    again = CliRunner().invoke(app, ["run", "--config", str(config), "--once"])
    assert again.exit_code == 0, again.output
    assert f"{(13 - 9) * 24 - 6} windows to 2026-03-15 00:00" in again.output


def _toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


@pytest.mark.slow
def test_logs_of_another_shape_read_through_ingest_fields_find_each_incident(
    tmp_path: Path,
) -> None:
    """The same six incidents, logged by another stack: nested and renamed fields, epoch
    milliseconds, latency in microseconds, one host's clock 17 minutes fast, lines shuffled
    and 3% a day late, labels two days later as ``feedback`` lines; read through
    ``[ingest.fields]`` alone, and replayed to the end of the data (no ``--until``)."""
    raw = simulate_raw_logs(tmp_path / "raw", start=START, seed=2033)
    logs = write_foreign_logs(raw, tmp_path / "foreign", seed=2033)
    config, url = _config(tmp_path, logs.root, "foreign")
    fields = "".join(f"{k} = {_toml_value(v)}\n" for k, v in FOREIGN_FIELDS.items())
    config.write_text(config.read_text() + "[ingest.fields]\n" + fields)
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--once"])
    assert result.exit_code == 0, result.output
    # The fast host's requests in the hour after the data's end are its ragged edge: the
    # replay ends at the last full window, with no "traffic stopped" for the other models.
    assert "336 windows to 2026-03-16 00:00" in result.output
    store = SqlStore(url)
    try:
        incidents = store.incidents.get()
        quarantined = store.quarantine.get(limit=1_000)
    finally:
        store.close()
    # Only the generator's malformed lines are quarantined, with reasons in the log's names.
    assert len(quarantined) == raw.malformed
    assert any("missing field 'ts_ms'" in row.reason for row in quarantined)
    score = score_raw(
        raw.injected, incidents, window=HOUR, evaluated_from=START + timedelta(days=CLEAN_DAYS)
    )
    for match in score.matches:
        truth = match.injected
        assert match.incident is not None, (truth, match.kind_found)
        assert match.subject_named, (truth, match.incident.summary)
        assert match.delay_windows is not None
        assert match.delay_windows <= (24 if truth.kind == "drift" else 2), (truth, match)
    assert len(score.false_incidents) <= 1, [i.summary for i in score.false_incidents]

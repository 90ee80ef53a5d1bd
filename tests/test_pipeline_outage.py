"""An outage that starts within a day, replayed: one incident from its first silent hour to its
last, and the return of traffic opens nothing.

A replay decides a day at a time. Before the runner decided again the hours after an incident
opened, the default detector learned the silence within the day (its baseline is the series
itself), stopped flagging it after two hours, and the return of traffic opened a second
incident: "requests 50, expected 0.4".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import run_cycle
from vigil.store import MemoryStore

START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 9
OUTAGE = (START + timedelta(days=8, hours=2), START + timedelta(days=8, hours=8))


def _silence(root: Path, start: datetime, end: datetime) -> None:
    """Drop every request logged in ``[start, end)``: the model served nothing then."""
    for path in root.glob(f"model=*/version=*/date={start:%Y-%m-%d}/*.parquet"):
        table = pq.read_table(path)
        stamps = table.column("timestamp")
        inside = pc.and_(pc.greater_equal(stamps, start), pc.less(stamps, end))
        pq.write_table(table.filter(pc.invert(inside)), path)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logs")
    simulate_platform(root, start=START, days=DAYS, models=1, rate_scale=0.3, seed=5)
    _silence(root, *OUTAGE)
    return root


@pytest.mark.slow
def test_an_outage_within_a_day_is_one_incident_and_its_end_opens_none(logs: Path) -> None:
    store = MemoryStore()
    summary = run_cycle(
        config=parse_config({}), store=store, now=START + timedelta(days=30), channels={},
        sources=[str(logs)],
    )  # fmt: skip
    traffic = [i for i in summary.incidents if i.kind.value == "traffic"]
    assert len(traffic) == 1, [(i.opened_at, i.anomalies[0].value) for i in traffic]
    (outage,) = traffic
    assert OUTAGE[0] <= outage.opened_at < OUTAGE[0] + timedelta(hours=2)
    requests = [a for a in outage.anomalies if a.key.statistic == "requests"]
    # Every silent hour from the opening on is flagged, against the hours before the outage.
    hours = int((OUTAGE[1] - outage.opened_at) / timedelta(hours=1))
    flagged = {a.timestamp for a in requests}
    assert flagged == {outage.opened_at + timedelta(hours=h) for h in range(hours)}
    assert all(a.value == 0 for a in requests)
    assert all(a.value < a.expected for a in requests)
    # The hours after the return are normal: nothing about them in any incident.
    after = [
        a for i in summary.incidents for a in i.anomalies
        if a.key.statistic == "requests" and a.timestamp >= OUTAGE[1]
    ]  # fmt: skip
    assert after == []

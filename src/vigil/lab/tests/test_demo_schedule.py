"""The demo's incidents lie inside the days it simulates, after the clean first week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.lab.demo import CLEAN_DAYS
from vigil.lab.simulation.logs import demo_incidents, incidents_within, simulate_platform

START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.parametrize("days", range(8, 15))
def test_every_injected_incident_lies_in_the_simulated_days(days: int) -> None:
    end = START + timedelta(days=days)
    injected = incidents_within(START, end)
    assert injected, "every demo length injects something to find"
    for incident in injected:
        assert START + timedelta(days=CLEAN_DAYS) <= incident.start < incident.end <= end


def test_a_full_length_demo_keeps_its_whole_schedule() -> None:
    assert incidents_within(START, START + timedelta(days=13)) == demo_incidents(START)
    assert len(incidents_within(START, START + timedelta(days=12))) == 7  # the last one is cut


def test_a_short_platform_only_injects_what_it_simulates(tmp_path: Path) -> None:
    platform = simulate_platform(tmp_path, start=START, days=10, models=2, seed=1)
    assert [i.model for i in platform.injected] == ["ranker", "fraud-scorer"]
    ranker = platform.injected[0]
    assert ranker.end == platform.end  # 09 10:00 to 10 22:00, cut at the end of day 10
    assert all(i.end <= platform.end for i in platform.injected)

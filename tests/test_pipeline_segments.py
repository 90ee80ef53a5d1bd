"""Segments end to end: one cycle over logs where a feature moves in one region only raises one
incident that names the region; without ``[profile] segments`` none names it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from vigil.incidents import Incident
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import run_cycle
from vigil.store import MemoryStore

START = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 9
SHIFT_FROM = START + timedelta(days=8, hours=4)


def _write(path: Path, *, shift_sd: float) -> Path:
    rng = np.random.default_rng(12)
    lines = []
    for hour in range(DAYS * 24):
        at = START + timedelta(hours=hour)
        for minute in np.sort(rng.uniform(0, 60, 150)):
            region = "eu" if rng.random() < 0.2 else "us"
            x = rng.normal(50.0, 10.0)
            if region == "eu" and at >= SHIFT_FROM:
                x += shift_sd * 10.0
            record = {
                "model": "ranker",
                "version": "v1",
                "timestamp": (at + timedelta(minutes=float(minute))).isoformat(),
                "features": {"x": x, "y": rng.normal(0.0, 1.0)},
                "outputs": {"score": rng.random()},
                "tags": {"region": region},
            }
            lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")
    return path


def _incidents(path: Path, segments: list[str]) -> list[Incident]:
    config = parse_config({"profile": {"segments": segments}})
    cycle = run_cycle(
        config=config,
        store=MemoryStore(),
        now=START + timedelta(days=DAYS),
        channels={},
        sources=[str(path)],
    )
    return list(cycle.incidents)


@pytest.fixture(scope="module")
def shifted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("seg") / "logs.jsonl", shift_sd=1.0)


@pytest.mark.slow
def test_a_shift_in_one_region_is_one_incident_naming_it(shifted: Path) -> None:
    incidents = _incidents(shifted, ["region"])
    about_x = [i for i in incidents if "`x`" in i.summary]
    assert len(about_x) == 1, [i.summary for i in incidents]
    assert "in segment region=eu" in about_x[0].summary
    assert all("region=us" not in i.summary and "`y`" not in i.summary for i in incidents)
    assert SHIFT_FROM <= about_x[0].opened_at < SHIFT_FROM + timedelta(hours=8)


@pytest.mark.slow
def test_without_segments_no_incident_names_a_segment(shifted: Path) -> None:
    incidents = _incidents(shifted, [])
    assert all("segment" not in i.summary for i in incidents)


@pytest.mark.slow
def test_with_segments_and_no_shift_nothing_is_raised(tmp_path: Path) -> None:
    calm = _write(tmp_path / "calm.jsonl", shift_sd=0.0)
    assert [i.summary for i in _incidents(calm, ["region"])] == []

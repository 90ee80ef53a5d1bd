"""What the API, the dashboard and ``/metrics`` show, gathered from the store once per request.

Plain functions from a store and a clock to values; the routes only serialize or render them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import ALL_VERSIONS, Family, ensure_utc
from vigil.incidents import Feedback, Incident, IncidentState
from vigil.report import Light, family_lights
from vigil.stats import Series
from vigil.store import Store

FAMILIES = (
    Family.FEATURE.value,
    Family.OUTPUT.value,
    Family.AUXILIARY.value,
    Family.DRIFT.value,
    Family.PERFORMANCE.value,
)
HEALTH_RANK = {Light.GREEN: 0, Light.GREY: 0, Light.AMBER: 1, Light.RED: 2}
_WORST_FIRST = (Light.RED, Light.AMBER, Light.GREEN, Light.GREY)
RECENT = timedelta(days=2)
"""How far back the latest window's row count is looked for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSummary:
    """One model's line on the models page and in ``GET /v1/models``."""

    model: str
    status: Light
    lights: dict[str, Light]
    open_incidents: int
    incidents: int
    last_window_at: datetime | None
    last_window_rows: float
    versions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def health(self) -> int:
        return HEALTH_RANK[self.status]


def is_open(incident: Incident) -> bool:
    return incident.state is not IncidentState.RESOLVED


def model_summaries(store: Store, *, now: datetime) -> list[ModelSummary]:
    """Every model with profiles or incidents, worst health first, then by name."""
    incidents_by_model: dict[str, list[Incident]] = defaultdict(list)
    for incident in store.incidents.get():
        incidents_by_model[incident.model].append(incident)
    names = sorted(set(store.profiles.models()) | set(incidents_by_model))
    summaries = [
        model_summary(store, name, incidents_by_model.get(name, []), now=now) for name in names
    ]
    return sorted(summaries, key=lambda s: (-s.health, s.model))


def model_summary(
    store: Store, model: str, incidents: Sequence[Incident], *, now: datetime
) -> ModelSummary:
    lights = family_lights(FAMILIES, incidents)
    status = next(light for light in _WORST_FIRST if light in lights.values())
    rows = [
        s
        for s in store.series.get(
            model=model,
            family=Family.AUXILIARY.value,
            since=data_until(store, model, None, now) - RECENT,
        )
        if s.key.statistic == "rows"
    ]
    last_at, last_rows = last_window_rows(rows)
    return ModelSummary(
        model=model,
        status=status,
        lights=lights,
        open_incidents=sum(1 for i in incidents if is_open(i)),
        incidents=len(incidents),
        last_window_at=last_at,
        last_window_rows=last_rows,
        versions=tuple(
            sorted(
                ({s.key.version for s in rows} | {i.version for i in incidents}) - {ALL_VERSIONS}
            )
        ),
    )


def last_window_rows(series: Sequence[Series]) -> tuple[datetime | None, float]:
    """The latest window with a value in any version, and the rows of all versions in it (the
    model-level series when there is one, else the versions' added up)."""
    whole = [one for one in series if one.key.version == ALL_VERSIONS]
    series = whole or series
    latest: np.datetime64 | None = None
    for one in series:
        stamps = one.timestamps[~np.isnan(one.values)]
        if len(stamps) and (latest is None or stamps[-1] > latest):
            latest = stamps[-1]
    if latest is None:
        return None, 0.0
    total = 0.0
    for one in series:
        hit = np.flatnonzero(one.timestamps == latest)
        if len(hit) and not math.isnan(one.values[hit[0]]):
            total += float(one.values[hit[0]])
    return to_datetime(latest), total


def to_datetime(stamp: np.datetime64) -> datetime:
    seconds = int(stamp.astype("datetime64[s]").astype(np.int64))
    return datetime.fromtimestamp(seconds, UTC)


def latest_verdicts(feedback: Sequence[Feedback]) -> dict[str, Feedback]:
    """The most recent verdict per incident."""
    latest: dict[str, Feedback] = {}
    for one in sorted(feedback, key=lambda f: f.at):
        latest[one.incident_id] = one
    return latest


def data_until(store: Store, model: str, until: datetime | None, now: datetime) -> datetime:
    """The end of a screen's time range: ``until`` when given, else the end of the model's
    latest data, else ``now``."""
    if until is not None:
        return ensure_utc(until)
    latest = store.profiles.last_window_end(model=model)
    return latest if latest is not None else now


def before(series: Series, end: datetime) -> Series:
    """The steps of ``series`` before ``end``."""
    stop = int(np.searchsorted(series.timestamps, np.datetime64(end.replace(tzinfo=None), "s")))
    return series.slice(0, stop)

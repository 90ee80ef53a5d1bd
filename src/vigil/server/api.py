"""The JSON API under ``/v1``: models, series, incidents, feedback, silences, health.

Request bodies are validated by pydantic (the trust boundary); responses are built from the
store's values by the ``*_json`` functions, so the dashboard and the API say the same thing.
Writes need the write token as ``Authorization: Bearer``; reads need a token only when the
server has a read token.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import AfterValidator, BaseModel, Field
from starlette.requests import Request

from vigil.core import ConfigError, ConflictError
from vigil.detect import Anomaly
from vigil.incidents import (
    Feedback,
    Incident,
    IncidentState,
    Silence,
    Verdict,
    incident_record,
)
from vigil.server.auth import Guard, Role
from vigil.server.feedback import record_feedback
from vigil.server.views import ModelSummary, before, data_until, model_summaries, model_summary
from vigil.stats import Series
from vigil.store import Store


def _no_nul(text: str) -> str:
    """Refuse NUL characters: the store keeps these strings as text, and PostgreSQL's text
    cannot hold NUL (a 422 that says so, rather than a failed write)."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


Text = Annotated[str, AfterValidator(_no_nul)]


class FeedbackIn(BaseModel):
    verdict: Verdict
    by: Text = Field(default="", max_length=200)
    note: Text = Field(default="", max_length=2000)
    revision: int | None = Field(default=None, ge=1)
    """The incident's revision the verdict was given on (from ``GET /v1/incidents/{id}``):
    when it has changed since, the verdict is refused with 409. Without it the verdict is
    applied to the incident as it is."""


class SilenceIn(BaseModel):
    matchers: dict[Text, Text] = Field(default_factory=dict)
    starts: datetime | None = None
    expires: datetime | None = None
    duration_hours: float | None = Field(default=None, gt=0, le=24 * 366)
    reason: Text = Field(min_length=1, max_length=2000)
    created_by: Text = Field(default="", max_length=200)


def api_router(store: Store, guard: Guard, clock: Callable[[], datetime]) -> APIRouter:
    def can_read(request: Request) -> None:
        if not guard.can_read(request):
            raise HTTPException(401, "a read token is required", {"WWW-Authenticate": "Bearer"})

    def can_write(request: Request) -> None:
        if guard.bearer_role(request) < Role.WRITE:
            raise HTTPException(401, "the write token is required", {"WWW-Authenticate": "Bearer"})

    reader = APIRouter(prefix="/v1", dependencies=[Depends(can_read)])
    writer = APIRouter(prefix="/v1", dependencies=[Depends(can_write)])

    @reader.get("/models")
    def list_models() -> list[dict[str, Any]]:
        return [summary_json(s) for s in model_summaries(store, now=clock())]

    @reader.get("/models/{model:path}")
    def get_model(model: str) -> dict[str, Any]:
        incidents = store.incidents.get(model=model)
        if not incidents and model not in store.profiles.models():
            raise HTTPException(404, f"no model named {model!r}")
        return summary_json(model_summary(store, model, incidents, now=clock()))

    @reader.get("/series")
    def get_series(
        model: str,
        version: str | None = None,
        family: str | None = None,
        column: str | None = None,
        statistic: str | None = None,
        hours: Annotated[float, Query(gt=0, le=24 * 400)] = 24 * 7,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The ``hours`` before ``until``: by default the end of the model's latest data (a
        model that stopped, or a replayed month, shows its data, not an empty now)."""
        end = data_until(store, model, until, clock())
        since = end - timedelta(hours=hours)
        found = store.series.get(model=model, version=version, family=family, since=since)
        return [
            series_json(before(s, end))
            for s in found
            if (column is None or s.key.column == column)
            and (statistic is None or s.key.statistic == statistic)
        ]

    @reader.get("/incidents")
    def list_incidents(
        model: str | None = None, state: Annotated[list[IncidentState] | None, Query()] = None
    ) -> list[dict[str, Any]]:
        incidents = store.incidents.get(model=model, states=state)
        verdicts = {f.incident_id: f for f in store.feedback.get()}
        return [incident_json(i, verdicts.get(i.id), anomalies=False) for i in incidents]

    @reader.get("/incidents/{incident_id}")
    def get_incident(incident_id: str) -> dict[str, Any]:
        incident = _incident_or_404(store, incident_id)
        feedback = store.feedback.get(incident_id)
        body = incident_json(incident, feedback[-1] if feedback else None, anomalies=True)
        body["feedback"] = [feedback_json(f) for f in feedback]
        return body

    @reader.get("/feedback")
    def list_feedback(incident_id: str | None = None) -> list[dict[str, Any]]:
        return [feedback_json(f) for f in store.feedback.get(incident_id)]

    @reader.get("/silences")
    def list_silences() -> list[dict[str, Any]]:
        return [silence_json(s, now=clock()) for s in store.silences.get()]

    @writer.post("/incidents/{incident_id}/feedback", status_code=201)
    def post_feedback(incident_id: str, body: FeedbackIn) -> dict[str, Any]:
        incident = _incident_or_404(store, incident_id)
        feedback = Feedback(
            incident_id=incident_id, verdict=body.verdict, at=clock(), by=body.by, note=body.note
        )
        try:
            _, silences = record_feedback(store, incident, feedback, revision=body.revision)
        except ConflictError as err:
            raise HTTPException(409, str(err)) from err
        return {**feedback_json(feedback), "silences": [s.id for s in silences]}

    @writer.post("/silences", status_code=201)
    def post_silence(body: SilenceIn) -> dict[str, Any]:
        silence = build_silence(body, now=clock())
        store.silences.put(silence)
        return silence_json(silence, now=clock())

    @writer.delete("/silences/{silence_id}", status_code=204)
    def delete_silence(silence_id: str) -> Response:
        if not store.silences.delete(silence_id):
            raise HTTPException(404, f"no silence {silence_id!r}")
        return Response(status_code=204)

    router = APIRouter()
    router.include_router(reader)
    router.include_router(writer)
    return router


def build_silence(body: SilenceIn, *, now: datetime) -> Silence:
    """A new silence from a request; a bad one is a 422 quoting what is wrong."""
    starts = body.starts or now
    if body.expires is not None:
        expires = body.expires
    elif body.duration_hours is not None:
        try:
            expires = starts + timedelta(hours=body.duration_hours)
        except OverflowError:
            raise HTTPException(422, "the silence would end after the year 9999") from None
    else:
        raise HTTPException(422, "a silence needs expires or duration_hours")
    matchers = {name: pattern for name, pattern in body.matchers.items() if pattern}
    try:
        return Silence(
            id=f"sil-{uuid.uuid4().hex[:12]}",
            matchers=matchers,
            starts=starts,
            expires=expires,
            reason=body.reason,
            created_by=body.created_by,
        )
    except (ConfigError, TypeError) as err:
        raise HTTPException(422, str(err)) from err


def _incident_or_404(store: Store, incident_id: str) -> Incident:
    incident = store.incidents.find(incident_id)
    if incident is None:
        raise HTTPException(404, f"no incident {incident_id!r}")
    return incident


def summary_json(summary: ModelSummary) -> dict[str, Any]:
    return {
        "model": summary.model,
        "status": summary.status.value,
        "families": {name: light.value for name, light in summary.lights.items()},
        "open_incidents": summary.open_incidents,
        "incidents": summary.incidents,
        "last_window_at": _time(summary.last_window_at),
        "last_window_rows": summary.last_window_rows,
        "versions": list(summary.versions),
    }


def series_json(series: Series) -> dict[str, Any]:
    seconds = series.timestamps.astype("datetime64[s]").astype(np.int64)
    support = series.support if series.support is not None else np.full(len(series), np.nan)
    stderr = series.stderr if series.stderr is not None else np.full(len(series), np.nan)
    return {
        "key": {
            "model": series.key.model,
            "version": series.key.version,
            "family": series.key.family,
            "column": series.key.column,
            "statistic": series.key.statistic,
        },
        "timestamps": [int(s) for s in seconds],
        "values": [_finite(v) for v in series.values],
        "support": [_finite(v) for v in support],
        "stderr": [_finite(v) for v in stderr],
    }


def incident_json(
    incident: Incident, verdict: Feedback | None, *, anomalies: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        **incident_record(incident),  # the fields ``vigil incidents --json`` prints
        "severity": _finite(incident.severity),
        "updated_at": _time(incident.updated_at),
        "last_anomaly_at": _time(incident.last_anomaly_at),
        "anomaly_count": len(incident.anomalies),
        "members": list(incident.members),
        "downgraded": incident.downgraded,
        "verdict": None if verdict is None else verdict.verdict.value,
        "revision": incident.revision,
    }
    if anomalies:
        body["anomalies"] = [anomaly_json(a) for a in incident.anomalies]
    return body


def anomaly_json(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "series": str(anomaly.key),
        "timestamp": _time(anomaly.timestamp),
        "value": _finite(anomaly.value),
        "expected": _finite(anomaly.expected),
        "lower": _finite(anomaly.lower),
        "upper": _finite(anomaly.upper),
        "score": _finite(anomaly.score),
        "severity": _finite(anomaly.severity),
        "detector": anomaly.detector,
    }


def feedback_json(feedback: Feedback) -> dict[str, Any]:
    return {
        "incident_id": feedback.incident_id,
        "verdict": feedback.verdict.value,
        "at": _time(feedback.at),
        "by": feedback.by,
        "note": feedback.note,
    }


def silence_json(silence: Silence, *, now: datetime) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": dict(silence.matchers),
        "starts": _time(silence.starts),
        "expires": _time(silence.expires),
        "reason": silence.reason,
        "created_by": silence.created_by,
        "active": silence.is_active(now),
    }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _finite(value: float) -> float | None:
    """JSON has no NaN: missing numbers are null."""
    number = float(value)
    return number if math.isfinite(number) else None

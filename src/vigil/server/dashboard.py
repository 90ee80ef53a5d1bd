"""The dashboard: server-rendered pages (Jinja2 with autoescape), charts as inline SVG.

Pages: models (``/``), one model (``/models/{model}``), incidents (``/incidents``), one
incident with feedback buttons (``/incidents/{id}``), silences (``/silences``) and ``/login``.
Every name that comes from data (models, features, summaries, reasons) is escaped by Jinja's
autoescape; nothing is marked safe except the SVG that :mod:`.charts` builds from numbers.
Forms post URL-encoded bodies, parsed here with the standard library (no multipart parser).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigil.core import ConfigError, ConflictError
from vigil.incidents import Feedback, IncidentState, Silence, Verdict
from vigil.server.auth import COOKIE, Guard, Role, same_origin, session_value
from vigil.server.charts import format_number
from vigil.server.feedback import record_feedback
from vigil.server.live import LiveStatus
from vigil.server.pages import incident_charts, model_page
from vigil.server.views import is_open, latest_verdicts, model_summaries
from vigil.store import Store

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"
FORM_LIMIT_BYTES = 16 * 1024
MATCHER_FIELDS = ("model", "version", "family", "column", "statistic")


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = format_number
    env.filters["when"] = _when
    env.filters["url"] = lambda value: quote(str(value), safe="")
    return env


def dashboard_router(
    store: Store,
    guard: Guard,
    clock: Callable[[], datetime],
    live: Callable[[], LiveStatus] | None = None,
) -> APIRouter:
    """The pages; ``live`` says what became of the rows ingested (shown above the models)."""
    env = environment()
    router = APIRouter(include_in_schema=False)

    def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        role = guard.cookie_role(request)
        page = env.get_template(name).render(
            now=clock(), can_write=role >= Role.WRITE, logged_in=role > Role.NONE,
            path=request.url.path, **context,
        )  # fmt: skip
        return HTMLResponse(page, status_code=status)

    def login_redirect(request: Request) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path, safe='')}", 303)

    def readable(request: Request) -> bool:
        return guard.reads_are_open or guard.cookie_role(request) >= Role.READ

    @router.get("/")
    def models(request: Request) -> Response:
        if not readable(request):
            return login_redirect(request)
        summaries = model_summaries(store, now=clock())
        recent = sorted(store.incidents.get(), key=lambda i: i.opened_at, reverse=True)
        open_incidents = [i for i in recent if is_open(i)]
        return render(
            request,
            "models.html.j2",
            models=summaries,
            incidents=open_incidents[:20],
            live=live() if live is not None else None,
        )

    @router.get("/models/{model:path}")
    def model(
        request: Request, model: str, hours: float = 24 * 7, version: str = "", all: int = 0
    ) -> Response:
        if not readable(request):
            return login_redirect(request)
        if math.isnan(hours):
            raise HTTPException(422, "hours must be a number")
        hours = min(max(hours, 1.0), 24 * 90)
        page = model_page(
            store, model, now=clock(), hours=hours, version=version or None, show_all=bool(all)
        )
        empty = not page.incidents and not any(f.charts or f.hidden for f in page.families)
        if empty and model not in store.profiles.models():
            return render(request, "missing.html.j2", 404, what=f"model {model}")
        return render(request, "model.html.j2", page=page, show_all=bool(all))

    @router.get("/incidents")
    def incidents(request: Request, state: str = "") -> Response:
        if not readable(request):
            return login_redirect(request)
        states = [IncidentState(state)] if state in set(IncidentState) else None
        found = sorted(store.incidents.get(states=states), key=lambda i: i.opened_at, reverse=True)
        verdicts = latest_verdicts(store.feedback.get())
        return render(request, "incidents.html.j2", incidents=found, verdicts=verdicts, state=state)

    @router.get("/incidents/{incident_id}")
    def incident(request: Request, incident_id: str) -> Response:
        if not readable(request):
            return login_redirect(request)
        found = store.incidents.find(incident_id)
        if found is None:
            return render(request, "missing.html.j2", 404, what=f"incident {incident_id}")
        feedback = sorted(store.feedback.get(incident_id), key=lambda f: f.at)
        verdict = feedback[-1] if feedback else None
        charts = incident_charts(store, found, now=clock())
        return render(
            request, "incident.html.j2", incident=found, feedback=feedback, verdict=verdict,
            charts=charts,
        )  # fmt: skip

    @router.post("/incidents/{incident_id}/feedback")
    async def give_feedback(request: Request, incident_id: str) -> Response:
        form = await _writable_form(request, guard)
        if form is None:
            return login_redirect(request)
        try:
            verdict = Verdict(form.get("verdict", ""))
        except ValueError:
            raise HTTPException(422, "verdict must be 'confirmed' or 'false_alarm'") from None
        incident = store.incidents.find(incident_id)
        if incident is None:
            raise HTTPException(404, f"no incident {incident_id!r}")
        feedback = Feedback(
            incident_id=incident_id,
            verdict=verdict,
            at=clock(),
            by=form.get("by", "")[:200],
            note=form.get("note", "")[:2000],
        )
        try:
            record_feedback(store, incident, feedback)
        except ConflictError as err:
            raise HTTPException(409, str(err)) from err
        return RedirectResponse(f"/incidents/{quote(incident_id, safe='')}", 303)

    @router.get("/silences")
    def silences(request: Request, error: str = "") -> Response:
        if not readable(request):
            return login_redirect(request)
        listed = sorted(store.silences.get(), key=lambda s: s.expires, reverse=True)
        return render(request, "silences.html.j2", silences=listed, error=error,
                      fields=MATCHER_FIELDS)  # fmt: skip

    @router.post("/silences")
    async def add_silence(request: Request) -> Response:
        form = await _writable_form(request, guard)
        if form is None:
            return login_redirect(request)
        now = clock()
        try:
            hours = _hours(form.get("hours", ""))
            if not 0 < hours <= 24 * 366:
                raise ConfigError(f"duration must be between 0 and 8784 hours, got {hours}")
            silence = Silence(
                id=f"sil-{uuid.uuid4().hex[:12]}",
                matchers={f: form[f] for f in MATCHER_FIELDS if form.get(f)},
                starts=now,
                expires=now + timedelta(hours=hours),
                reason=form.get("reason", ""),
                created_by=form.get("by", "")[:200],
            )
        except ConfigError as err:
            return RedirectResponse(f"/silences?error={quote(str(err), safe='')}", 303)
        store.silences.put(silence)
        return RedirectResponse("/silences", 303)

    @router.post("/silences/{silence_id}/delete")
    async def remove_silence(request: Request, silence_id: str) -> Response:
        if await _writable_form(request, guard) is None:
            return login_redirect(request)
        store.silences.delete(silence_id)
        return RedirectResponse("/silences", 303)

    @router.get("/login")
    def login_page(request: Request, next: str = "/", failed: int = 0) -> Response:
        return render(request, "login.html.j2", next=_local(next), failed=bool(failed))

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await _form(request)
        target = _local(form.get("next", "/"))
        role = guard.role_of_token(form.get("token", ""))
        if role is Role.NONE:
            return RedirectResponse(f"/login?failed=1&next={quote(target, safe='')}", 303)
        response = RedirectResponse(target, 303)
        response.set_cookie(
            COOKIE, session_value(form["token"]), httponly=True, samesite="strict",
            secure=request.url.scheme == "https", max_age=12 * 3600,
        )  # fmt: skip
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE)
        return response

    return router


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for piece in request.stream():
        body += piece
        if len(body) > FORM_LIMIT_BYTES:
            raise HTTPException(413, f"form larger than {FORM_LIMIT_BYTES} bytes")
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    form = {name: values[-1].strip() for name, values in parsed.items()}
    if any("\x00" in text for item in form.items() for text in item):
        raise HTTPException(422, "form fields must not contain NUL characters")
    return form


async def _writable_form(request: Request, guard: Guard) -> dict[str, str] | None:
    """The form of a dashboard write, or ``None`` when the session may not write."""
    if not same_origin(request):
        raise HTTPException(403, "cross-site form posts are refused")
    if guard.cookie_role(request) < Role.WRITE:
        return None
    return await _form(request)


def _hours(text: str) -> float:
    try:
        return float(text or "nan")
    except ValueError:
        raise ConfigError(f"duration must be a number of hours, got {text[:40]!r}") from None


def _local(target: str) -> str:
    """Only same-site paths after login (no open redirect to another host)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "–"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

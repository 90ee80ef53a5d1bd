"""``create_app``: the FastAPI application, built from settings with no module globals.

Routes: ``POST /v1/ingest`` (this module), the JSON API (:mod:`.api`), ``/metrics``,
``/v1/health`` and the dashboard (:mod:`.dashboard`). Store and spool can be passed in (tests
pass fakes); otherwise they are opened from the settings and closed at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

from vigil.core import SchemaError, StoreError
from vigil.pipeline.gauges import read_gauges
from vigil.server.api import api_router
from vigil.server.auth import Guard, Role
from vigil.server.connections import deadline_protocol
from vigil.server.dashboard import FORM_LIMIT_BYTES, STATIC_DIR, dashboard_router
from vigil.server.ingest import ParsedBody, parse_body
from vigil.server.limits import BodyLimit, BodyTooLargeError
from vigil.server.live import LivePipeline, LiveStatus, spool_only_status
from vigil.server.metrics import CONTENT_TYPE, ServerCounters, metrics_registry, render_metrics
from vigil.server.realtime import RealtimeFeed, realtime_feed, realtime_router
from vigil.server.settings import ServerSettings
from vigil.server.spool import HiveSpool, Spool, request_stem
from vigil.server.views import model_summaries
from vigil.store import Store

logger = logging.getLogger(__name__)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages run no script at all, so an injected one could not run even if escaping failed.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def create_app(
    settings: ServerSettings,
    *,
    store: Store | None = None,
    spool: Spool | None = None,
    live: LivePipeline | None = None,
) -> FastAPI:
    """The Vigil server for ``settings``; ``store``/``spool`` default to ones opened from it.

    With ``live``, the server also runs the pipeline on what it spools (``vigil serve --run``),
    starting and stopping it with the app.
    """
    owns_store = store is None
    if store is None:
        from vigil.store import SqlStore

        store = SqlStore(settings.store_url)
    the_store: Store = store
    the_spool: Spool = spool if spool is not None else HiveSpool(settings.spool_dir)
    guard = Guard(token=settings.token, read_token=settings.read_token)
    counters = ServerCounters()
    registry = metrics_registry(
        counters,
        read_gauges=lambda: read_gauges(the_store, now=settings.clock()),
        read_summaries=lambda: model_summaries(the_store, now=settings.clock()),
    )
    gate = threading.BoundedSemaphore(settings.queue_size)
    uploads = _Uploads(settings.max_uploads_per_client)
    completed = _CompletedKeys()
    feed: RealtimeFeed | None = realtime_feed(settings, the_store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if feed is not None:
            feed.start()
        if live is not None:
            live.start()
        yield
        if live is not None:
            await run_in_threadpool(live.stop)
        if feed is not None:
            feed.stop()
        if owns_store:
            the_store.close()

    # No Swagger UI: it loads its scripts from a CDN. The schema is at /v1/openapi.json.
    app = FastAPI(
        title="Vigil", lifespan=lifespan, docs_url=None, redoc_url=None,
        openapi_url="/v1/openapi.json",
    )  # fmt: skip
    app.state.settings = settings
    app.state.counters = counters
    app.state.realtime = feed
    app.state.live = live

    def live_status() -> LiveStatus:
        if live is not None:
            return live.status()
        accepted = counters.registry.get_sample_value("vigil_ingest_rows_accepted_total")
        return spool_only_status(int(accepted or 0))

    app.state.http_protocol = deadline_protocol(
        header_timeout_s=settings.header_timeout_s, body_timeout_s=settings.body_timeout_s
    )

    # Added first, so it sits inside the request counter and its 413s are counted too.
    app.add_middleware(BodyLimit, max_bytes=FORM_LIMIT_BYTES * 4, exempt={"/v1/ingest"})

    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", None) or "(unmatched)"
        counters.count_request(request.method, template, response.status_code)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def throttled() -> Response:
        counters.count_throttled()
        return _error(429, "the write queue is full; retry after the given seconds", settings)

    @app.post("/v1/ingest")
    async def ingest(request: Request) -> Response:
        """Read the body, then validate rows, quarantine the bad ones and make the good ones
        durable, all or nothing, then answer (see docs/server.md)."""
        if guard.bearer_role(request) < Role.WRITE:
            return JSONResponse(
                {"detail": "the write token is required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            return _too_large(settings)
        key = request.headers.get("idempotency-key")
        if key is not None and not _KEY.fullmatch(key):
            return JSONResponse({"detail": _KEY_RULE}, status_code=400)
        client = request.client.host if request.client else ""
        if not uploads.begin(client):
            counters.count_throttled()
            detail = f"this client already sends {settings.max_uploads_per_client} uploads"
            return _error(429, f"{detail}; retry after the given seconds", settings)
        try:
            body = await asyncio.wait_for(
                _read_body(request, settings.max_body_bytes), settings.body_timeout_s
            )
        except BodyTooLargeError:
            return _too_large(settings)
        except TimeoutError:
            detail = f"the body did not arrive within {settings.body_timeout_s:g} s"
            return JSONResponse({"detail": detail}, status_code=408)
        except ClientDisconnect:  # nobody is left to answer; nothing was kept
            return Response(status_code=400)
        finally:
            uploads.end(client)
        # Only a body that has arrived takes a queue slot: slow uploads cannot hold the queue.
        if not gate.acquire(blocking=False):
            return throttled()
        try:
            content_type = request.headers.get("content-type", "application/x-ndjson")
            source = f"http:/v1/ingest#{request_stem(key)[:16]}"
            try:
                parsed = await run_in_threadpool(
                    _ingest, body, content_type, source, key, settings, the_store, the_spool
                )
            except SchemaError as err:
                return JSONResponse({"detail": str(err)}, status_code=400)
            except (StoreError, OSError) as err:
                # The client learns that nothing was kept and that it may retry; paths and SQL
                # stay in the server's log, under an id the client can quote.
                error_id = uuid.uuid4().hex[:12]
                logger.error(
                    "ingest %s (error %s) could not be made durable: %s", source, error_id, err
                )
                return _error(503, _UNAVAILABLE.format(error_id=error_id), settings)
        finally:
            gate.release()
        if not completed.first_time(key):  # a retry of a request already kept: nothing new
            return _ingest_answer(parsed)
        if feed is not None:  # after the spool: only durable rows reach the monitors
            feed.submit(parsed.batch)
        counters.count_ingest(
            accepted=parsed.accepted, rejected=len(parsed.quarantined), body_bytes=len(body)
        )
        if live is not None:
            live.received(parsed.accepted)
        logger.info(
            "ingest %s: rows=%d accepted=%d quarantined=%d",
            source, parsed.rows, parsed.accepted, len(parsed.quarantined),
        )  # fmt: skip
        return _ingest_answer(parsed)

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        """Liveness plus whether the store answers; never needs a token (load balancers)."""
        try:
            the_store.profiles.models()
            store_state = "ok"
        except StoreError as err:
            store_state = f"error: {err}"
        return {"status": "ok" if store_state == "ok" else "degraded", "store": store_state}

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        if not guard.can_read(request):
            return PlainTextResponse("a read token is required\n", status_code=401)
        return Response(render_metrics(registry), media_type=CONTENT_TYPE)

    app.include_router(api_router(the_store, guard, settings.clock))
    app.include_router(realtime_router(feed, guard))
    app.include_router(dashboard_router(the_store, guard, settings.clock, live_status))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _ingest(
    body: bytes,
    content_type: str,
    source: str,
    key: str | None,
    settings: ServerSettings,
    store: Store,
    spool: Spool,
) -> ParsedBody:
    """Keep a request's rows all or nothing: its quarantined rows (replacing those of an earlier
    attempt with the same key), then its accepted lines; if the lines cannot be made durable,
    the quarantined rows are taken back and the error raised, so the client may retry."""
    now = settings.clock()
    parsed = parse_body(body, content_type, source=source, now=now, limits=settings.limits)
    models = {partition[0] for partition in parsed.groups}
    if len(models) > settings.max_models_per_request:
        raise SchemaError(
            f"the request holds rows of {len(models)} models; at most "
            f"{settings.max_models_per_request} are accepted in one request: split it by model"
        )
    if key is not None:
        store.quarantine.delete([source])
    if parsed.quarantined:
        store.quarantine.put(parsed.quarantined, now=now)
    try:
        spool.write(parsed.groups, key=key)
    except OSError:
        if parsed.quarantined:
            _take_back(store, source)
        raise
    return parsed


def _take_back(store: Store, source: str) -> None:
    try:
        store.quarantine.delete([source])
    except StoreError as err:  # the client retries; the retry replaces these rows
        logger.error("ingest %s: could not take its quarantined rows back: %s", source, err)


def _ingest_answer(parsed: ParsedBody) -> Response:
    return JSONResponse(
        {
            "accepted": parsed.accepted,
            "rejected": [
                {"position": row.position, "reason": row.reason} for row in parsed.quarantined
            ],
        }
    )


_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_KEY_RULE = (
    "Idempotency-Key must be 1 to 128 characters of letters, digits and . _ : - "
    "(one key per request, the same on every retry of it)"
)
_UNAVAILABLE = (
    "could not store the rows; nothing was accepted. Retry later, with the same "
    "Idempotency-Key if you sent one (error {error_id} in the server's log)"
)


class _Uploads:
    """Ingest bodies being received per client address, at most ``limit`` each."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._active: dict[str, int] = {}
        self._lock = threading.Lock()

    def begin(self, client: str) -> bool:
        with self._lock:
            if self._active.get(client, 0) >= self._limit:
                return False
            self._active[client] = self._active.get(client, 0) + 1
            return True

    def end(self, client: str) -> None:
        with self._lock:
            left = self._active[client] - 1
            if left:
                self._active[client] = left
            else:
                del self._active[client]


class _CompletedKeys:
    """The idempotency keys of the latest requests kept (a bounded set), so that a retry of a
    request whose answer was lost is not fed to the monitors or counted a second time."""

    def __init__(self, size: int = 10_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, key: str | None) -> bool:
        if key is None:
            return True
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return False
            self._keys[key] = None
            if len(self._keys) > self._size:
                self._keys.popitem(last=False)
            return True


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` (a missing Content-Length is no bypass)."""
    pieces: list[bytes] = []
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > limit:
            raise BodyTooLargeError
        pieces.append(piece)
    return b"".join(pieces)


def _too_large(settings: ServerSettings) -> Response:
    return JSONResponse(
        {"detail": f"the body is larger than {settings.max_body_bytes} bytes; send smaller ones"},
        status_code=413,
    )


def _error(status: int, detail: str, settings: ServerSettings) -> Response:
    return JSONResponse(
        {"detail": detail},
        status_code=status,
        headers={"Retry-After": str(settings.retry_after_s)},
    )

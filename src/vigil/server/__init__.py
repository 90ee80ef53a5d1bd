"""The Vigil server: ingest endpoint, JSON API, Prometheus metrics and the dashboard.

``create_app(ServerSettings(...))`` builds the FastAPI application with no module globals;
``vigil serve`` builds the settings from flags and runs it with uvicorn.
"""

from vigil.server.app import create_app
from vigil.server.background import serve_in_background, uvicorn_options
from vigil.server.ingest import ParsedBody, parse_body
from vigil.server.live import LivePipeline, LiveStatus
from vigil.server.metrics import ServerCounters, metrics_registry, render_metrics
from vigil.server.settings import ServerSettings
from vigil.server.spool import HiveSpool, MemorySpool, Spool

__all__ = [
    "HiveSpool",
    "LivePipeline",
    "LiveStatus",
    "MemorySpool",
    "ParsedBody",
    "ServerCounters",
    "ServerSettings",
    "Spool",
    "create_app",
    "metrics_registry",
    "parse_body",
    "render_metrics",
    "serve_in_background",
    "uvicorn_options",
]

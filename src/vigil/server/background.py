"""Running the app under uvicorn in a background thread: for tests, notebooks and demos.

Binds 127.0.0.1 on a free port (or the one given), waits until uvicorn accepts connections,
and stops it on exit, so a caller never leaves a server behind.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from vigil.core import ConfigError


def uvicorn_options(app: FastAPI) -> dict[str, Any]:
    """What every Vigil server needs of uvicorn, whoever starts it (``uvicorn.run(app,
    **uvicorn_options(app), …)``): the app's connection deadlines
    (:mod:`vigil.server.connections`)."""
    protocol = getattr(app.state, "http_protocol", None)
    return {"http": protocol or "auto"}


@contextmanager
def serve_in_background(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 30.0
) -> Iterator[str]:
    """Serve ``app`` while the block runs; yields its base URL (``http://host:port``)."""
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on", **uvicorn_options(app)
        )
    )
    thread = threading.Thread(target=server.run, name=f"vigil-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=start_timeout_s)

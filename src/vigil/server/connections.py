"""Connections that must bring their request in time, or are closed.

uvicorn gives an idle keep-alive connection a few seconds, but no deadline at all to a
connection that sends half a request head, or a body a byte at a time: a few such clients,
with no token even, held the server's connections for ever. :func:`deadline_protocol` makes
uvicorn's HTTP/1.1 protocol close a connection whose request head is not complete within
``header_timeout_s`` of its first byte (or of the previous response), and one whose body is not
complete within ``body_timeout_s`` after that. The ingest route also bounds its own body read
(see :mod:`vigil.server.app`), so a slow upload never holds a write-queue slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def deadline_protocol(*, header_timeout_s: float, body_timeout_s: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, with the deadlines above (pass it as ``uvicorn.Config(http=…)``)."""

    class DeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(header_timeout_s, self._head_late)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():  # the next request's head starts its clock
                self._arm(header_timeout_s, self._head_late)

        def _arm(self, seconds: float, late: Callable[[], None]) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, late)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _head_late(self) -> None:
            state = self.conn.their_state
            if state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()  # no (complete) request head in time
            elif state is h11.SEND_BODY:
                self._arm(body_timeout_s, self._body_late)

        def _body_late(self) -> None:
            if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol

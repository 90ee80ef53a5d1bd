"""``HttpSink``: posts JSON lines to the Vigil ingest endpoint with ``urllib`` (no dependencies).

Retries follow what the failure means: 429 and 503 honour ``Retry-After`` (seconds or an HTTP
date), other 5xx answers and network errors back off exponentially, and any other 4xx fails at
once (sending the same body again would be refused again). Every wait is capped by
``max_backoff_s`` so a misbehaving server cannot park the background thread for an hour.

Once a batch has failed, the next batches get one attempt each until one gets through: retrying
every batch against a server that is known to be down (or hanging) only holds the logger's
thread while its buffer fills. A failed batch is the logger's to spill or count.
The longest one ``write`` can take is ``(max_retries + 1) * timeout_s`` plus the backoffs
(16.5 s with the defaults); ``timeout_s`` bounds each blocking socket operation.

Every attempt at one batch carries the same ``Idempotency-Key``, a hash of the batch's bytes, so
a retry after a timeout or a 503 (when the server may have kept the rows after all), or a
spilled batch sent again later, replaces what an earlier attempt left instead of adding a copy.
"""

from __future__ import annotations

import hashlib
import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email.message import Message
from email.utils import parsedate_to_datetime

from vigil_sdk._version import __version__
from vigil_sdk.errors import ConfigError, SinkError

_RETRY_AFTER_CODES = (429, 503)


def retry_after_s(headers: Message, *, now: float) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or ``None`` when absent/unreadable."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


class HttpSink:
    """POSTs batches to ``{url}/v1/ingest`` as ``application/x-ndjson`` with a bearer token.

    Proxies are used only when passed in (``proxies={"https": ...}``): the SDK reads no
    environment variables. ``sleep`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout_s: float = 5.0,
        max_retries: int = 2,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        proxies: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"url must start with http:// or https://, got {url!r}")
        if not timeout_s > 0:
            raise ConfigError(f"timeout_s must be positive, got {timeout_s!r}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries!r}")
        if backoff_s < 0 or max_backoff_s < 0:
            raise ConfigError(f"backoffs must be >= 0, got {backoff_s!r} and {max_backoff_s!r}")
        self.endpoint = url.rstrip("/") + "/v1/ingest"
        self._headers = {
            "Content-Type": "application/x-ndjson",
            "User-Agent": f"vigil-sdk/{__version__}",
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(dict(proxies or {})))
        self._sleep = sleep
        self._clock = clock
        self.retries = 0
        self._failing = False

    def write(self, lines: list[bytes]) -> None:
        """Deliver one batch or raise :class:`SinkError` once retries are used up."""
        if not lines:
            return
        body = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        key = hashlib.sha256(body).hexdigest()[:32]
        problem = ""
        attempts = 1 if self._failing else self._max_retries + 1
        self._failing = True  # until an attempt succeeds, also when a 4xx raises below
        for attempt in range(attempts):
            delay, problem = self._attempt(body, attempt, key)
            if delay is None:
                self._failing = False
                return
            if attempt < attempts - 1:
                self.retries += 1
                self._sleep(min(delay, self._max_backoff_s))
        raise SinkError(f"POST {self.endpoint} failed after {attempts} attempts: {problem}")

    def _attempt(self, body: bytes, attempt: int, key: str) -> tuple[float | None, str]:
        """One POST: ``(None, "")`` on success, else the delay before the next try and why."""
        headers = {**self._headers, "Idempotency-Key": key}
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        backoff = self._backoff_s * 2**attempt
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                response.read()
            return None, ""
        except urllib.error.HTTPError as err:
            with err:
                detail = err.read(500).decode("utf-8", "replace")
                problem = f"HTTP {err.code}: {detail}"
                if err.code in _RETRY_AFTER_CODES:
                    waited = retry_after_s(err.headers, now=self._clock())
                    return (backoff if waited is None else waited), problem
                if err.code >= 500:
                    return backoff, problem
                raise SinkError(f"POST {self.endpoint} was refused: {problem}") from err
        except (OSError, http.client.HTTPException) as err:  # network errors, bad responses
            return backoff, f"{type(err).__name__}: {err}"

    def close(self) -> None:
        """Nothing to release: each batch is one short-lived connection."""

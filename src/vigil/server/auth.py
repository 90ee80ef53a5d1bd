"""Who may do what: bearer tokens for the API, a signed session cookie for the dashboard.

Every comparison is constant-time (:func:`hmac.compare_digest`) so response timing does not
leak a token byte by byte. The dashboard never stores a token in the browser: logging in sets
a cookie holding ``HMAC(token, "vigil-session")``, which proves knowledge of the token without
revealing it, is ``HttpOnly`` (no script reads it) and ``SameSite=Strict`` (no other site's form
sends it). Dashboard writes also refuse a foreign ``Origin`` header, a second guard against
cross-site requests.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import IntEnum

from starlette.requests import Request

COOKIE = "vigil_session"


class Role(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2


def session_value(token: str) -> str:
    """The cookie value that stands for ``token``."""
    return hmac.new(token.encode(), b"vigil-session", hashlib.sha256).hexdigest()


class Guard:
    """Decides the :class:`Role` of a request from its bearer token or session cookie."""

    def __init__(self, *, token: str, read_token: str | None) -> None:
        self._token = token.encode()
        self._read_token = None if read_token is None else read_token.encode()
        self._write_session = session_value(token).encode()
        self._read_session = None if read_token is None else session_value(read_token).encode()

    @property
    def reads_are_open(self) -> bool:
        return self._read_token is None

    def role_of_token(self, token: str) -> Role:
        presented = token.encode()
        # Both comparisons always run, so timing does not tell which token was close.
        is_writer = hmac.compare_digest(presented, self._token)
        is_reader = self._read_token is not None and hmac.compare_digest(
            presented, self._read_token
        )
        return Role.WRITE if is_writer else Role.READ if is_reader else Role.NONE

    def bearer_role(self, request: Request) -> Role:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return Role.NONE
        return self.role_of_token(token.strip())

    def cookie_role(self, request: Request) -> Role:
        presented = request.cookies.get(COOKIE, "").encode()
        is_writer = hmac.compare_digest(presented, self._write_session)
        is_reader = self._read_session is not None and hmac.compare_digest(
            presented, self._read_session
        )
        return Role.WRITE if is_writer else Role.READ if is_reader else Role.NONE

    def can_read(self, request: Request) -> bool:
        if self.reads_are_open:
            return True
        return max(self.bearer_role(request), self.cookie_role(request)) >= Role.READ


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.partition("://")[2] == host

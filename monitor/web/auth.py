"""Who may act in the console: read-only without a token; with MONITOR_WEB_TOKEN, those who
give it (a login form that opens a session, or `Authorization: Bearer`), every action a
POST that carries its session's CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

COOKIE = "veille_session"
SESSION_SECONDS = 12 * 3600


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    expires: float = field(default_factory=lambda: time.monotonic() + SESSION_SECONDS)
    flash: str | None = None  # one message for the next page, then gone


@dataclass(frozen=True)
class Visitor:
    """What a request may do: read always, act when it is authenticated."""

    can_act: bool
    session: Session | None  # a browser's session (a Bearer client has none)

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


class Gate:
    def __init__(self, token: str | None) -> None:
        self.token = token or None
        self._sessions: dict[str, Session] = {}

    @property
    def protected(self) -> bool:
        return self.token is not None

    def matches(self, given: str) -> bool:
        """The token, compared in constant time (digests: not even its length shows)."""
        assert self.token is not None
        return hmac.compare_digest(_digest(given), _digest(self.token))

    def visitor(self, request: web.Request) -> Visitor | None:
        """Who sends `request`; None when a token is required and not given."""
        if not self.protected:
            return Visitor(can_act=False, session=None)
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and bearer and self.matches(bearer.strip()):
            return Visitor(can_act=True, session=None)
        session = self._session(request.cookies.get(COOKIE, ""))
        return Visitor(can_act=True, session=session) if session else None

    def _session(self, key: str) -> Session | None:
        session = self._sessions.get(key)
        if session is None:
            return None
        if session.expires < time.monotonic():
            del self._sessions[key]
            return None
        return session

    def open_session(self, response: web.StreamResponse) -> None:
        now = time.monotonic()
        for stale in [k for k, s in self._sessions.items() if s.expires < now]:
            del self._sessions[stale]
        key = secrets.token_urlsafe(32)
        self._sessions[key] = Session()
        response.set_cookie(
            COOKIE, key, max_age=SESSION_SECONDS, httponly=True, samesite="Strict", path="/"
        )

    def close_session(self, request: web.Request, response: web.StreamResponse) -> None:
        self._sessions.pop(request.cookies.get(COOKIE, ""), None)
        response.del_cookie(COOKIE, path="/")

    @staticmethod
    def csrf_ok(visitor: Visitor, form_token: str) -> bool:
        """A browser's action carries its session's token; a Bearer client sends no cookie,
        so another site cannot make it act, and needs none."""
        if visitor.session is None:
            return True
        return hmac.compare_digest(form_token.encode(), visitor.session.csrf.encode())


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()

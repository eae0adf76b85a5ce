"""Who may act in the console: read-only without a token; with MONITOR_WEB_TOKEN, those who
give it (a login form that opens a session, or `Authorization: Bearer`), every action a
POST that carries its session's CSRF token.

Sessions are kept by the browser, not by the server: the session cookie holds an expiry
and a random id, signed (HMAC-SHA256) with a key derived from the token, and the CSRF
token is that id signed too. A restart, or another instance started with the same token,
recognises the session; changing the token ends every session. Logging out deletes the
cookie; a copy of it taken before stays good until it expires, which changing the token
cuts short.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from monitor.display import shorten

COOKIE = "veille_session"
FLASH_COOKIE = "veille_flash"  # one message for the next page, then gone
# Characters of that message: encoded and signed, it stays under the 4 kB that browsers
# keep of a cookie (a longer cookie would be dropped, and the message with it).
FLASH_CHARS = 600
SESSION_SECONDS = 12 * 3600
# The key is stretched (scrypt, once at start): a stolen cookie must not make guessing a
# weak token cheap. The salt only separates this use of the token from any other.
KEY_SALT = b"veille web console sessions"
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class Session:
    id: str
    expires: int  # Unix time
    csrf: str


@dataclass(frozen=True)
class Visitor:
    """What a request may do: read always, act when it is authenticated."""

    can_act: bool
    session: Session | None  # a browser's session (a Bearer client has none)

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


class Gate:
    def __init__(self, token: str | None, clock: Callable[[], float] = time.time) -> None:
        self.token = token or None
        self._key = hashlib.scrypt(token.encode(), salt=KEY_SALT, **SCRYPT) if token else b""
        self._clock = clock

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

    def _session(self, cookie: str) -> Session | None:
        """The session a cookie opened, when this key signed it and it has not expired."""
        payload = self._unseal("session", cookie)
        expires, _, session_id = (payload or "").partition(":")
        if not expires.isdigit() or not session_id or int(expires) <= self._clock():
            return None
        return Session(session_id, int(expires), self._sign("csrf", session_id))

    def open_session(self, response: web.StreamResponse) -> None:
        expires = int(self._clock()) + SESSION_SECONDS
        cookie = self._seal("session", f"{expires}:{secrets.token_urlsafe(24)}")
        _set_cookie(response, COOKIE, cookie, SESSION_SECONDS)

    @staticmethod
    def close_session(response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/")

    def flash(self, response: web.StreamResponse, message: str) -> None:
        """Show `message` on the next page this browser asks for."""
        shown = shorten(message, FLASH_CHARS).encode()
        encoded = base64.urlsafe_b64encode(shown).decode().rstrip("=")
        _set_cookie(response, FLASH_COOKIE, self._seal("flash", encoded), 300)

    def take_flash(self, request: web.Request, response: web.StreamResponse) -> str | None:
        """The message left for this page (deleted with `response`), if any."""
        if FLASH_COOKIE not in request.cookies:
            return None
        response.del_cookie(FLASH_COOKIE, path="/")
        encoded = self._unseal("flash", request.cookies[FLASH_COOKIE])
        if encoded is None:
            return None
        try:
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None

    @staticmethod
    def csrf_ok(visitor: Visitor, form_token: str) -> bool:
        """A browser's action carries its session's token; a Bearer client sends no cookie,
        so another site cannot make it act, and needs none."""
        if visitor.session is None:
            return True
        return hmac.compare_digest(form_token.encode(), visitor.session.csrf.encode())

    def _seal(self, purpose: str, payload: str) -> str:
        return f"{payload}.{self._sign(purpose, payload)}"

    def _unseal(self, purpose: str, value: str) -> str | None:
        """The payload of a value `_seal` made for `purpose`; None for anything else."""
        payload, _, signature = value.rpartition(".")
        expected = self._sign(purpose, payload)
        if not payload or not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        return payload

    def _sign(self, purpose: str, payload: str) -> str:
        # The purpose is signed too: a flash message can never pass for a session.
        mac = hmac.new(self._key, f"{purpose}\n{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _set_cookie(response: web.StreamResponse, name: str, value: str, seconds: int) -> None:
    response.set_cookie(name, value, max_age=seconds, httponly=True, samesite="Strict", path="/")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()

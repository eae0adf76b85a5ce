"""The operator's web console (`monitor web`): sources and their health, recent alerts with
right/wrong buttons, deliveries, a digest preview, a rule playground, and an Atom feed of
alerts. Server-rendered, no script, no asset from elsewhere.

Pages read through the public API (`monitor.api.Monitor`); the only writes are the
actions (poll now, a verdict, a retry), each a POST checked by `monitor.web.auth`.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from monitor.api import (
    VERDICTS,
    AlertItem,
    BadQuery,
    Monitor,
    QueryScores,
    UnknownName,
    Verdict,
    labeled_articles,
)
from monitor.errors import MonitorError
from monitor.hygiene import mask
from monitor.store.feedback import UnknownAlert
from monitor.web.auth import Gate, Visitor
from monitor.web.pages import environment

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECURITY_HEADERS = {
    # Everything from this server, nothing inline: a title that smuggled markup past the
    # escaping still could not run a script or load anything.
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
STATIC = {"style.css": "text/css", "icon.svg": "image/svg+xml"}  # name -> content type
ALERTS_SHOWN = 50
STORIES_SHOWN = 50
FEED_ENTRIES = 50
DEFAULT_DAYS, MAX_DAYS = 30, 3650
MAX_UPLOAD = 16 * 1024 * 1024  # a labeled file for the playground
SAME_SITE_PATH = re.compile(r"/(?![/\\])[^\s\\\x00-\x1f\x7f]*")
VISITOR = web.RequestKey("visitor", Visitor)  # who sends the request
NAV = (
    ("/", "Sources"),
    ("/alerts", "Alerts"),
    ("/stories", "Stories"),
    ("/deliveries", "Deliveries"),
    ("/digest", "Digest"),
    ("/playground", "Playground"),
)


class Console:
    def __init__(self, monitor: Monitor, token: str | None) -> None:
        self.monitor = monitor
        self.gate = Gate(token)
        self.templates = environment()
        static = files("monitor.web").joinpath("static")
        self.static = {name: static.joinpath(name).read_bytes() for name in STATIC}

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._headers, self._authenticate], client_max_size=MAX_UPLOAD
        )
        app.router.add_get("/", self.sources)
        app.router.add_post("/sources/{id}/poll", self._action(self.poll))
        app.router.add_get("/alerts", self.alerts)
        app.router.add_post("/alerts/{id}/verdict", self._action(self.verdict))
        app.router.add_get("/stories", self.stories)
        app.router.add_get("/deliveries", self.deliveries)
        app.router.add_post("/deliveries/{id}/retry", self._action(self.retry))
        app.router.add_get("/digest", self.digest)
        app.router.add_get("/playground", self.playground)
        app.router.add_post("/playground", self.score_file)
        app.router.add_get("/feeds/alerts.atom", self.feed)
        app.router.add_get("/login", self.login_form)
        app.router.add_post("/login", self.login)
        app.router.add_post("/logout", self.logout)
        app.router.add_get("/static/{name}", self.asset)
        return app

    # -- middlewares --------------------------------------------------------------------------

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(SECURITY_HEADERS)
            raise
        response.headers.update(SECURITY_HEADERS)
        return response

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/login" or request.path.startswith("/static/"):
            return await handler(request)
        visitor = self.gate.visitor(request)
        if visitor is None:
            if request.method == "GET" and not request.path.startswith("/feeds/"):
                raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
            raise web.HTTPUnauthorized(
                text="a token is required (MONITOR_WEB_TOKEN)",
                headers={"WWW-Authenticate": 'Bearer realm="veille"'},
            )
        request[VISITOR] = visitor
        return await handler(request)

    def _action(self, act: Callable[[web.Request], Awaitable[str]]) -> Handler:
        """A POST that changes something: allowed to authenticated visitors whose form
        carries their CSRF token; afterwards, back to the page it came from."""

        async def handle(request: web.Request) -> web.StreamResponse:
            visitor = request[VISITOR]
            if not visitor.can_act:
                raise web.HTTPForbidden(text="read-only console: set MONITOR_WEB_TOKEN to act")
            form = await self._checked_form(request)
            try:
                message = await act(request)
            except MonitorError as exc:
                message = f"refused: {mask(str(exc))}"
            response = web.HTTPSeeOther(_back_to(str(form.get("back", "/"))))
            if visitor.session is not None:
                self.gate.flash(response, message)
            raise response

        return handle

    async def _checked_form(self, request: web.Request) -> MultiDictProxy[Any]:
        """The posted form, when it carries the visitor's CSRF token."""
        form = await request.post()
        if not self.gate.csrf_ok(request[VISITOR], str(form.get("csrf", ""))):
            raise web.HTTPForbidden(text="stale or missing form token: reload the page")
        return form

    # -- rendering ------------------------------------------------------------------------------

    def _page(self, request: web.Request, template: str, **context: Any) -> web.Response:
        visitor: Visitor = request[VISITOR]
        response = web.Response(content_type="text/html", charset="utf-8")
        flash = self.gate.take_flash(request, response) if visitor.session else None
        common = {
            "nav": NAV,
            "here": request.path,
            "back": str(request.rel_url),  # percent-encoded, as _back_to wants it
            "visitor": visitor,
            "protected": self.gate.protected,
            "flash": flash,
        }
        response.text = self.templates.get_template(template).render({**common, **context})
        return response

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(body=self.static[name], content_type=STATIC[name])

    # -- pages ----------------------------------------------------------------------------------

    async def sources(self, request: web.Request) -> web.Response:
        return self._page(request, "sources.html", sources=await self.monitor.sources())

    async def _recent_alerts(
        self, request: web.Request, limit: int
    ) -> tuple[str | None, list[AlertItem]]:
        """The rule of `?rule=` (None: every rule) and its latest alerts."""
        rule_id = request.query.get("rule") or None
        try:
            return rule_id, await self.monitor.alerts(limit, rule_id)
        except UnknownName as exc:
            raise web.HTTPNotFound(text=str(exc)) from None

    async def alerts(self, request: web.Request) -> web.Response:
        rule_id, alerts = await self._recent_alerts(request, ALERTS_SHOWN)
        return self._page(
            request,
            "alerts.html",
            alerts=alerts,
            rule=rule_id,
            rules=self.monitor.config.rules,
            wrong=await self.monitor.wrong_counts(),
            verdicts=VERDICTS,
        )

    async def stories(self, request: web.Request) -> web.Response:
        stories = await self.monitor.stories(STORIES_SHOWN)
        return self._page(request, "stories.html", stories=stories)

    async def deliveries(self, request: web.Request) -> web.Response:
        return self._page(
            request,
            "deliveries.html",
            pending=await self.monitor.deliveries("pending"),
            failed=await self.monitor.deliveries("failed"),
            sent=await self.monitor.deliveries("sent", limit=20),
        )

    async def digest(self, request: web.Request) -> web.Response:
        digests = sorted(self.monitor.config.digests)
        name = request.query.get("name") or (digests[0] if digests else None)
        preview, problem = None, None
        if name is not None:
            try:
                preview = await self.monitor.digest_preview(name, "text")
            except UnknownName as exc:
                problem = str(exc)
        return self._page(
            request, "digest.html", digests=digests, name=name, preview=preview, problem=problem
        )

    async def playground(self, request: web.Request) -> web.Response:
        return await self._playground(request, request.query)

    async def score_file(self, request: web.Request) -> web.Response:
        """The playground, plus both queries scored on an uploaded labeled file. A POST
        for the upload's sake; it changes nothing, but carries the CSRF token all the same."""
        form = await self._checked_form(request)
        upload = form.get("labeled")
        if not isinstance(upload, web.FileField):
            return await self._playground(request, form, file_problem="choose a labeled file")
        rule_id, query = str(form.get("rule", "")), str(form.get("query", ""))
        try:
            scores = await asyncio.to_thread(
                self._score_upload, rule_id, query, upload.file.read(), upload.filename
            )
        except MonitorError as exc:
            return await self._playground(request, form, file_problem=str(exc))
        return await self._playground(request, form, file_scores=scores, file_name=upload.filename)

    def _score_upload(self, rule_id: str, query: str, data: bytes, name: str) -> QueryScores:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "labeled.jsonl"
            path.write_bytes(data)
            articles = labeled_articles(path, name)
        return self.monitor.score_query(rule_id, query, articles)

    async def _playground(
        self, request: web.Request, asked: Mapping[str, Any], **scored: Any
    ) -> web.Response:
        rules = self.monitor.config.rules
        rule_id = str(asked.get("rule") or (rules[0].id if rules else ""))
        known = {r.id: r for r in rules}
        if rule_id not in known:
            raise web.HTTPNotFound(text=f"unknown or disabled rule {rule_id!r}")
        query = str(asked.get("query") or known[rule_id].query)
        days = _days(str(asked.get("days", "")))
        trial, problem = None, None
        try:
            trial = await self.monitor.try_query(rule_id, query, days)
        except BadQuery as exc:
            problem = str(exc)
        return self._page(
            request,
            "playground.html",
            rules=rules,
            rule_id=rule_id,
            query=query,
            days=days,
            trial=trial,
            problem=problem,
            **{"file_scores": None, "file_name": None, "file_problem": None, **scored},
        )

    async def feed(self, request: web.Request) -> web.Response:
        rule_id, alerts = await self._recent_alerts(request, FEED_ENTRIES)
        self_url = str(request.url.with_query({"rule": rule_id} if rule_id else {}))
        body = self.templates.get_template("alerts.atom").render(
            alerts=alerts,
            rule=rule_id,
            self_url=self_url,
            updated=alerts[0].view.created_at if alerts else datetime.now(UTC),
        )
        return web.Response(text=body, content_type="application/atom+xml", charset="utf-8")

    # -- actions --------------------------------------------------------------------------------

    async def poll(self, request: web.Request) -> str:
        source_id = request.match_info["id"]
        summary = await self.monitor.poll(source_id, force=True)
        return f"polled {source_id}: " + "; ".join(summary.lines()[:3])

    async def verdict(self, request: web.Request) -> str:
        form = await request.post()
        verdict = str(form.get("verdict", ""))
        if verdict not in VERDICTS:
            raise web.HTTPBadRequest(text=f"verdict must be one of: {', '.join(VERDICTS)}")
        alert_id = _number(request.match_info["id"])
        try:
            await self.monitor.feedback(alert_id, cast(Verdict, verdict))
        except UnknownAlert as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return f"alert {alert_id} marked {verdict}"

    async def retry(self, request: web.Request) -> str:
        delivery_id = _number(request.match_info["id"])
        if not await self.monitor.retry([delivery_id]):
            return f"delivery {delivery_id} is not failed (or unknown): nothing queued"
        return f"delivery {delivery_id} queued again: `monitor run` sends it"

    # -- login ------------------------------------------------------------------------------------

    async def login_form(self, request: web.Request) -> web.Response:
        return self._login_page(request, problem=None)

    def _login_page(self, request: web.Request, problem: str | None) -> web.Response:
        request[VISITOR] = Visitor(can_act=False, session=None)
        status = 401 if problem else 200
        response = self._page(
            request,
            "login.html",
            next=_back_to(request.query.get("next", "/")),
            problem=problem,
            nav=(),
        )
        response.set_status(status)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not self.gate.protected:
            raise web.HTTPSeeOther("/")
        form = await request.post()
        if not self.gate.matches(str(form.get("token", ""))):
            return self._login_page(request, problem="wrong token")
        response = web.HTTPSeeOther(_back_to(str(form.get("next", "/"))))
        self.gate.open_session(response)
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        await self._checked_form(request)
        response = web.HTTPSeeOther("/login")
        self.gate.close_session(response)
        raise response


def _back_to(path: str) -> str:
    """Only a path of this site: `//host`, `/\\host` or `http://host` would send the visitor
    away, and browsers drop tabs and newlines from URLs (`/<tab>/host` is `//host`)."""
    return path if SAME_SITE_PATH.fullmatch(path) else "/"


def _number(text: str) -> int:
    if not text.isdigit():
        raise web.HTTPNotFound(text=f"not an id: {text!r}")
    return int(text)


def _days(text: str) -> int:
    return min(max(int(text), 1), MAX_DAYS) if text.isdigit() else DEFAULT_DAYS

"""/healthz, /readyz and /metrics over HTTP (`monitor run --http 127.0.0.1:9108`).

- /healthz: 200 while the process answers; an answer is itself the proof that its event
  loop turns (a blocked loop answers nothing, and the health check times out).
- /readyz: 200 when the configuration is loaded, the database answers and the scheduler
  runs; 503 otherwise, naming what is not ready (also while a reload starts anew).
- /metrics: the Prometheus text format (see `monitor.observe.metrics`).

The server outlives the services that a SIGHUP restarts: each one is attached in turn.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from apscheduler.schedulers.base import STATE_RUNNING

from monitor.config import Config
from monitor.config.service import BindAddress
from monitor.errors import CannotListen
from monitor.hygiene import mask
from monitor.observe.metrics import CONTENT_TYPE_LATEST, Metrics
from monitor.store import Store

log = logging.getLogger(__name__)
DATABASE_TIMEOUT = 5.0  # seconds: a readiness probe must answer before the prober gives up


class Observed(Protocol):
    """What the endpoints look at in a running service (`monitor.app.Service`)."""

    store: Store
    config: Config
    scheduler: Any  # the AsyncIOScheduler, once `serve` has started it


class ObserveServer:
    def __init__(self, address: BindAddress, metrics: Metrics, instance_id: str) -> None:
        self.address = address
        self.metrics = metrics
        self.instance_id = instance_id
        self.service: Observed | None = None
        self._started = time.monotonic()
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.scrape)
        self._runner = web.AppRunner(app, access_log=None)
        self.listening = False

    @property
    def health_url(self) -> str:
        """/healthz as this machine reaches it (an address of every interface, through
        loopback)."""
        host = self.address.host
        with suppress(ValueError):  # "localhost"
            if ipaddress.ip_address(host).is_unspecified:
                host = "::1" if ":" in host else "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.address.port}/healthz"

    async def start(self) -> None:
        """Listen, or raise CannotListen."""
        if not self.address.loopback:
            log.warning(
                "health and metrics listen on %s, beyond this machine: anyone who reaches it "
                "sees source ids and counts; bind 127.0.0.1 or filter the port",
                self.address,
            )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address.host, self.address.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise CannotListen(
                f"cannot serve health and metrics on {self.address}: {exc.strerror or exc}"
            ) from exc
        self.listening = True
        log.info("health and metrics on http://%s/ (healthz, readyz, metrics)", self.address)

    async def stop(self) -> None:
        if self.listening:
            await self._runner.cleanup()
            self.listening = False

    @contextmanager
    def watching(self, service: Observed) -> Iterator[None]:
        """Show `service` while it runs (its configuration labels the metrics)."""
        config = service.config
        self.metrics.configure(
            self.instance_id,
            config.version,
            (s.id for s in config.sources),
            (r.id for r in config.rules),
            config.channels,
        )
        self.service = service
        try:
            yield
        finally:
            self.service = None

    async def healthz(self, _request: web.Request) -> web.Response:
        uptime = round(time.monotonic() - self._started, 1)
        return web.json_response(
            {"status": "alive", "instance_id": self.instance_id, "uptime_seconds": uptime}
        )

    async def readyz(self, _request: web.Request) -> web.Response:
        checks = await self.checks()
        ready = all(state == "ok" for state in checks.values())
        body = {"ready": ready, "instance_id": self.instance_id, "checks": checks}
        return web.json_response(body, status=200 if ready else 503)

    async def checks(self) -> dict[str, str]:
        service = self.service
        if service is None:
            return {"configuration": "not loaded (reloading)"}
        scheduler = service.scheduler
        running = scheduler is not None and scheduler.state == STATE_RUNNING
        return {
            "configuration": "ok",
            "database": await self._database(service.store),
            "scheduler": "ok" if running else "not running",
        }

    async def _database(self, store: Store) -> str:
        try:
            await asyncio.wait_for(store.ping(), DATABASE_TIMEOUT)
        except TimeoutError:
            return f"no answer within {DATABASE_TIMEOUT:.0f}s"
        except Exception as exc:  # any driver error: the database is not usable now
            first_line = (str(exc).strip().splitlines() or [""])[0]
            return mask(f"unreachable: {type(exc).__name__}: {first_line}"[:300])
        return "ok"

    async def scrape(self, _request: web.Request) -> web.Response:
        if self.service is not None:
            await self._read_database(self.service.store)
        return web.Response(
            body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _read_database(self, store: Store) -> None:
        """Outbox and source health; when the database is down, the counters still go out
        (/readyz says why)."""
        try:
            pending, oldest = await asyncio.wait_for(store.outbox_backlog(), DATABASE_TIMEOUT)
            states = await asyncio.wait_for(store.source_states(), DATABASE_TIMEOUT)
        except Exception as exc:  # any driver error: keep the last values
            log.debug("metrics: database not read: %r", exc)
            return
        self.metrics.set_outbox(pending, oldest, datetime.now(UTC))
        self.metrics.set_sources(states)

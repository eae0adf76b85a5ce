"""The operator's web console, served by `monitor web` (see `monitor.web.app`)."""

from __future__ import annotations

import logging

from aiohttp import web

from monitor.api import Monitor
from monitor.app import Control
from monitor.config.service import BindAddress
from monitor.errors import MonitorError
from monitor.web.app import Console

__all__ = ["Console", "ConsoleRefused", "serve_console"]
log = logging.getLogger(__name__)


class ConsoleRefused(MonitorError):
    """The console cannot be served as asked: an open address without a token, or an
    address that cannot be bound."""


def check_exposure(bind: BindAddress, token: str | None) -> None:
    """Anyone who reaches a non-loopback address could act: only with a token."""
    if not bind.loopback and not token:
        raise ConsoleRefused(
            f"refusing to serve the console on {bind} without a token: set "
            "MONITOR_WEB_TOKEN, or bind a loopback address such as 127.0.0.1:8080"
        )


async def serve_console(
    monitor: Monitor, bind: BindAddress, token: str | None, control: Control
) -> None:
    """Serve the console on `bind` until `control.stop` is set."""
    check_exposure(bind, token)
    runner = web.AppRunner(Console(monitor, token).app(), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, bind.host, bind.port).start()
        except OSError as exc:
            raise ConsoleRefused(
                f"cannot serve the console on {bind}: {exc.strerror or exc}"
            ) from None
        mode = "actions need the token" if token else "read-only (no MONITOR_WEB_TOKEN)"
        log.info("web console on http://%s/ (%s); Ctrl-C to stop", bind, mode)
        await control.stop.wait()
    finally:
        await runner.cleanup()

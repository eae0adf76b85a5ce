"""Logging: one line per event on standard error, `key=value` context in the message.

Log lines quote URLs and titles that came from outside or from the configuration: every
line is masked (no credentials, see `monitor.hygiene`) and stripped of control characters
(no terminal escapes) before it is written. apprise logs the URLs it is given, tokens
included, so its records are masked at the source, whichever handler receives them.
"""

from __future__ import annotations

import logging
import sys

from monitor.hygiene import mask, printable

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now, not to the one there was at set-up time
    (test runners and embedding applications swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class _CleanFormatter(logging.Formatter):
    """The whole line, traceback included, masked and without control characters."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(mask(super().format(record)))


class _MaskingFilter(logging.Filter):
    """Rewrites a record's message with its URLs masked, for handlers that are not ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = printable(mask(record.getMessage()))
        record.args = None
        return True


def mask_apprise_records() -> None:
    apprise_logger = logging.getLogger("apprise")
    if not any(isinstance(f, _MaskingFilter) for f in apprise_logger.filters):
        apprise_logger.addFilter(_MaskingFilter())


def setup_logging(level: str = "INFO") -> None:
    handler = _StderrHandler()
    handler.setFormatter(_CleanFormatter(_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that are chatty at INFO: keep their warnings only.
    for noisy in (
        "apprise",
        "aiohttp.access",
        "trafilatura",
        "htmldate",
        "apscheduler",
        "alembic",
        "sqlalchemy.engine",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))

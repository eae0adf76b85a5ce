"""Logging: one line per event on standard error, `key=value` context in the message.

Two formats: the human one (the default) and JSON lines (`--log-format json`,
`MONITOR_LOG_FORMAT=json` or `[service] log_format`), one object per line with `time`,
`level`, `logger`, `message` and, when known, `source_id`, `article_id`, `rule_id`,
`delivery_id` and `instance_id`. Those fields come from `log_context`, a context
variable that the pipeline and the dispatcher set around the work of one source, article
or delivery (asyncio tasks each see their own), or from `extra=` on a log call.

Every time is ISO 8601 in UTC with its offset (`2026-03-02T07:30:00+00:00`): the time of
the line and, through `log_time`, those quoted in messages, so that one line never mixes
offsets.

Log lines quote URLs and titles that came from outside or from the configuration: every
line is masked (no credentials, see `monitor.hygiene`) and stripped of control characters
(no terminal escapes) before it is written. apprise logs the URLs it is given, tokens
included, so its records are masked at the source, whichever handler receives them.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType

from monitor.hygiene import mask, printable

LOG_FORMATS = ("human", "json")  # what `use_log_format` takes
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# The fields a JSON line carries when they are known, in this order.
CONTEXT_FIELDS = ("source_id", "article_id", "rule_id", "delivery_id")
_context: ContextVar[Mapping[str, str]] = ContextVar(
    "monitor_log_context", default=MappingProxyType({})
)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Within this block (and the tasks it starts), log records carry these fields."""
    known = {name: str(value) for name, value in fields.items() if value is not None}
    token = _context.set({**_context.get(), **known})
    try:
        yield
    finally:
        _context.reset(token)


def log_time(moment: datetime) -> str:
    """A time quoted in a log message: UTC, to the second, with its offset."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r} in a log message")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _line_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _clean(text: str) -> str:
    return printable(mask(text))


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

    def __init__(self) -> None:
        super().__init__(_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _line_time(record)

    def format(self, record: logging.LogRecord) -> str:
        return _clean(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record; every string masked and without control characters
    (a newline in a message or traceback is escaped by JSON: one record, one line)."""

    def __init__(self, instance_id: str) -> None:
        super().__init__()
        self.instance_id = instance_id

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": _line_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": _clean(record.getMessage()),
        }
        context = _context.get()
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            value = context.get(name) if value is None else value
            if value is not None:
                line[name] = _clean(str(value))
        line["instance_id"] = _clean(self.instance_id)
        if record.exc_info:
            line["exception"] = _clean(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class _MaskingFilter(logging.Filter):
    """Rewrites a record's message with its URLs masked, for handlers that are not ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _clean(record.getMessage())
        record.args = None
        return True


def mask_apprise_records() -> None:
    apprise_logger = logging.getLogger("apprise")
    if not any(isinstance(f, _MaskingFilter) for f in apprise_logger.filters):
        apprise_logger.addFilter(_MaskingFilter())


def setup_logging(level: str = "INFO") -> None:
    handler = _StderrHandler()
    handler.setFormatter(_CleanFormatter())
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


def use_log_format(log_format: str, instance_id: str) -> None:
    """Switch the lines `setup_logging` set up to `log_format` ("human" or "json")."""
    formatter = JsonFormatter(instance_id) if log_format == "json" else _CleanFormatter()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _StderrHandler):
            handler.setFormatter(formatter)

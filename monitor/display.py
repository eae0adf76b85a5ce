"""What people read on the terminal: times in the display zone with that zone named,
text cut to a width with an ellipsis, and a progress line written over in place.

Logs have their own convention (monitor.log); messages to recipients use the templates'
`date` filter (monitor.notify.render), which reads the same zone.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from monitor.records import PassProgress

DISPLAY_ZONE = ZoneInfo("Europe/Paris")
ELLIPSIS = "…"
_BREAKS = re.compile(r"[ \t\r\n]+")  # not the no-break space of French typography


def local_time(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M %Z") -> str:
    """`value` in the display zone, by default with the zone's name ("2026-12-04 16:05
    CET", "2026-07-01 09:30 CEST"); '' for None. A naive time is taken as UTC, the only
    zone the store writes."""
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(DISPLAY_ZONE).strftime(pattern)


def shorten(text: str, width: int) -> str:
    """`text` on one line, cut at a word boundary to at most `width` characters, with "…"
    when it is longer (a single word longer than that is cut inside)."""
    flat = _BREAKS.sub(" ", text).strip()
    if len(flat) <= width:
        return flat
    room = width - len(ELLIPSIS)
    head = flat[: room + 1]  # one character more: does the cut fall between two words?
    cut = head.rsplit(" ", 1)[0] if " " in head else head[:room]
    return cut.rstrip(" ,;:.\u00a0\u202f–—-") + ELLIPSIS


class ProgressLine:
    """One line on a terminal, written over in place as a pass goes on."""

    EVERY = 0.1  # seconds between two drawings: a fast pass is not slowed by its display

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False
        self.drawn_at = -self.EVERY

    def update(self, done: PassProgress) -> None:
        now = time.monotonic()
        if now - self.drawn_at < self.EVERY:
            return
        self.drawn_at = now
        alerts = f"{done.alerts} alert{'s' if done.alerts != 1 else ''}"
        text = (
            f"{done.sources_read}/{done.sources} sources · "
            f"{done.articles_written}/{done.articles} articles · {alerts}"
        )
        # Longer than the terminal, it would wrap, and the next drawing would not cover it.
        width = shutil.get_terminal_size().columns - 1
        self.stream.write("\r\x1b[K" + shorten(text, width))
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def clear_for_log(self, _record: logging.LogRecord) -> bool:
        """A log handler's filter: the line goes before a log line is written (the next
        update draws it again under it)."""
        self.clear()
        return True


@contextmanager
def progress_line(stream: TextIO) -> Iterator[Callable[[PassProgress], None] | None]:
    """What to report a pass's progress to: a line rewritten in place on a terminal;
    nothing when `stream` is a file or a pipe, where it would only be noise."""
    if not stream.isatty():
        yield None
        return
    line = ProgressLine(stream)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(line.clear_for_log)
    try:
        yield line.update
    finally:
        for handler in handlers:
            handler.removeFilter(line.clear_for_log)
        line.clear()

"""Values as people read them on the terminal: times in the display zone with that zone
named, and text cut to a width with an ellipsis.

Logs have their own convention (monitor.log); messages to recipients use the templates'
`date` filter (monitor.notify.render), which reads the same zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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
    """`text` on one line, cut to at most `width` characters with "…" when it is longer."""
    flat = _BREAKS.sub(" ", text).strip()
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + ELLIPSIS

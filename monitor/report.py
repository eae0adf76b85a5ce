"""Tables for the terminal (`monitor sources`, `monitor alerts`), with rich.

Every cell is a `Text`, never markup: titles, errors and URLs come from outside, and a
title such as `[/]` would crash rich, `[link=...]` would hide a hyperlink in the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.config import Config
from monitor.display import local_time, shorten
from monitor.hygiene import mask, printable
from monitor.listings import per_day, source_status

if TYPE_CHECKING:
    # Only the records' types: a listing without a database does not load the store.
    from monitor.store import DeliveryRecord, SourceState

_STATUS_STYLE = {
    "error": "red",
    "ok": "green",
    "warning": "yellow",
    "failing": "red",
    "never": "dim",
    "sent": "green",
    "pending": "yellow",
    "failed": "red",
}


def styled(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def cell(text: str, limit: int | None = None) -> Text:
    """Outside text as shown: literal, masked, without control characters, cut to `limit`
    with an ellipsis."""
    shown = printable(mask(text))
    return Text(shown if limit is None else shorten(shown, limit))


def sources_table(
    states: Sequence[SourceState],
    config: Config,
    now: datetime,
    poisoned: Mapping[str, int] | None = None,
) -> Table:
    """One row per source; `poisoned`: source id -> its pages that overran or crashed a
    worker when extracted (not fetched again after POISON_AFTER failures)."""
    table = Table(title="sources", header_style="bold")
    for column in (
        "id",
        "status",
        "last attempt",
        "last success",
        "next check",
        "failures",
        "items",
        "per day",
        "last error / warning",
    ):
        table.add_column(column, overflow="fold")
    for state in states:
        status = source_status(state, config, now)
        note = (
            f"[{state.last_error_kind}] {state.last_error}"
            if state.consecutive_failures
            else state.warning or (f"moved to {state.moved_to}" if state.moved_to else "")
        )
        if poisoned and poisoned.get(state.id):
            note = _poison_note(poisoned[state.id], note)
        table.add_row(
            cell(state.id),
            styled(status),
            local_time(state.last_attempt_at),
            local_time(state.last_success_at),
            local_time(state.next_check_at),
            str(state.consecutive_failures),
            str(state.items_seen),
            per_day(state, now),
            cell(note or "", 300),
        )
    return table


def _poison_note(pages: int, note: str) -> str:
    counted = f"{pages} page{'s' if pages > 1 else ''} too slow to extract or crashing a worker"
    return f"{note}; {counted}" if note else counted


def deliveries_table(records: Sequence[DeliveryRecord], status: str | None) -> Table:
    table = Table(title=Text(f"deliveries ({status or 'all'})"), header_style="bold")
    for column in (
        "id",
        "kind",
        "channel",
        "status",
        "attempts",
        "created",
        "sent",
        "about",
        "last error",
    ):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            str(record.id),
            cell(record.kind),
            cell(record.channel),
            styled(record.status),
            str(record.attempts),
            local_time(record.created_at),
            local_time(record.sent_at),
            cell(record.subject, 120),
            cell(record.last_error or "", 300),
        )
    return table


def print_table(table: Table) -> None:
    # Wide enough for errors in logs and pipes, where rich would otherwise assume 80 columns.
    Console(width=None if Console().is_terminal else 200).print(table)

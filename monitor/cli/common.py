"""What the commands share: exit codes, argument types, name checks, opening a `Monitor`
or, for what only reads the database, its lighter `Listings`.

Light on purpose: `monitor --help` imports every command module, so anything heavy
(the API, the configuration, the store) is imported inside the function that needs it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:
    from monitor.api import Monitor
    from monitor.config import Config
    from monitor.config.service import BindAddress
    from monitor.listings import Listings
    from monitor.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")
U = TypeVar("U")
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def duration_argument(
    check: Callable[[timedelta], timedelta] = lambda d: d,
) -> Callable[[str], timedelta]:
    """An argparse `type` for "30d", "2m"...: a bad value is a usage error naming it."""

    def parse(text: str) -> timedelta:
        from monitor.config.units import parse_duration

        try:
            return check(parse_duration(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def count_argument(minimum: int) -> Callable[[str], int]:
    """An argparse `type` for a whole number of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def date_argument(text: str) -> date:
    """An argparse `type` for YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def bind_argument(text: str) -> BindAddress:
    """An argparse `type` for HOST:PORT."""
    from monitor.config.service import parse_bind

    try:
        return parse_bind(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def unknown_names(what: str, names: Iterable[str], known: Sequence[str]) -> bool:
    """Print one line per name not in `known`, with the closest known one; True if any."""
    from monitor.config.validation import did_you_mean

    unknown = sorted(set(names) - set(known))
    for name in unknown:
        print(f"{what}: {name}{did_you_mean(name, known)}", file=sys.stderr)
    return bool(unknown)


def unknown_rules(config: Config, rule_ids: Iterable[str]) -> bool:
    """Say which of `rule_ids` name no enabled rule; True when some do not."""
    return unknown_names("unknown or disabled rule", rule_ids, [r.id for r in config.rules])


def with_monitor(
    settings: Settings, config: Config, work: Callable[[Monitor], Awaitable[T]], **options: Any
) -> T:
    """Run `work` on a `Monitor` opened on `config` (options as `Monitor` takes them)."""
    from monitor.api import Monitor

    return _run_on(Monitor(settings, config, **options), work)


def with_listings(
    settings: Settings, config: Config, work: Callable[[Listings], Awaitable[T]], empty: T
) -> T:
    """Run `work` on the listings of `config`'s database, opened without what fetching,
    matching and sending need; `empty` when there is no database yet: a listing must not
    create it."""
    from monitor.listings import database_exists, listings_on

    if not database_exists(settings, config):
        return empty
    return _run_on(listings_on(settings, config), work)


def _run_on(opened: AbstractAsyncContextManager[U], work: Callable[[U], Awaitable[T]]) -> T:
    import asyncio

    async def run() -> T:
        async with opened as entered:
            return await work(entered)

    return asyncio.run(run())


def say(line: str, *, error: bool = False) -> None:
    """One line of text that quotes feeds and URLs: no control characters, no secrets."""
    from monitor.config.edit import one_line
    from monitor.hygiene import mask

    print(one_line(mask(line)), file=sys.stderr if error else sys.stdout)

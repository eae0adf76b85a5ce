"""The console's templates: Jinja2 with autoescaping on for everything (HTML and Atom), and
the filters that show what comes from outside safely."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from monitor.hygiene import mask, printable
from monitor.match import Passage, RuleMatch
from monitor.notify.render import format_date


def http_url(value: str | None) -> str:
    """The URL when it is http(s); empty otherwise, and templates then show no link."""
    return value if value and urlsplit(value).scheme.lower() in ("http", "https") else ""


def marked(passage: Passage) -> Markup:
    """A passage with its matched terms in <mark>, every piece escaped."""
    return Markup("").join(
        Markup("<mark>{}</mark>").format(chunk) if is_mark else escape(chunk)
        for chunk, is_mark in passage.segments()
    )


def passages(details: Mapping[str, Any]) -> tuple[Passage, ...]:
    """The passages of a stored match (its RuleMatch as JSON)."""
    return RuleMatch.from_dict(dict(details)).passages


def percent(value: float | None) -> str:
    """A precision or recall; a dash when it is undefined (nothing fired, nothing to find)."""
    return "–" if value is None else f"{value:.0%}"


def iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=True,  # HTML and Atom alike: <, >, &, " and ' escaped everywhere
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        http_url=http_url,
        marked=marked,
        passages=passages,
        when=format_date,
        iso=iso,
        percent=percent,
        mask=mask,  # errors quote channel URLs: never their secrets
        printable=printable,  # XML 1.0 allows no control characters, even escaped
    )
    return env

"""Messages from Jinja2 templates, escaped for the format of each channel.

Templates live in `monitor/notify/templates/`; an operator overrides one by
putting a file of the same name in `alerts/templates/`. Every value printed
by `{{ ... }}` is sanitized and escaped for the template's format unless a
filter below already returned safe markup, so a template author cannot forget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from markupsafe import Markup

from monitor.display import local_time, shorten
from monitor.match import Passage
from monitor.notify.escape import (
    escape_html,
    escape_markdown,
    markdown_url,
    one_line,
    sanitize,
    sanitize_segments,
)
from monitor.notify.typography import FrenchTypography, plural

FORMATS = ("html", "markdown", "text")
_SUFFIX = {"html": "html", "markdown": "md", "text": "txt"}
SUBJECT_WIDTH = 90  # characters an inbox shows of a subject, about
_MARK = {
    "html": ('<strong style="background:#fff3a8">', "</strong>"),
    "markdown": ("**", "**"),
    "text": ("*", "*"),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    format: str
    text: str  # plain-text version (the text part of an email)


class Renderer:
    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[Any] = [FileSystemLoader(str(override_dir))] if override_dir else []
        loaders.append(PackageLoader("monitor.notify", "templates"))
        loader = ChoiceLoader(loaders)
        self._envs = {fmt: _environment(fmt, loader) for fmt in FORMATS}

    def render(self, name: str, fmt: str, context: Mapping[str, Any]) -> Rendered:
        """Render `<name>.subject.txt.j2` and `<name>.<fmt>.j2` (+ the text version)."""
        subject = self._envs["text"].get_template(f"{name}.subject.txt.j2").render(context)
        body = self._envs[fmt].get_template(f"{name}.{_SUFFIX[fmt]}.j2").render(context)
        text = (
            body
            if fmt == "text"
            else self._envs["text"].get_template(f"{name}.txt.j2").render(context)
        )
        return Rendered(one_line(subject), body.strip() + "\n", fmt, text.strip() + "\n")

    def check(self, name: str, context: Mapping[str, Any]) -> None:
        """Render every format once with sample data: a broken override fails at start-up."""
        for fmt in FORMATS:
            self.render(name, fmt, context)


def headline(title: str, label: str, width: int = SUBJECT_WIDTH) -> str:
    """`<title> — <label>` within `width`: the title is cut, the label kept, so that an inbox
    shows the news first and which rule found it last."""
    title, label = one_line(title), one_line(label)
    if not title:
        return label
    tail = f" — {label}"
    return shorten(title, max(width - len(tail), 20)) + tail


def beyond_title(passages: Sequence[Passage], title: str) -> list[Passage]:
    """The passages but those that only repeat the article's title, shown above them."""
    heading = _comparable(title)
    return [p for p in passages if p.field != "title" and _comparable(p.text) != heading]


def _comparable(text: str) -> str:
    """Case, spacing and a final full stop aside (pages often repeat the title as a sentence)."""
    return " ".join(sanitize(text).casefold().split()).rstrip(" .…!?;:")


def _environment(fmt: str, loader: Any) -> Environment:
    env = Environment(
        loader=loader,
        # Only HTML gets Jinja's autoescape; markdown and text are escaped by `finalize`.
        autoescape=fmt == "html",  # noqa: S701
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalizer(fmt),
        extensions=[FrenchTypography],
    )
    env.filters.update(
        marked=_marker(fmt),
        url=_url_filter(fmt),
        date=format_date,
        oneline=one_line,
        plural=plural,
        headline=headline,
    )
    return env


def _finalizer(fmt: str) -> Callable[[Any], Any]:
    def finalize(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, Markup):
            return value
        text = sanitize(str(value))
        return Markup(escape_markdown(text)) if fmt == "markdown" else text  # noqa: S704 - escaped

    return finalize


def _escape(fmt: str, text: str) -> str:
    if fmt == "html":
        return str(escape_html(text))
    if fmt == "markdown":
        return escape_markdown(text)
    return text


def _marker(fmt: str) -> Callable[[Passage], Markup]:
    opening, closing = _MARK[fmt]

    def marked(passage: Passage) -> Markup:
        parts = []
        # Sanitized as one text: a mention cut in two by a mark must still be defused.
        for chunk, is_mark in sanitize_segments(passage.segments()):
            escaped = _escape(fmt, " ".join(chunk.split("\n")))
            parts.append(f"{opening}{escaped}{closing}" if is_mark and escaped.strip() else escaped)
        return Markup("".join(parts))  # noqa: S704 - every chunk escaped above

    return marked


def _url_filter(fmt: str) -> Callable[[str], Markup | str]:
    def url(value: str) -> Markup | str:
        if urlsplit(value or "").scheme.lower() not in ("http", "https"):
            return ""  # templates show no link at all for anything but http(s)
        if fmt == "markdown":
            return Markup(markdown_url(value))  # noqa: S704 - percent-encoded
        return sanitize(value)  # HTML autoescape quotes it for the attribute

    return url


def format_date(value: datetime | None, pattern: str = "%d/%m/%Y %H:%M") -> str:
    """The templates' `date` filter: the French way, for recipients in the display zone."""
    return local_time(value, pattern)

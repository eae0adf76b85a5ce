"""Adding sources to sources.toml without rewriting it.

The operator's file is theirs: its comments, order and spacing are kept byte for byte.
New sources are appended as plain text, one commented `[[source]]` block each, after
checking that the result still reads as TOML and that every new source validates with
the file's own [defaults], so that a command never leaves a file `monitor check` refuses.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from monitor.config.sources import FetchSettings, SourceConfig, load_sources
from monitor.config.toml import TomlDoc, read_toml
from monitor.config.validation import validate
from monitor.errors import ConfigError, MonitorError
from monitor.hygiene import printable

SOURCES_FILE = "sources.toml"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_ID = 48  # leaves room for a "-2" suffix under the 64 characters an id may have
MAX_NAME = 120


class EditRefused(MonitorError):
    """The sources cannot be added: a duplicate, an invalid value, an unreadable file."""


@dataclass(frozen=True)
class NewSource:
    """A feed to append: what goes into its `[[source]]` table, and the comment above it."""

    id: str
    name: str
    url: str
    note: str = ""  # one comment line: where it came from


@dataclass
class SourcesFile:
    """sources.toml as it is on disk (absent: empty), with what a new source must not repeat."""

    path: Path
    text: str
    data: dict[str, Any]
    ids: set[str] = field(default_factory=set)
    urls: dict[str, str] = field(default_factory=dict)  # same_url key -> id
    pending: list[NewSource] = field(default_factory=list)  # added, not saved yet

    @classmethod
    def read(cls, root: Path) -> SourcesFile:
        if not root.is_dir():
            raise EditRefused(
                f"configuration directory not found: {root} "
                "(give it with --config DIR, or create one with `monitor init DIR`)"
            )
        path = root / SOURCES_FILE
        if not path.exists():
            return cls(path, "", {})
        try:
            doc = read_toml(path, SOURCES_FILE)
        except ConfigError as exc:
            raise EditRefused(f"cannot add to {exc.problems[0]}") from exc
        found = cls(path, doc.text, doc.data)
        for raw in _raw_sources(doc.data):
            found.remember(str(raw.get("id", "")), str(raw.get("url", "")))
        return found

    def remember(self, source_id: str, url: str) -> None:
        self.ids.add(source_id)
        if url:
            self.urls[same_url(url)] = source_id

    def owner_of(self, url: str) -> str | None:
        """The id of the source already polling `url`, if any."""
        return self.urls.get(same_url(url))

    @property
    def fetch(self) -> FetchSettings:
        """The file's [fetch] settings (the defaults when the table is invalid)."""
        return load_sources(self._doc())[0]

    def check_free(self, source_id: str | None, url: str) -> None:
        """Refuse an id or a URL some source already has."""
        owner = self.owner_of(url)
        if owner is not None:
            raise EditRefused(f"{url} is already configured as source {owner!r}")
        if source_id in self.ids:
            raise EditRefused(f"source id {source_id!r} is already used in {SOURCES_FILE}")

    def add(self, new: NewSource) -> None:
        """Queue `new` for `save`, or refuse it (see `check`)."""
        self.check(new)
        self.remember(new.id, new.url)
        self.pending.append(new)

    def check(self, new: NewSource) -> None:
        """Refuse a duplicate, or a source that would not validate with the file's
        [defaults]."""
        self.check_free(new.id, new.url)
        defaults = self.data.get("defaults", {})
        raw = {**(defaults if isinstance(defaults, dict) else {}), **new_table(new, defaults)}
        # Validated alone (no line to point at: it is not in the file yet).
        alone = TomlDoc(self.path, SOURCES_FILE, {}, "")
        problems = validate(SourceConfig, raw, alone, label=f"source {new.id!r}")[1]
        if problems:
            raise EditRefused(problems[0].message)

    def save(self) -> int:
        """Append the queued sources' blocks; return the line where the first one starts."""
        separator = "" if not self.text or self.text.endswith("\n") else "\n"
        defaults = self.data.get("defaults")
        addition = separator + "".join(render_source(new, defaults) for new in self.pending)
        if not self.text:
            addition = addition.removeprefix("\n")  # a new file starts with its first block
        try:
            tomllib.loads(self.text + addition)
        except tomllib.TOMLDecodeError as exc:  # a file left mid-table by hand, say
            raise EditRefused(f"{self.path}: appending would not be valid TOML: {exc}") from exc
        first_line = (self.text + separator).count("\n") + (2 if self.text else 1)
        # Lines end as the file's do: read_toml's text has them all turned into "\n".
        crlf = self.path.exists() and b"\r\n" in self.path.read_bytes()
        with self.path.open("a", encoding="utf-8", newline="\r\n" if crlf else "\n") as out:
            out.write(addition)
        self.text += addition
        self.pending.clear()
        return first_line

    def _doc(self) -> TomlDoc:
        return TomlDoc(self.path, SOURCES_FILE, self.data, self.text)


def _raw_sources(data: dict[str, Any]) -> list[dict[str, Any]]:
    sources = data.get("source", [])
    return [s for s in sources if isinstance(s, dict)] if isinstance(sources, list) else []


def new_table(new: NewSource, defaults: object) -> dict[str, str]:
    """The keys written for a new feed: `kind` only when [defaults] says another kind."""
    table = {"id": new.id, "name": new.name, "url": new.url}
    if isinstance(defaults, dict) and defaults.get("kind", "feed") != "feed":
        table["kind"] = "feed"
    return table


def render_source(new: NewSource, defaults: object = None) -> str:
    lines = [""]
    if new.note:
        lines.append(f"# {one_line(new.note)}")
    lines.append("[[source]]")
    lines += [f"{key} = {toml_string(value)}" for key, value in new_table(new, defaults).items()]
    return "\n".join(lines) + "\n"


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = []
    for char in value:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def one_line(text: str) -> str:
    """Untrusted text (a feed's title) made fit for one line of a terminal or a comment;
    without lone surrogates (a JSON feed's "\\ud800"), which no UTF-8 file can hold."""
    return " ".join(_SURROGATE.sub("", printable(text)).split())


def display_name(title: str, url: str) -> str:
    """A source's name: the feed's own title, else its host."""
    name = one_line(title)[:MAX_NAME].strip()
    return name or (urlsplit(url).hostname or url)


def slug_for_site(url: str) -> str:
    """An id from a site's host name: www.lemagit.fr gives 'lemagit', blog.example.org
    'blog-example' (the top-level domain and a leading www. say nothing)."""
    host = (urlsplit(url).hostname or "").lower()
    labels = host.split(".")
    if not _is_ip(host):
        labels = labels[1:] if labels[0] == "www" and len(labels) > 2 else labels
        labels = labels[:-1] if len(labels) > 1 else labels
    slug = _NOT_SLUG.sub("-", "-".join(labels)).strip("-")[:MAX_ID].strip("-")
    return slug or "source"


def unique_id(base: str, taken: Iterable[str]) -> str:
    used = set(taken)
    if base not in used:
        return base
    return next(f"{base}-{n}" for n in range(2, len(used) + 3) if f"{base}-{n}" not in used)


def same_url(url: str) -> str:
    """A URL as compared for duplicates: scheme and host in lowercase, no fragment, no
    default port, no trailing slash."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc.lower()
    for scheme, port in (("http", ":80"), ("https", ":443")):
        if parts.scheme.lower() == scheme and netloc.endswith(port):
            netloc = netloc[: -len(port)]
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True

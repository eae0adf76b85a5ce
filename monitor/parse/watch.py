"""`watch` sources: a region of a page, as lines, and what changed between two passes.

The region (a CSS selector) is read as text, one line per block (list item,
table row, paragraph, heading), each line normalized; a change is the lines
that appeared and the lines that went away, whatever the order.
"""

from __future__ import annotations

from lxml import etree

from monitor.parse.html import html_document, select
from monitor.parse.text import clean_text
from monitor.records import WatchChange

_BREAKS = frozenset(
    {"p", "div", "br", "li", "tr", "dt", "dd", "section", "article", "blockquote", "ul", "ol"}
    | {"table", "tbody", "thead", "h1", "h2", "h3", "h4", "h5", "h6", "header", "footer"}
)
_CELLS = frozenset({"td", "th"})
_SKIP = frozenset({"script", "style", "noscript", "template"})


def region_lines(
    body: bytes, *, url: str, selector: str, charset: str | None = None, source_id: str = ""
) -> tuple[str, ...]:
    """The distinct text lines of every element `selector` finds, in page order."""
    root = html_document(body, url, charset, source_id)
    parts: list[str] = []
    for element in select(root, selector, url, source_id):
        _walk(element, parts)
        parts.append("\n")
    lines: list[str] = []
    seen: set[str] = set()
    for line in clean_text("".join(parts)).splitlines():
        line = line.strip(" |")
        if line and line not in seen:
            seen.add(line)
            lines.append(line)
    return tuple(lines)


def _walk(element: etree._Element, parts: list[str]) -> None:
    if not isinstance(element.tag, str):
        return  # a comment or processing instruction: its tail is the parent's business
    tag = element.tag
    if tag in _SKIP:
        parts.append(" ")
        return
    if tag in _BREAKS:
        parts.append("\n")
    parts.append(element.text or "")
    for child in element:
        _walk(child, parts)
        parts.append(child.tail or "")
    if tag in _BREAKS:
        parts.append("\n")
    elif tag in _CELLS:
        parts.append(" | ")


def compare(previous: tuple[str, ...], current: tuple[str, ...]) -> WatchChange:
    before, after = set(previous), set(current)
    return WatchChange(
        added=tuple(line for line in current if line not in before),
        removed=tuple(line for line in previous if line not in after),
    )


def change_title(name: str, change: WatchChange) -> str:
    """The title of the article a change becomes."""
    if len(change.added) == 1 and not change.removed:
        return f"{name} : ajout de « {_short(change.added[0])} »"
    if len(change.removed) == 1 and not change.added:
        return f"{name} : retrait de « {_short(change.removed[0])} »"
    return f"{name} : {len(change.added)} ajout(s), {len(change.removed)} retrait(s)"


def change_text(change: WatchChange) -> str:
    """The text rules match: what was added, then what was removed."""
    parts = []
    if change.added:
        parts.append("Ajouté :\n" + "\n".join(f"+ {line}" for line in change.added))
    if change.removed:
        parts.append("Retiré :\n" + "\n".join(f"- {line}" for line in change.removed))
    return "\n\n".join(parts)


def _short(line: str, limit: int = 120) -> str:
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"

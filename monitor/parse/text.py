"""HTML fragments (feed titles and summaries) into plain text."""

from __future__ import annotations

import re
import unicodedata

import lxml.html
from lxml import etree

_BLOCKS = {
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "blockquote",
    "section",
}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u202f]+")
_NO_BREAK = frozenset("\u00a0\u202f")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = {c: None for c in range(32) if c not in (9, 10, 13)} | {0x7F: None}


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment, with paragraphs kept as lines."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return clean_text(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_text(fragment)
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
    return clean_text(root.text_content())


def _one_space(run: re.Match[str]) -> str:
    # A lone no-break space is French typography ("Armées\u00a0:") and stays; any
    # other run, &nbsp; padding included, is one plain space.
    spaces = run.group()
    return spaces if len(spaces) == 1 and spaces in _NO_BREAK else " "


def clean_text(text: str) -> str:
    """Normalize Unicode (NFC), drop control characters, collapse runs of spaces."""
    text = unicodedata.normalize("NFC", text).translate(_CONTROL)
    lines = (_SPACES.sub(_one_space, line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()

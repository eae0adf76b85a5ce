"""Make text written by strangers safe for each place it is shown.

Article titles and passages come from pages that anybody can publish. Before
they reach a template they are cleaned (`sanitize`): control, zero-width, bidi
and tag characters are dropped, and chat mentions that would page a whole room
(`@room`, `@here`, `@channel`, `@everyone`) or a person (Slack's `<!channel>`,
`<@U123>`, `<#C123>`) are defused by swapping the `@`/`<` for look-alikes.
Then each output format escapes what is special to it: HTML entities (Jinja's
autoescape), the Markdown that could build structure or links (`escape_markdown`),
and nothing for plain text, where the channel escapes what its service needs
(apprise turns `&`, `<`, `>` into entities for Slack).

The Markdown escaping is deliberately narrow. The same Markdown goes to Matrix
(Python-Markdown, which passes raw HTML through) and to Slack (apprise rewrites
CommonMark into mrkdwn and keeps most backslashes visible), so only what can form
a tag, a link, emphasis, code or a block is escaped; a full stop or a hyphen in
the middle of a title stays as it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from markupsafe import Markup, escape

# C0/C1 controls except tab and newline; soft hyphen, zero-width, joiners, bidi
# embeddings, overrides and isolates, variation selectors, fillers, BOM, interlinear
# annotations, lone surrogates and the invisible "tag" characters.
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff"
    "\uffa0\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029]")
# An `@` that ends the text is defused too: a passage is escaped piece by piece, and
# the next piece (a marked term) may be the `room` that would complete it.
_MENTION = re.compile(r"@(?=(?:room|here|channel|everyone)\b|\Z)", re.IGNORECASE)
_SLACK_CONTROL = re.compile(r"<(?=[!@#])")
FULLWIDTH_AT = "\uff20"  # ＠
SINGLE_ANGLE = "\u2039"  # ‹
SINGLE_ANGLE_RIGHT = "\u203a"  # ›

# Markdown: characters that open inline markup anywhere...
_MARKDOWN_INLINE = re.compile(r"[\\`*\[\]]|(?<![^\W_])_|_(?![^\W_])")
# ...and what opens a block at the start of a line: heading, list item, thematic
# break or setext underline, code fence.
_MARKDOWN_BLOCK = re.compile(
    r"^([ \t]*)(#{1,6}(?=[ \t]|$)|[-+](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$)|[-=_ \t]+$|~~~)",
    re.MULTILINE,
)
# Kept as they are in a Markdown link destination; everything else is percent-encoded.
_URL_SAFE = ";/?:@&=+$,-_.!~*'#%[]"


def _clean(text: str) -> str:
    """NFC, one kind of line break, no invisible characters (mentions untouched)."""
    text = unicodedata.normalize("NFC", text)
    return _INVISIBLE.sub("", _LINE_BREAKS.sub("\n", text))


def _defuse(text: str) -> str:
    """Mass mentions and Slack control sequences turned into look-alikes; keeps the length."""
    return _SLACK_CONTROL.sub(SINGLE_ANGLE, _MENTION.sub(FULLWIDTH_AT, text))


def sanitize(text: str | None) -> str:
    """Untrusted text with invisible characters removed and mentions defused."""
    if not text:
        return ""
    return _defuse(_clean(str(text)))


def sanitize_segments(segments: Iterable[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """`sanitize` for a passage cut into marked and unmarked pieces.

    The pieces are sanitized as one text: a mention split by a mark (`@` then a
    marked `room`) is defused although neither piece holds it whole, and so is
    one that forms only once an invisible character between the pieces is gone.
    """
    pieces = [(_clean(chunk), marked) for chunk, marked in segments]
    whole = _defuse("".join(chunk for chunk, _ in pieces))
    result: list[tuple[str, bool]] = []
    start = 0
    for chunk, marked in pieces:
        result.append((whole[start : start + len(chunk)], marked))
        start += len(chunk)
    return result


# Any whitespace run but the no-break spaces of French typography ("Armées\u00a0:"),
# which keep a title's punctuation on its word.
_BREAKABLE_SPACE = re.compile(r"[^\S\u00a0\u202f\u2007]+")


def one_line(text: str | None) -> str:
    """For subjects and titles: sanitized, on one line."""
    return _BREAKABLE_SPACE.sub(" ", sanitize(text)).strip()


def escape_markdown(text: str) -> str:
    """Markdown that shows `text` literally, for CommonMark, Python-Markdown and Slack.

    `<` and `>` become look-alikes (Python-Markdown has no escape for `<` and lets
    raw HTML through; Slack reads `<...>` as a link or a mention); backslash,
    backtick, `*`, `[`, `]` and a `_` at a word edge get a backslash, and so does
    what would start a block at the start of a line. `(`, `)`, `!`, `.` and `-` in
    running text need nothing once `[` and `]` are escaped.
    """
    text = text.replace("<", SINGLE_ANGLE).replace(">", SINGLE_ANGLE_RIGHT)
    text = _MARKDOWN_INLINE.sub(lambda m: "\\" + m.group(), text)
    return _MARKDOWN_BLOCK.sub(_escape_block_marker, text)


def _escape_block_marker(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():  # "1." / "1)": escape the punctuation
        return f"{indent}{marker[:-1]}\\{marker[-1]}"
    if marker.strip(" \t") == "" or marker.startswith("\\"):
        return match.group()
    return f"{indent}\\{marker}"


def escape_html(text: str) -> Markup:
    return escape(text)


def markdown_url(url: str) -> str:
    """A URL usable inside `[text](url)`: anything that could end or bend it percent-encoded.

    Mentions are left alone: a destination is not shown, and `@` is part of many URLs.
    """
    return quote(_clean(url).strip(), safe=_URL_SAFE)

"""French typography and plurals for veille's own words.

`french` is applied to what veille or its operator wrote: the literal text of every
template (once, when the template is compiled, by `FrenchTypography`), rule titles and
labels, digest titles. It is never applied to what an article says: titles and passages
are quoted as published, straight apostrophes included, since changing them would
misquote the outlet and move the offsets of a passage's marked terms.

- the space written before `;`, `:`, `!` or `?` becomes a narrow no-break space
  (U+202F), so the sign never wraps alone onto the next line; where no space is written
  nothing is added, so `10:30`, `https://x` and `id:42` stay as they are;
- inside « », a no-break space (U+00A0), added when missing;
- an apostrophe between two letters becomes ’ (l'État → l’État).

URLs, e-mail addresses and `code` are left as they are. The result is stable:
`french(french(x)) == french(x)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from jinja2.ext import Extension
from jinja2.lexer import Token

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"

# Written as they are: links, addresses, `code`.
_VERBATIM = re.compile(
    r"`[^`\n]*`|\b[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+", re.IGNORECASE
)
_BEFORE_HIGH_SIGN = re.compile(f"[ {NBSP}{NARROW_NBSP}](?=[;:!?])")
_OPENING_QUOTE = re.compile(f"«[ {NBSP}{NARROW_NBSP}]*")
_CLOSING_QUOTE = re.compile(f"[ {NBSP}{NARROW_NBSP}]*»")
_ELISION = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")


def french(text: str) -> str:
    """`text` with French spacing and apostrophes, links and code untouched."""
    parts: list[str] = []
    start = 0
    for verbatim in _VERBATIM.finditer(text):
        parts += [_typeset(text[start : verbatim.start()]), verbatim.group()]
        start = verbatim.end()
    parts.append(_typeset(text[start:]))
    return "".join(parts)


def _typeset(text: str) -> str:
    text = _BEFORE_HIGH_SIGN.sub(NARROW_NBSP, text)
    text = _OPENING_QUOTE.sub("«" + NBSP, text)
    text = _CLOSING_QUOTE.sub(NBSP + "»", text)
    return _ELISION.sub("’", text)


def plural(count: int, singular: str, plural: str | None = None, lang: str = "fr") -> str:
    """The count and its noun: "1 alerte", "12 alertes"; "0 article" in French, "0 articles"
    in English. `plural` defaults to `singular` + "s"."""
    one = count in (0, 1) if lang == "fr" else count == 1
    return f"{count} {singular if one else plural or singular + 's'}"


class FrenchTypography(Extension):
    """Applies `french` to the literal text of templates (not to the values they print)."""

    def filter_stream(self, stream: Iterable[Token]) -> Iterator[Token]:  # type: ignore[override]
        for token in stream:
            if token.type == "data":
                token = Token(token.lineno, "data", french(token.value))
            yield token

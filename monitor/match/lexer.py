"""Split a query into tokens: words, phrases, list references, fields, operators."""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.fields import FIELDS_META, FIELDS_STRUCTURED, FIELDS_TEXT
from monitor.match.nodes import COMPARISONS, SHAPES
from monitor.match.types import QueryError

# Token kinds.
WORD = "word"
PHRASE = "phrase"
LIST = "list"
FIELD = "field"
LPAREN = "("
RPAREN = ")"
AND = "AND"
OR = "OR"
NOT = "NOT"
NEAR = "NEAR"
ATLEAST = "ATLEAST"
SENTENCE = "SENTENCE"
SHAPE = "shape"
COMPARE = "comparison"
EOF = "end of query"

# Kinds that can start an operand (used for implicit AND and dangling operators). A
# comparison operator is one so that "NOT >= 5" is reported at the operator.
OPERAND_STARTS = frozenset(
    {WORD, PHRASE, LIST, FIELD, LPAREN, NOT, ATLEAST, SENTENCE, SHAPE, COMPARE}
)

_WORD_RE = re.compile(r"[^\s()\"]+")
_NEAR_RE = re.compile(r"(O?)NEAR(?:/(\d+))?$")
_NEAR_LIKE_RE = re.compile(r"O?NEAR(/.*)?$")
_ATLEAST_RE = re.compile(r"ATLEAST(?:/(\d+))?$")
_ATLEAST_LIKE_RE = re.compile(r"ATLEAST(/.*)?$")
_FIELD_RE = re.compile(r"([A-Za-z_]+):")
_FIELD_NAME_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):")
_LIST_RE = re.compile(r"@[\w.-]+$")
# The first comparison operator of a word splits it: "amount>=5" is amount, >=, 5.
_COMPARE_RE = re.compile("(.*?)(" + "|".join(COMPARISONS) + ")(.*)$")
KNOWN_FIELDS = FIELDS_TEXT + FIELDS_META + FIELDS_STRUCTURED
GENERIC_FIELD = "field"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int
    value: object = None


class Lexer:
    """Turns a query string into a list of tokens, raising QueryError with positions."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens: list[Token] = []

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(message, position, self.query)

    def run(self) -> list[Token]:
        pos = 0
        query = self.query
        while pos < len(query):
            char = query[pos]
            if char.isspace():
                pos += 1
            elif char in "()":
                self.tokens.append(Token(char, char, pos, pos + 1))
                pos += 1
            elif char == '"':
                pos = self._phrase(pos)
            else:
                match = _WORD_RE.match(query, pos)
                assert match is not None  # any other character starts a word
                self._word(match.group(), pos)
                pos = match.end()
        self.tokens.append(Token(EOF, "", len(query), len(query)))
        return self.tokens

    def _phrase(self, start: int) -> int:
        close = self.query.find('"', start + 1)
        if close < 0:
            raise self.error('unclosed quote: a phrase ends with "', start)
        text = self.query[start : close + 1]
        self.tokens.append(Token(PHRASE, text, start, close + 1, text[1:-1]))
        return close + 1

    def _word(self, word: str, start: int) -> None:
        end = start + len(word)
        if word in (AND, OR, NOT, SENTENCE):
            self.tokens.append(Token(word, word, start, end))
        elif word in SHAPES:
            self.tokens.append(Token(SHAPE, word, start, end, SHAPES[word]))
        elif _NEAR_LIKE_RE.match(word):
            self._near(word, start, end)
        elif _ATLEAST_LIKE_RE.match(word):
            self._atleast(word, start, end)
        elif word.startswith("@"):
            if not _LIST_RE.match(word):
                raise self.error("a list name must follow @, e.g. @us_hyperscalers", start)
            self.tokens.append(Token(LIST, word, start, end, word[1:]))
        elif field := _FIELD_RE.match(word):
            self._field(field.group(1), word, start)
        elif comparison := _COMPARE_RE.match(word):
            self._comparison(comparison, start)
        else:
            self.tokens.append(Token(WORD, word, start, end, word))

    def _near(self, word: str, start: int, end: int) -> None:
        match = _NEAR_RE.match(word)
        if match is None or match.group(2) is None:
            name = "ONEAR" if word.startswith("O") else "NEAR"
            raise self.error(f"{name} needs a distance in words, e.g. {name}/5", start)
        ordered = match.group(1) == "O"
        self.tokens.append(Token(NEAR, word, start, end, (int(match.group(2)), ordered)))

    def _atleast(self, word: str, start: int, end: int) -> None:
        match = _ATLEAST_RE.match(word)
        if match is None or match.group(1) is None:
            raise self.error("ATLEAST needs a count, e.g. ATLEAST/3(SecNumCloud)", start)
        self.tokens.append(Token(ATLEAST, word, start, end, int(match.group(1))))

    def _field(self, name: str, word: str, start: int) -> None:
        field = name.lower()
        prefix = len(name) + 1
        if field == GENERIC_FIELD:
            field, prefix = self._generic_field(word, start)
        elif field not in KNOWN_FIELDS:
            known = ", ".join(f"{f}:" for f in KNOWN_FIELDS)
            raise self.error(
                f"unknown field '{name}:' (fields are {known}, {GENERIC_FIELD}:NAME:)", start
            )
        self.tokens.append(Token(FIELD, word[:prefix], start, start + prefix, field))
        rest = word[prefix:]
        if rest:
            self._word(rest, start + prefix)

    def _generic_field(self, word: str, start: int) -> tuple[str, int]:
        """``field:NAME:`` names any structured field: its name and the prefix length."""
        found = _FIELD_NAME_RE.match(word, len(GENERIC_FIELD) + 1)
        if found is None:
            raise self.error(
                f"'{GENERIC_FIELD}:' needs a field name and a colon, e.g. field:nature:attribution",
                start,
            )
        field = found.group(1).lower()
        if field in FIELDS_TEXT + FIELDS_META:
            raise self.error(f"'{field}' is not a structured field: write {field}:", start)
        return field, found.end()

    def _comparison(self, found: re.Match[str], start: int) -> None:
        name, op, value = found.groups()
        if name:
            self.tokens.append(Token(WORD, name, start, start + len(name), name))
        at = start + len(name)
        self.tokens.append(Token(COMPARE, op, at, at + len(op), op))
        if value:
            at += len(op)
            self.tokens.append(Token(WORD, value, at, at + len(value), value))


def tokenize_query(query: str) -> list[Token]:
    """The tokens of ``query``, ending with an EOF token."""
    return Lexer(query).run()

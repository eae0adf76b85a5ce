"""Split a query into tokens: words, phrases, list references, fields, operators."""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.match.nodes import FIELDS_META, FIELDS_TEXT, SHAPES
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
EOF = "end of query"

# Kinds that can start an operand (used for implicit AND and dangling operators).
OPERAND_STARTS = frozenset({WORD, PHRASE, LIST, FIELD, LPAREN, NOT, ATLEAST, SENTENCE, SHAPE})

_WORD_RE = re.compile(r"[^\s()\"]+")
_NEAR_RE = re.compile(r"(O?)NEAR(?:/(\d+))?$")
_NEAR_LIKE_RE = re.compile(r"O?NEAR(/.*)?$")
_ATLEAST_RE = re.compile(r"ATLEAST(?:/(\d+))?$")
_ATLEAST_LIKE_RE = re.compile(r"ATLEAST(/.*)?$")
_FIELD_RE = re.compile(r"([A-Za-z_]+):")
_LIST_RE = re.compile(r"@[\w.-]+$")
KNOWN_FIELDS = FIELDS_TEXT + FIELDS_META


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
        if field not in KNOWN_FIELDS:
            known = ", ".join(f"{f}:" for f in KNOWN_FIELDS)
            raise self.error(f"unknown field '{name}:' (fields are {known})", start)
        colon_end = start + len(name) + 1
        self.tokens.append(Token(FIELD, word[: len(name) + 1], start, colon_end, field))
        rest = word[len(name) + 1 :]
        if rest:
            self._word(rest, colon_end)


def tokenize_query(query: str) -> list[Token]:
    """The tokens of ``query``, ending with an EOF token."""
    return Lexer(query).run()

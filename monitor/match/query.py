"""Parse a query into a syntax tree.

Precedence, tightest first: field prefixes (``title:``), ``NEAR/n``/``ONEAR/n``,
``NOT``, ``AND`` (explicit or implied by juxtaposition), ``OR``. So
``a OR b c`` is ``a OR (b AND c)`` and ``NOT a NEAR/3 b`` is ``NOT (a NEAR/3 b)``.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import cast

from monitor.fields import FIELDS_META, FIELDS_TEXT
from monitor.match import lexer as lx
from monitor.match.lemmas import lemma_keys
from monitor.match.nodes import (
    And,
    AtLeast,
    Compare,
    Filter,
    ListRef,
    Near,
    Node,
    Not,
    Or,
    Scope,
    Sentence,
    Shape,
    Term,
    is_positional,
)
from monitor.match.normalize import raw_tokens, surface
from monitor.match.triggers import required_terms, untriggered_branch
from monitor.match.types import QueryError

MIN_PREFIX = 3
MIN_DIGIT_PREFIX = 2  # a CPV division is two digits: cpv:72*
_NUMBER_RE = re.compile(r"[0-9][0-9_]*(\.[0-9]+)?")
POSITIONAL = "words, phrases, wildcards, lists or OR-groups of them"
NO_WORD = "contains no letter or digit"


def make_term(text: str, body: str, start: int, end: int, quoted: bool) -> Term | str:
    """Build the term for ``body`` or return the reason it is not a valid term.

    A bare single word is lemma-aware; a quoted text, a wildcard and a word that splits
    into several tokens (hyphens, apostrophes) are matched exactly.
    """
    parts = _term_parts(body, quoted)
    if parts == NO_WORD:
        return f"{text!r} {NO_WORD}"
    if isinstance(parts, str):
        return parts
    tokens, exact, prefix, lemmas = parts
    return Term(start, end, text, tokens, exact, prefix, lemmas)


# The lists are long and every rule that names one reads all its entries again: the
# same few thousand words, each tokenized and its lemmas looked up once per process.
@functools.lru_cache(maxsize=8192)
def _term_parts(
    body: str, quoted: bool
) -> tuple[tuple[str, ...], bool, bool, frozenset[str]] | str:
    """What a term of ``body`` is, wherever it stands in a query, or why it is none."""
    prefix = body.rstrip().endswith("*")
    core = body.rstrip()[:-1] if prefix else body
    if "*" in core:
        return "a wildcard * can only end a word"
    raws = raw_tokens(core)
    if not raws:
        return NO_WORD
    tokens = tuple(surface(r) for r in raws)
    if prefix and len(tokens) == 1:
        shortest, unit = (
            (MIN_DIGIT_PREFIX, "digits") if tokens[0].isdigit() else (MIN_PREFIX, "letters")
        )
        if len(tokens[0]) < shortest:
            return f"a wildcard needs at least {shortest} {unit} before *"
    # A capitalised word is a name (Paris, Armées, CHU): by its lemmas it would also be
    # a bet (« pari »), a verb (« armer », « choir ») or any word sharing them.
    exact = quoted or prefix or len(tokens) > 1 or raws[0][:1].isupper()
    lemmas = frozenset() if exact else lemma_keys(raws[0])
    return tokens, exact, prefix, lemmas


class Parser:
    """Recursive descent over the lexer's tokens; one method per precedence level."""

    def __init__(self, query: str, lists: Mapping[str, Sequence[str]]) -> None:
        self.query = query
        self.lists = lists
        self.tokens = lx.tokenize_query(query)
        self.index = 0

    # -- helpers ---------------------------------------------------------------------

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(message, position, self.query)

    def peek(self) -> lx.Token:
        return self.tokens[self.index]

    def advance(self) -> lx.Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def span(self, start: int, end: int) -> tuple[int, int, str]:
        return start, end, self.query[start:end]

    def require_operand(self, operator: lx.Token) -> None:
        """Raise when ``operator`` is not followed by something it can apply to."""
        if self.peek().kind not in lx.OPERAND_STARTS:
            raise self.error(
                f"'{operator.text}' needs a word, phrase or group after it", operator.start
            )

    # -- grammar ---------------------------------------------------------------------

    def parse(self) -> Node:
        if self.peek().kind == lx.EOF:
            raise self.error("empty query", 0)
        node = self.parse_or()
        token = self.peek()
        if token.kind == lx.RPAREN:
            raise self.error("unmatched ')'", token.start)
        if token.kind != lx.EOF:  # pragma: no cover - every other token starts an operand
            raise self.error(f"unexpected '{token.text}'", token.start)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == lx.OR:
            self.require_operand(self.advance())
            children.append(self.parse_and())
        if len(children) == 1:
            return children[0]
        return Or(*self.span(children[0].start, children[-1].end), tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_not()]
        while True:
            kind = self.peek().kind
            if kind == lx.AND:
                self.require_operand(self.advance())
            elif kind not in lx.OPERAND_STARTS:
                break
            children.append(self.parse_not())
        if len(children) == 1:
            return children[0]
        return And(*self.span(children[0].start, children[-1].end), tuple(children))

    def parse_not(self) -> Node:
        if self.peek().kind != lx.NOT:
            return self.parse_near()
        operator = self.advance()
        self.require_operand(operator)
        child = self.parse_not()
        return Not(*self.span(operator.start, child.end), child)

    def parse_near(self) -> Node:
        left = self.parse_unary()
        while self.peek().kind == lx.NEAR:
            operator = self.advance()
            if self.peek().kind not in lx.OPERAND_STARTS - {lx.NOT}:
                raise self.error(
                    f"'{operator.text}' needs a word, phrase or list after it", operator.start
                )
            right = self.parse_unary()
            for operand in (left, right):
                if not is_positional(operand):
                    raise self.error(f"{operator.text} links {POSITIONAL}", operand.start)
            distance, ordered = cast(tuple[int, bool], operator.value)
            left = Near(*self.span(left.start, right.end), left, right, distance, ordered)
        return left

    def parse_unary(self) -> Node:
        token = self.peek()
        if token.kind != lx.FIELD:
            return self.parse_primary()
        self.advance()
        if token.value in ("source", "lang"):
            return self.parse_filter(token)
        if self.peek().kind not in lx.OPERAND_STARTS - {lx.NOT}:
            raise self.error(f"'{token.text}' needs a word, phrase or group after it", token.start)
        child = self.parse_unary()
        return Scope(*self.span(token.start, child.end), str(token.value), child)

    def parse_filter(self, field: lx.Token) -> Node:
        value = self.peek()
        if value.kind != lx.WORD:
            example = "source:lemonde" if field.value == "source" else "lang:fr"
            raise self.error(f"'{field.text}' takes a single value, e.g. {example}", field.start)
        self.advance()
        text = str(value.value)
        prefix = text.endswith("*")
        text = text.rstrip("*").lower()
        return Filter(*self.span(field.start, value.end), str(field.value), text, prefix)

    def parse_primary(self) -> Node:
        token = self.peek()
        if token.kind == lx.WORD and self.tokens[self.index + 1].kind == lx.COMPARE:
            return self.parse_compare()
        if token.kind == lx.COMPARE:
            raise self.error(
                f"'{token.text}' needs a field name before it, e.g. amount >= 1000000", token.start
            )
        if token.kind in (lx.WORD, lx.PHRASE):
            self.advance()
            term = make_term(
                token.text, str(token.value), token.start, token.end, token.kind == lx.PHRASE
            )
            if isinstance(term, str):
                raise self.error(term, token.start)
            return term
        if token.kind == lx.LIST:
            self.advance()
            return self.parse_list(token)
        if token.kind == lx.LPAREN:
            return self.parse_group()
        if token.kind in (lx.SENTENCE, lx.ATLEAST):
            return self.parse_call(token)
        if token.kind == lx.SHAPE:
            self.advance()
            return Shape(token.start, token.end, token.text, str(token.value))
        raise self.unexpected(token)

    def parse_compare(self) -> Node:
        """``NAME OP NUMBER``: a numeric structured field compared with a number."""
        name, operator, value = self.advance(), self.advance(), self.peek()
        field = name.text.lower()
        if not field.isidentifier() or field in FIELDS_TEXT + FIELDS_META:
            raise self.error(f"'{name.text}' is not a numeric field name", name.start)
        if value.kind != lx.WORD:
            raise self.error(
                f"'{operator.text}' needs a number after it, e.g. amount >= 1000000",
                operator.start,
            )
        if not _NUMBER_RE.fullmatch(value.text):
            message = f"'{value.text}' is not a number: write digits, e.g. 1000000"
            raise self.error(message, value.start)
        self.advance()
        number = float(value.text.replace("_", ""))
        return Compare(*self.span(name.start, value.end), field, operator.text, number)

    def unexpected(self, token: lx.Token) -> QueryError:
        if token.kind == lx.EOF:
            return self.error("the query ends where a word was expected", token.start)
        if token.kind == lx.RPAREN:
            return self.error("unmatched ')'", token.start)
        if token.kind == lx.NOT:
            return self.error(
                "NOT cannot go here: negate the whole clause, e.g. NOT (a NEAR/3 b)", token.start
            )
        return self.error(f"'{token.text}' needs a word, phrase or group before it", token.start)

    def parse_group(self) -> Node:
        opening = self.peek()
        node, close = self.parse_parenthesized()
        # The group's span includes its parentheses, so clauses quote as written.
        start, end, text = self.span(opening.start, close.end)
        return replace(node, start=start, end=end, text=text)

    def parse_parenthesized(self) -> tuple[Node, lx.Token]:
        """``( query )`` from the current '(' on: the query and the closing token."""
        opening = self.advance()
        if self.peek().kind == lx.RPAREN:
            raise self.error("empty parentheses", opening.start)
        node = self.parse_or()
        if self.peek().kind != lx.RPAREN:
            raise self.error("unclosed '(': add the matching ')'", opening.start)
        return node, self.advance()

    def parse_call(self, keyword: lx.Token) -> Node:
        self.advance()
        if self.peek().kind != lx.LPAREN:
            inner = "a AND b" if keyword.kind == lx.SENTENCE else "SecNumCloud"
            message = f"{keyword.text} must be followed by '(', e.g. {keyword.text}({inner})"
            raise self.error(message, keyword.start)
        child, close = self.parse_parenthesized()
        start, end, text = self.span(keyword.start, close.end)
        if keyword.kind == lx.SENTENCE:
            return Sentence(start, end, text, child, required_terms(child))
        count = cast(int, keyword.value)
        if count < 1:
            raise self.error("ATLEAST needs a count of 1 or more", keyword.start)
        if not is_positional(child):
            raise self.error(f"ATLEAST counts mentions of {POSITIONAL}", child.start)
        return AtLeast(start, end, text, count, child)

    def parse_list(self, token: lx.Token) -> Node:
        name = str(token.value)
        entries = self.lists.get(name)
        if entries is None:
            close = difflib.get_close_matches(name, list(self.lists), n=1)
            hint = f" (did you mean @{close[0]}?)" if close else ""
            raise self.error(f"unknown list @{name}{hint}", token.start)
        if not entries:
            raise self.error(f"list @{name} is empty", token.start)
        terms = tuple(self.list_entry(token, name, str(entry)) for entry in entries)
        return ListRef(token.start, token.end, token.text, name, terms)

    def list_entry(self, token: lx.Token, name: str, entry: str) -> Term:
        term = entry_term(entry, token.start, token.end)
        if isinstance(term, str):
            raise self.error(f"list @{name}, entry {entry!r}: {term}", token.start)
        return term


def entry_term(entry: str, start: int = 0, end: int = 0) -> Term | str:
    """The term of a list entry (``word``, ``"exact"``, ``prefix*``, ``a phrase``), or
    the reason it is not one."""
    body = entry.strip()
    quoted = len(body) >= 2 and body[0] == body[-1] == '"'
    return make_term(body, body[1:-1] if quoted else body, start, end, quoted)


def check_rule_root(root: Node, query: str) -> None:
    """Reject queries that could match a document containing none of their terms."""
    if isinstance(root, Not):
        raise QueryError(
            "a rule cannot be only negative: it would match every document without "
            f"{root.child.text}; add a positive term, e.g. microsoft NOT quitter",
            root.start,
            query,
        )
    culprit = untriggered_branch(root)
    if culprit is None:
        return
    if isinstance(culprit, Filter | Shape | Compare):
        message = f"'{culprit.text}' only filters documents; combine it with a word or phrase"
    elif isinstance(culprit, Not):
        message = f"'{culprit.text}' lets the rule match documents without any of its words"
    else:
        message = f"'{culprit.text}' can match documents without any of its words"
    raise QueryError(message, culprit.start, query)


def parse_query(query: str, lists: Mapping[str, Sequence[str]]) -> Node:
    """Parse ``query`` into its syntax tree, resolving ``@lists``; raises QueryError."""
    root = Parser(query, lists).parse()
    check_rule_root(root, query)
    return root

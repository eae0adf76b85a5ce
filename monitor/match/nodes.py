"""The syntax tree of a query.

Every node keeps its span in the query (``start``/``end``) and the query text of that
span, so errors, explanations and fired clauses can quote the operator's own words.
Nodes compare by identity: two equal-looking clauses of a query stay distinct.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

# A term's identity for lookups, equal for terms that match the same tokens so they
# share their occurrences: "~" + sorted lemma keys, or "=" + folded words (+ "*" for a
# prefix). A string, because strings cache their hash and keys are looked up a lot.
TermKey = str


@dataclass(frozen=True, eq=False)
class Node:
    start: int
    end: int
    text: str

    @cached_property
    def positional(self) -> bool:
        """Cached ``is_positional``: evaluation asks it for every node it visits."""
        return is_positional(self)


@dataclass(frozen=True, eq=False)
class Term(Node):
    """A word (lemma-aware unless ``exact``), an exact phrase, or a prefix wildcard."""

    tokens: tuple[str, ...]
    exact: bool
    prefix: bool
    lemmas: frozenset[str]

    @cached_property
    def key(self) -> TermKey:
        if self.exact:
            return "=" + " ".join(self.tokens) + ("*" if self.prefix else "")
        return "~" + "|".join(sorted(self.lemmas))


@dataclass(frozen=True, eq=False)
class ListRef(Node):
    """``@name``: any of the list's entries."""

    name: str
    terms: tuple[Term, ...]


@dataclass(frozen=True, eq=False)
class And(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Or(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Not(Node):
    child: Node


@dataclass(frozen=True, eq=False)
class Near(Node):
    """``left NEAR/n right`` (either order) or ``left ONEAR/n right`` (left first).

    ``distance`` is the largest number of words allowed between the two operands.
    """

    left: Node
    right: Node
    distance: int
    ordered: bool


@dataclass(frozen=True, eq=False)
class Scope(Node):
    """``title:``, ``text:``, ``lead:`` or a structured field (``awardee:``,
    ``field:nature:``) applied to a sub-query."""

    field: str
    child: Node


@dataclass(frozen=True, eq=False)
class Sentence(Node):
    """``SENTENCE(q)``: one sentence satisfies ``q`` on its own (NOT included).

    ``trigger`` holds the terms one of which the sentence must contain, to skip the
    others quickly; None when ``q`` can hold without any term.
    """

    child: Node
    trigger: frozenset[TermKey] | None


@dataclass(frozen=True, eq=False)
class AtLeast(Node):
    """``ATLEAST/n(q)``: at least ``count`` mentions of the words/phrases in ``q``."""

    count: int
    child: Node


@dataclass(frozen=True, eq=False)
class Filter(Node):
    """``source:id`` or ``lang:code``: a test on the document's metadata."""

    field: str
    value: str
    prefix: bool


@dataclass(frozen=True, eq=False)
class Shape(Node):
    """``QUESTION``, ``QUOTE`` or ``EARLIER_YEAR``: a sentence of the region is a question
    (it ends with "?"), a quotation (it opens with a quotation mark), or names years, all
    at least two years before the article's own. Real press asks in headlines, quotes
    people and tells the history of a deal; none of it is the journalist reporting news."""

    kind: str  # "question" | "quote" | "earlier_year"


SHAPES = {"QUESTION": "question", "QUOTE": "quote", "EARLIER_YEAR": "earlier_year"}


@dataclass(frozen=True, eq=False)
class Compare(Node):
    """``amount >= 1000000``: a test on a numeric structured field of the document."""

    field: str
    op: str  # one of COMPARISONS
    value: float


COMPARISONS = (">=", "<=", ">", "<", "=")


def is_positional(node: Node) -> bool:
    """True for nodes that match at positions (words, phrases, lists, NEAR, OR of them)."""
    if isinstance(node, Term | ListRef | Near):
        return True
    if isinstance(node, Or):
        return all(c.positional for c in node.children)
    if isinstance(node, Scope):
        return node.child.positional
    return False


def children_of(node: Node) -> tuple[Node, ...]:
    """The direct sub-queries of ``node`` (list entries are not sub-queries)."""
    if isinstance(node, And | Or):
        return node.children
    if isinstance(node, Near):
        return (node.left, node.right)
    if isinstance(node, Not | Scope | Sentence | AtLeast):
        return (node.child,)
    return ()


def iter_terms(node: Node):
    """Every term of the tree, list entries included, depth first."""
    if isinstance(node, Term):
        yield node
    elif isinstance(node, ListRef):
        yield from node.terms
    for child in children_of(node):
        yield from iter_terms(child)

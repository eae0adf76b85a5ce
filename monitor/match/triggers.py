"""Which terms must occur for a query to possibly match.

``required_terms`` returns a set of terms at least one of which occurs in every
document (or sentence) the query matches; the compiler indexes rules by these terms
so that a rule is only evaluated when one of them is present. Among the groups of
terms an AND requires, the cheapest is chosen, that is the one whose terms look
rarest; the other groups are checked by set lookups before evaluating the rule.
"""

from __future__ import annotations

from monitor.match.lemmas import is_common
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
    TermKey,
)

Trigger = tuple[frozenset[TermKey], float]


def term_cost(term: Term) -> float:
    """A rough guess of how often ``term`` occurs: phrases rare, short or common words often."""
    if len(term.tokens) > 1:
        return 0.2
    word = term.tokens[0]
    if term.prefix:
        return 2.0 + 20.0 / len(word)
    keys = (word,) if term.exact else term.lemmas
    if any(is_common(k) for k in keys):
        return 50.0
    if any(c.isupper() for c in term.text):
        return 0.5  # names and acronyms are rarer than dictionary words
    if len(word) <= 3:
        return 5.0
    return 2.0 if len(word) <= 5 else 1.0


def _union(parts: list[Trigger | None]) -> Trigger | None:
    if any(p is None for p in parts):
        return None
    keys: set[TermKey] = set()
    cost = 0.0
    for part_keys, part_cost in parts:  # type: ignore[misc]
        keys.update(part_keys)
        cost += part_cost
    return frozenset(keys), cost


def _cheapest(groups: list[Trigger]) -> Trigger | None:
    return min(groups, key=lambda g: g[1]) if groups else None


def required_groups(node: Node) -> list[Trigger]:
    """Groups of terms that must each be represented wherever ``node`` matches.

    Every group needs at least one of its terms present; AND and NEAR require the
    groups of all their operands, OR one group made of the cheapest group of each
    branch, NOT, metadata filters and comparisons none.
    """
    if isinstance(node, Term):
        return [(frozenset([node.key]), term_cost(node))]
    if isinstance(node, ListRef | Or):
        parts = node.terms if isinstance(node, ListRef) else node.children
        union = _union([_cheapest(required_groups(p)) for p in parts])
        return [] if union is None else [union]
    if isinstance(node, And):
        return [g for child in node.children for g in required_groups(child)]
    if isinstance(node, Near):
        return required_groups(node.left) + required_groups(node.right)
    if isinstance(node, Scope | Sentence | AtLeast):
        return required_groups(node.child)
    if isinstance(node, Not | Filter | Shape | Compare):
        return []
    raise TypeError(f"unexpected node {node!r}")


def trigger_of(node: Node) -> Trigger | None:
    """The cheapest required group of ``node`` and its estimated cost, or None."""
    return _cheapest(required_groups(node))


def required_terms(node: Node) -> frozenset[TermKey] | None:
    """Terms one of which must occur wherever ``node`` matches; None if there are none."""
    trigger = trigger_of(node)
    return None if trigger is None else trigger[0]


def untriggered_branch(node: Node) -> Node | None:
    """The innermost sub-query that lets ``node`` match without any term, if there is one.

    Used to point the error of a rule that would match nearly every document at the
    clause responsible (a NOT, a metadata filter, a negative OR branch).
    """
    if trigger_of(node) is not None:
        return None
    if isinstance(node, Or):
        culprit = next(c for c in node.children if trigger_of(c) is None)
        return untriggered_branch(culprit) or culprit
    if isinstance(node, And):
        return untriggered_branch(node.children[0]) or node.children[0]
    if isinstance(node, Scope | Sentence | AtLeast):
        return untriggered_branch(node.child) or node
    return node

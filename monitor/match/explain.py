"""Explain a rule's verdict on a document: one line of why, then the clauses, once each.

The first line says whether the rule fires and why, in words: the sentence where it
held, or the first requirement that failed (a missing word, a clause excluded by a
word found, no sentence holding everything at once, a filter). Then the deciding
passages, marked, and the query as a tree in which every clause appears once, by its
operator ("all of", "any of", "not", "in one sentence"…) or, for words and lists, by
its own text, with what was found. ``SENTENCE(...)`` is shown in the sentence where
it held or, when it did not, in the sentence that came closest.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.display import shorten
from monitor.fields import FIELDS_TEXT
from monitor.match.analysis import EARLIER_YEARS
from monitor.match.evaluate import Evaluator, Outcome, Region
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
    children_of,
)
from monitor.match.passages import build_passages
from monitor.match.types import Passage

NODE_PASSAGES = 1
CLAUSE_WIDTH = 70  # characters of query text shown for one clause
REASON_WIDTH = 240  # characters of the one-line reason


@dataclass(frozen=True)
class ExplainNode:
    """One clause of the query: its label, whether it fired, and the evidence.

    ``text`` is the clause's query text; ``label`` what the tree shows for it: the
    operator for a compound clause, the (shortened) text for a word, list or filter.
    """

    text: str
    fired: bool
    passages: tuple[Passage, ...] = ()
    note: str = ""
    children: tuple[ExplainNode, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Explanation:
    """A rule's verdict on a document with the reasons for it."""

    rule_id: str
    matched: bool
    tree: ExplainNode
    passages: tuple[Passage, ...] = ()
    filter_failures: tuple[str, ...] = ()
    reason: str = ""  # one line: why the rule fires, or the first thing that stops it

    @property
    def summary(self) -> str:
        verdict = "matches" if self.matched else "does not match"
        return f"rule '{self.rule_id}' {verdict}: {self.reason}" if self.reason else verdict

    def render(self) -> str:
        """A plain-text report: the verdict and why, the deciding passages (marks as
        [[...]]), then each clause of the query once."""
        lines = [self.summary]
        for passage in self.passages:
            lines.append(f"  > {passage.field}: {passage.highlighted()}")
        _render_node(self.tree, 1, lines)
        return "\n".join(lines)


def _render_node(node: ExplainNode, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    note = f"  ({node.note})" if node.note else ""
    lines.append(f"{indent}[{'yes' if node.fired else 'no'}] {node.label or node.text}{note}")
    for passage in node.passages:
        lines.append(f"{indent}      {passage.field}: {passage.highlighted()}")
    for child in node.children:
        _render_node(child, depth + 1, lines)


def describe_sentence(index: int) -> str:
    return "the title" if index == 0 else f"sentence {index} of the text"


def explain_rule(
    rule_id: str, root: Node, evaluator: Evaluator, filter_failures: list[str]
) -> Explanation:
    outcome = evaluator.evaluate(root)
    tree = explain_node(evaluator, root, None)
    passages = build_passages(evaluator.analysis, outcome.marks) if outcome.ok else ()
    matched = outcome.ok and not filter_failures
    if filter_failures:
        reason = "excluded by filter: " + "; ".join(filter_failures)
    elif outcome.ok:
        reason = why_fired(evaluator, root)
    else:
        reason = why_not(evaluator, root, None)
    return Explanation(
        rule_id, matched, tree, passages, tuple(filter_failures), shorten(reason, REASON_WIDTH)
    )


# -- the tree --------------------------------------------------------------------------------


def is_leaf(node: Node) -> bool:
    return isinstance(node, Term | ListRef | Filter | Shape | Compare)


def is_flat(node: Node) -> bool:
    """A clause short enough to show on one line with its query text."""
    if is_leaf(node):
        return True
    if isinstance(node, Or):
        return all(is_leaf(c) for c in node.children)
    if isinstance(node, Not | Scope):
        return is_flat(node.child)
    if isinstance(node, Near):
        return is_flat(node.left) and is_flat(node.right)
    return False


def operator_label(node: Node) -> str:
    if isinstance(node, And):
        return "all of"
    if isinstance(node, Or):
        return "any of"
    if isinstance(node, Not):
        return "none of" if isinstance(node.child, Or) else "not"
    if isinstance(node, Scope):
        return f"in the {node.field}:"
    if isinstance(node, Sentence):
        return "in one sentence, all of" if isinstance(node.child, And) else "in one sentence"
    if isinstance(node, AtLeast):
        return f"at least {node.count} mentions of"
    if isinstance(node, Near):
        order = ", in this order" if node.ordered else ""
        return f"within {node.distance} words of each other{order}"
    return shorten(node.text, CLAUSE_WIDTH)


def explain_node(
    evaluator: Evaluator, node: Node, region: Region, expand: bool = True
) -> ExplainNode:
    """The clause and, when ``expand``, its sub-clauses: those that agree with its verdict
    (the ones that decided it) unfolded, the others on one line each."""
    outcome = evaluator.evaluate(node, region)
    if isinstance(node, Sentence):
        return explain_sentence(evaluator, node, region, outcome)
    note = node_note(evaluator, node, region, outcome)
    # An exclusion that holds needs no detail: "absent" says it all.
    if not expand or is_flat(node) or (isinstance(node, Not) and outcome.ok):
        return ExplainNode(node.text, outcome.ok, (), note, (), shorten(node.text, CLAUSE_WIDTH))
    child_region = region
    if isinstance(node, Scope):
        child_region = evaluator.narrow(region, evaluator.field_region(node.field))
    # "none of" lists the alternatives of the excluded OR directly.
    parts = node.child.children if isinstance(node, Not) and isinstance(node.child, Or) else None
    children = []
    for child in parts or children_of(node):
        held = evaluator.evaluate(child, child_region).ok
        decided = held == outcome.ok or isinstance(node, Not | Near | Scope)
        children.append(explain_node(evaluator, child, child_region, decided))
    return ExplainNode(node.text, outcome.ok, (), note, tuple(children), operator_label(node))


def shape_note(evaluator: Evaluator, node: Shape, region: Region) -> str:
    shaped = evaluator.shaped_sentences(node, region)
    if node.kind == "earlier_year":
        published = evaluator.analysis.doc.published
        if published is None:
            return "the article has no date"
        before = published.year - EARLIER_YEARS + 1
        if shaped:
            return f"{describe_sentence(shaped[0])} names only years before {before}"
        return f"no sentence names only years before {before}"
    what = "a question" if node.kind == "question" else "a quotation"
    return f"{describe_sentence(shaped[0])} is {what}" if shaped else f"no {what}"


def node_note(evaluator: Evaluator, node: Node, region: Region, outcome: Outcome) -> str:
    """A short remark saying why a clause did or did not fire, where it helps."""
    if isinstance(node, Not):
        if not outcome.ok:
            return evidence(evaluator, node.child, region)
        undated = isinstance(node.child, Shape) and node.child.kind == "earlier_year"
        # Absent because nothing can be known: say so, not that the sentence is news.
        if undated and evaluator.analysis.doc.published is None:
            return "the article has no date"
        return "absent"
    if isinstance(node, Shape):
        return shape_note(evaluator, node, region)
    if isinstance(node, Filter):
        doc = evaluator.analysis.doc
        value = doc.source_id if node.field == "source" else doc.lang
        return f"document {node.field} is {value!r}"
    if isinstance(node, Compare):
        return compare_note(node, evaluator.analysis.doc.fields.get(node.field))
    if (
        isinstance(node, Scope)
        and node.field not in FIELDS_TEXT
        and node.field not in evaluator.analysis.field_regions
    ):
        return f"the document has no {node.field}"
    if isinstance(node, AtLeast):
        count = len(evaluator.hits(node.child, region))
        return f"{count} mention{'s' if count != 1 else ''}, {node.count} needed"
    if isinstance(node, Near) and not outcome.ok:
        left, right = (evaluator.evaluate(c, region).ok for c in (node.left, node.right))
        if left and right:
            order = " in this order" if node.ordered else ""
            words = "word" if node.distance == 1 else "words"
            return f"both occur, but never within {node.distance} {words}{order} in one sentence"
    if is_flat(node) and node.positional:
        found = found_words(evaluator, node, region)
        return "found: " + ", ".join(found) if found else "not found"
    return ""


def compare_note(node: Compare, value: object) -> str:
    if not isinstance(value, float):
        return f"the document has no number in {node.field}"
    shown = f"{value:.0f}" if value.is_integer() else f"{value}"
    return f"{node.field} is {shown}"


def evidence(evaluator: Evaluator, node: Node, region: Region) -> str:
    """What makes a clause hold, in a few words: the words found, or the shape."""
    if isinstance(node, Scope):
        return evidence(
            evaluator, node.child, evaluator.narrow(region, evaluator.field_region(node.field))
        )
    if isinstance(node, Shape | Compare):
        return node_note(evaluator, node, region, evaluator.evaluate(node, region))
    if isinstance(node, Or) and not node.positional:
        held = next(c for c in node.children if evaluator.evaluate(c, region).ok)
        return evidence(evaluator, held, region)
    return "found: " + (", ".join(found_words(evaluator, node, region)) or "yes")


def found_words(evaluator: Evaluator, node: Node, region: Region) -> list[str]:
    """The words of the document that a clause's terms matched, each once, in order."""
    if node.positional:
        hits = evaluator.hits(node, region)
        spans = sorted({m for h in hits for m in h.marks})
    else:
        spans = sorted(set(evaluator.evaluate(node, region).marks))
    words = [" ".join(evaluator.analysis.raws[s:e]) for s, e in spans]
    return list(dict.fromkeys(words))[:6]


def _parts_holding(evaluator: Evaluator, node: Sentence, sentence: int) -> int:
    """How many conjuncts of the SENTENCE body hold in ``sentence`` (closeness score)."""
    parts = node.child.children if isinstance(node.child, And) else (node.child,)
    region = frozenset((sentence,))
    return sum(evaluator.evaluate(p, region).ok for p in parts)


def chosen_sentence(evaluator: Evaluator, node: Sentence, region: Region) -> int | None:
    """The sentence where ``node`` holds, else the closest one, else None."""
    candidates = evaluator.candidate_sentences(node, region)
    for sentence in candidates:
        if evaluator.evaluate(node.child, frozenset((sentence,))).ok:
            return sentence
    if not candidates:
        return None
    return max(candidates, key=lambda s: (_parts_holding(evaluator, node, s), -s))


def explain_sentence(
    evaluator: Evaluator, node: Sentence, region: Region, outcome: Outcome
) -> ExplainNode:
    chosen = chosen_sentence(evaluator, node, region)
    if chosen is None:
        note = "no sentence contains any of its required words"
    elif outcome.ok:
        note = f"holds in {describe_sentence(chosen)}"
    else:
        note = f"no sentence satisfies it; closest is {describe_sentence(chosen)}"
    child_region = region if chosen is None else frozenset((chosen,))
    inner = explain_node(evaluator, node.child, child_region)
    passages: tuple[Passage, ...] = ()
    if chosen is not None:
        marks = evaluator.evaluate(node.child, frozenset((chosen,))).marks
        passages = build_passages(evaluator.analysis, marks, NODE_PASSAGES) or (
            _bare_sentence(evaluator, chosen),
        )
    # "in one sentence, all of" already says what the AND would: show its parts directly.
    children = inner.children if isinstance(node.child, And) else (inner,)
    return ExplainNode(node.text, outcome.ok, passages, note, children, operator_label(node))


def _bare_sentence(evaluator: Evaluator, sentence: int) -> Passage:
    info = evaluator.analysis.sentences[sentence]
    return Passage(info.field, evaluator.analysis.sentence_text(sentence), ())


# -- the one-line reason ------------------------------------------------------------------------


def why_fired(evaluator: Evaluator, node: Node, region: Region = None) -> str:
    """Where and by which clause the rule fired, following the first branch that held."""
    if isinstance(node, Or):
        held = next(c for c in node.children if evaluator.evaluate(c, region).ok)
        return why_fired(evaluator, held, region)
    if isinstance(node, And):
        positive = [c for c in node.children if not isinstance(c, Not)]
        return "; and ".join(why_fired(evaluator, c, region) for c in positive)
    if isinstance(node, Scope):
        inner = evaluator.narrow(region, evaluator.field_region(node.field))
        if isinstance(node.child, Sentence | Or | And):
            return why_fired(evaluator, node.child, inner)
        words = found_words(evaluator, node.child, inner)
        return f"the {node.field} has {', '.join(words)}"
    if isinstance(node, Sentence):
        chosen = chosen_sentence(evaluator, node, region)
        assert chosen is not None
        words = found_words(evaluator, node.child, frozenset((chosen,)))
        return f"{describe_sentence(chosen)} has {', '.join(words)}"
    if isinstance(node, Compare | Shape | Filter):
        return node_note(evaluator, node, region, evaluator.evaluate(node, region))
    words = found_words(evaluator, node, region)
    return f"found {', '.join(words)}" if words else shorten(node.text, 40)


def why_not(evaluator: Evaluator, node: Node, region: Region) -> str:
    """The first requirement that fails, in words."""
    if isinstance(node, And):
        failed = next(c for c in node.children if not evaluator.evaluate(c, region).ok)
        return why_not(evaluator, failed, region)
    if isinstance(node, Or):
        reasons = [why_not(evaluator, c, region) for c in node.children[:3]]
        more = f" (and {len(node.children) - 3} more)" if len(node.children) > 3 else ""
        return "no alternative holds: " + "; ".join(f"({r})" for r in reasons) + more
    if isinstance(node, Not):
        return (
            f"excluded by {shorten(node.child.text, 40)}: {evidence(evaluator, node.child, region)}"
        )
    if isinstance(node, Scope):
        inner = evaluator.narrow(region, evaluator.field_region(node.field))
        return f"in the {node.field}, {why_not(evaluator, node.child, inner)}"
    if isinstance(node, Sentence):
        chosen = chosen_sentence(evaluator, node, region)
        if chosen is None:
            return "no sentence has any of its required words"
        closest = why_not(evaluator, node.child, frozenset((chosen,)))
        return f"no single sentence holds it; closest, {describe_sentence(chosen)}: {closest}"
    if isinstance(node, Near):
        sides = [c for c in (node.left, node.right) if not evaluator.evaluate(c, region).ok]
        if sides:
            return why_not(evaluator, sides[0], region)
        return node_note(evaluator, node, region, FAILED_OUTCOME) + f": {shorten(node.text, 50)}"
    if isinstance(node, AtLeast | Filter | Shape | Compare):
        return f"{shorten(node.text, 40)}: {node_note(evaluator, node, region, FAILED_OUTCOME)}"
    return f"{shorten(node.text, 40)} not found"


FAILED_OUTCOME = Outcome(False, ())

"""Explain a rule's verdict on a document, clause by clause.

Every node of the query is evaluated in the region it applies to and reported with
its own query text, whether it fired, and the passages that made it fire (or, for a
NOT, where the excluded words were found). ``SENTENCE(...)`` is explained in the
sentence where it held, or, when it did not, in the sentence that came closest.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.match.evaluate import Evaluator, Outcome, Region
from monitor.match.nodes import (
    FIELDS_TEXT,
    And,
    AtLeast,
    Compare,
    Filter,
    ListRef,
    Near,
    Node,
    Not,
    Scope,
    Sentence,
    Term,
    children_of,
)
from monitor.match.passages import build_passages
from monitor.match.types import Passage

NODE_PASSAGES = 2


@dataclass(frozen=True)
class ExplainNode:
    """One clause of the query: its text, whether it fired, and the evidence."""

    text: str
    fired: bool
    passages: tuple[Passage, ...] = ()
    note: str = ""
    children: tuple[ExplainNode, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """A rule's verdict on a document with the reasons for it."""

    rule_id: str
    matched: bool
    tree: ExplainNode
    passages: tuple[Passage, ...] = ()
    filter_failures: tuple[str, ...] = ()

    def render(self) -> str:
        """A plain-text report: verdict, filters, then the clause tree (marks as [[...]])."""
        verdict = "matches" if self.matched else "does not match"
        lines = [f"rule '{self.rule_id}' {verdict}"]
        for reason in self.filter_failures:
            lines.append(f"  excluded by filter: {reason}")
        _render_node(self.tree, 0, lines)
        return "\n".join(lines)


def _render_node(node: ExplainNode, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    note = f"  ({node.note})" if node.note else ""
    lines.append(f"{indent}[{'yes' if node.fired else 'no'}] {node.text}{note}")
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
    return Explanation(rule_id, matched, tree, passages, tuple(filter_failures))


def explain_node(evaluator: Evaluator, node: Node, region: Region) -> ExplainNode:
    outcome = evaluator.evaluate(node, region)
    if isinstance(node, Sentence):
        return explain_sentence(evaluator, node, region, outcome)
    child_region = region
    if isinstance(node, Scope):
        child_region = evaluator.narrow(region, evaluator.field_region(node.field))
    children = tuple(explain_node(evaluator, c, child_region) for c in children_of(node))
    passages = build_passages(evaluator.analysis, outcome.marks, NODE_PASSAGES)
    note = node_note(evaluator, node, region, outcome, children)
    return ExplainNode(node.text, outcome.ok, passages, note, children)


def node_note(
    evaluator: Evaluator,
    node: Node,
    region: Region,
    outcome: Outcome,
    children: tuple[ExplainNode, ...],
) -> str:
    """A short remark saying why a clause did or did not fire, where it helps."""
    if isinstance(node, Term | ListRef) and not outcome.ok:
        return "not found"
    if isinstance(node, ListRef):
        entries = [t.text for t in node.terms if evaluator.term_hits(t.key, region)]
        return "found: " + ", ".join(entries)
    if isinstance(node, Not):
        return "the excluded clause is absent" if outcome.ok else "the excluded clause occurs"
    if isinstance(node, Near) and not outcome.ok and all(c.fired for c in children):
        order = " in this order" if node.ordered else ""
        return f"both occur, but never within {node.distance} words{order} in one sentence"
    if isinstance(node, AtLeast):
        count = len(evaluator.hits(node.child, region))
        return f"{count} mention{'s' if count != 1 else ''}, {node.count} needed"
    if isinstance(node, Filter):
        doc = evaluator.analysis.doc
        value = doc.source_id if node.field == "source" else doc.lang
        return f"document {node.field} is {value!r}"
    if isinstance(node, Compare):
        return compare_note(node, evaluator.analysis.doc.fields.get(node.field))
    if isinstance(node, Scope) and node.field not in FIELDS_TEXT:
        absent = node.field not in evaluator.analysis.field_regions
        return f"the document has no {node.field}" if absent else ""
    return ""


def compare_note(node: Compare, value: object) -> str:
    if not isinstance(value, float):
        return f"the document has no number in {node.field}"
    shown = f"{value:.0f}" if value.is_integer() else f"{value}"
    return f"{node.field} is {shown}"


def _parts_holding(evaluator: Evaluator, node: Sentence, sentence: int) -> int:
    """How many conjuncts of the SENTENCE body hold in ``sentence`` (closeness score)."""
    parts = node.child.children if isinstance(node.child, And) else (node.child,)
    region = frozenset((sentence,))
    return sum(evaluator.evaluate(p, region).ok for p in parts)


def explain_sentence(
    evaluator: Evaluator, node: Sentence, region: Region, outcome: Outcome
) -> ExplainNode:
    candidates = evaluator.candidate_sentences(node, region)
    chosen: int | None = None
    if outcome.ok:
        chosen = next(s for s in candidates if evaluator.evaluate(node.child, frozenset((s,))).ok)
        note = f"holds in {describe_sentence(chosen)}"
    elif candidates:
        chosen = max(candidates, key=lambda s: (_parts_holding(evaluator, node, s), -s))
        note = f"no sentence satisfies it; closest is {describe_sentence(chosen)}"
    else:
        note = "no sentence contains any of its required words"
    child_region = region if chosen is None else frozenset((chosen,))
    child = explain_node(evaluator, node.child, child_region)
    passages = build_passages(evaluator.analysis, outcome.marks, NODE_PASSAGES)
    return ExplainNode(node.text, outcome.ok, passages, note, (child,))

"""Check a rule against its own positive and negative examples.

Examples test the query only: the rule's language, source and tag filters are not
applied to them, so an example text needs no metadata. A plain string example is
the text of a document with an empty title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.match.compiler import RuleSet
from monitor.match.explain import Explanation
from monitor.match.types import Document


@dataclass(frozen=True)
class ExampleResult:
    """The verdict on one example: ``ok`` when the rule did what the example expects."""

    rule_id: str
    expected: bool
    text: str
    ok: bool
    explanation: Explanation


def as_document(example: str | Document) -> Document:
    return Document(title="", text=example) if isinstance(example, str) else example


def example_text(doc: Document) -> str:
    return f"{doc.title}\n{doc.text}" if doc.title else doc.text


def check_examples(
    ruleset: RuleSet,
    rule_id: str,
    should_match: Sequence[str | Document],
    should_not_match: Sequence[str | Document],
) -> list[ExampleResult]:
    """One result per example, positives first, in the order given."""
    results = []
    cases = [(e, True) for e in should_match] + [(e, False) for e in should_not_match]
    for example, expected in cases:
        doc = as_document(example)
        explanation = ruleset.explain(rule_id, doc, apply_filters=False)
        results.append(
            ExampleResult(
                rule_id=rule_id,
                expected=expected,
                text=example_text(doc),
                ok=explanation.matched == expected,
                explanation=explanation,
            )
        )
    return results

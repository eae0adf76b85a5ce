"""Watch-rule matching engine: parse queries, compile rules together, match articles.

Pure computation, no I/O. See docs/rules.md for the query language.
"""

from monitor.match.compiler import RuleSet, compile_rules
from monitor.match.examples import ExampleResult, check_examples
from monitor.match.explain import ExplainNode, Explanation
from monitor.match.query import parse_query
from monitor.match.types import (
    Document,
    Passage,
    QueryError,
    RuleMatch,
    RuleSetError,
    RuleSpec,
)

__all__ = [
    "Document",
    "ExampleResult",
    "ExplainNode",
    "Explanation",
    "Passage",
    "QueryError",
    "RuleMatch",
    "RuleSet",
    "RuleSetError",
    "RuleSpec",
    "check_examples",
    "compile_rules",
    "parse_query",
]

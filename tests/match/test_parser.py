"""Query parsing: tree shapes, precedence, node texts, and errors with positions."""

import pytest

from monitor.match import QueryError, RuleSetError, RuleSpec, compile_rules, parse_query
from monitor.match.nodes import (
    And,
    AtLeast,
    Filter,
    ListRef,
    Near,
    Node,
    Not,
    Or,
    Scope,
    Sentence,
    Term,
)

LISTS = {"us_hyperscalers": ["Microsoft", "Azure", "Office 365"], "vide": [], "bad": ["ok", "—"]}


def shape(node: Node) -> str:
    """A compact S-expression of the tree, to assert structure and precedence."""
    if isinstance(node, Term):
        kind = "=" if node.exact else "~"
        return kind + "_".join(node.tokens) + ("*" if node.prefix else "")
    if isinstance(node, ListRef):
        return "@" + node.name
    if isinstance(node, And | Or):
        name = "AND" if isinstance(node, And) else "OR"
        return f"({name} {' '.join(shape(c) for c in node.children)})"
    if isinstance(node, Not):
        return f"(NOT {shape(node.child)})"
    if isinstance(node, Near):
        name = "ONEAR" if node.ordered else "NEAR"
        return f"({name}/{node.distance} {shape(node.left)} {shape(node.right)})"
    if isinstance(node, Scope):
        return f"({node.field}: {shape(node.child)})"
    if isinstance(node, Sentence):
        return f"(SENTENCE {shape(node.child)})"
    if isinstance(node, AtLeast):
        return f"(ATLEAST/{node.count} {shape(node.child)})"
    assert isinstance(node, Filter)
    return f"({node.field}={node.value}{'*' if node.prefix else ''})"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a OR b c", "(OR ~a (AND ~b ~c))"),
        ("a b OR c", "(OR (AND ~a ~b) ~c)"),
        ("(a OR b) c", "(AND (OR ~a ~b) ~c)"),
        ("a AND b NOT c", "(AND ~a ~b (NOT ~c))"),
        ("a NOT b NEAR/3 c", "(AND ~a (NOT (NEAR/3 ~b ~c)))"),
        ("a NEAR/2 b ONEAR/4 c", "(ONEAR/4 (NEAR/2 ~a ~b) ~c)"),
        ("title:a b", "(AND (title: ~a) ~b)"),
        ("lead:(a OR b) NEAR/5 c", "(NEAR/5 (lead: (OR ~a ~b)) ~c)"),
        ('"Office 365" qualifi*', "(AND =office_365 =qualifi*)"),
        ('"obtenu" Microsoft-365', "(AND =obtenu =microsoft_365)"),
        (
            "SENTENCE(a AND NOT b) source:lemonde*",
            "(AND (SENTENCE (AND ~a (NOT ~b))) (source=lemonde*))",
        ),
        ("ATLEAST/3(@us_hyperscalers) lang:FR", "(AND (ATLEAST/3 @us_hyperscalers) (lang=fr))"),
        ('"Office 3*" OR text:a', "(OR =office_3* (text: ~a))"),
    ],
)
def test_precedence_and_tree_shape(query, expected):
    assert shape(parse_query(query, LISTS)) == expected


def test_nodes_keep_their_query_text_with_parentheses():
    root = parse_query('SENTENCE(Microsoft AND NOT (quitter OR "renonce")) title:signe', LISTS)
    assert isinstance(root, And)
    sentence, scope = root.children
    assert sentence.text == 'SENTENCE(Microsoft AND NOT (quitter OR "renonce"))'
    assert sentence.child.children[1].text == 'NOT (quitter OR "renonce")'
    assert scope.text == "title:signe"


def test_list_entries_are_terms_phrases_exact_words_and_prefixes():
    lists = {"l": ["Microsoft", "Office 365", '"Teams"', "Azure*", "Microsoft-365"]}
    (ref,) = [parse_query("@l", lists)]
    assert [shape(t) for t in ref.terms] == [
        "=microsoft",
        "=office_365",
        "=teams",
        "=azure*",
        "=microsoft_365",
    ]


def error_of(query: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(query, LISTS)
    return caught.value


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("a AND", 2, "'AND' needs a word, phrase or group after it"),
        ("OR a", 0, "'OR' needs a word, phrase or group before it"),
        ("a OR OR b", 2, "'OR' needs a word, phrase or group after it"),
        ("(a OR b", 0, "unclosed '(': add the matching ')'"),
        ("a (b OR (c d)", 2, "unclosed '(': add the matching ')'"),
        ("a OR b)", 6, "unmatched ')'"),
        ("a ()", 2, "empty parentheses"),
        ("a NEAR b", 2, "NEAR needs a distance in words, e.g. NEAR/5"),
        ("a ONEAR/x b", 2, "ONEAR needs a distance in words, e.g. ONEAR/5"),
        ("a NEAR/3", 2, "'NEAR/3' needs a word, phrase or list after it"),
        ("a NEAR/3 NOT b", 2, "'NEAR/3' needs a word, phrase or list after it"),
        (
            "a NEAR/3 (b AND c)",
            9,
            "NEAR/3 links words, phrases, wildcards, lists or OR-groups of them",
        ),
        (
            "SENTENCE(a) NEAR/3 b",
            0,
            "NEAR/3 links words, phrases, wildcards, lists or OR-groups of them",
        ),
        (
            "foo:bar",
            0,
            "unknown field 'foo:' (fields are title:, text:, lead:, source:, lang:, buyer:, "
            "awardee:, cpv:, field:NAME:)",
        ),
        ("a title:", 2, "'title:' needs a word, phrase or group after it"),
        ("a source:(b OR c)", 2, "'source:' takes a single value, e.g. source:lemonde"),
        ("a @foo", 2, "unknown list @foo"),
        ("a @us_hyperscaler", 2, "unknown list @us_hyperscaler (did you mean @us_hyperscalers?)"),
        ("a @vide", 2, "list @vide is empty"),
        ("a @bad", 2, "list @bad, entry '—': '—' contains no letter or digit"),
        ("a @", 2, "a list name must follow @, e.g. @us_hyperscalers"),
        ('a "b c', 2, 'unclosed quote: a phrase ends with "'),
        ('a ""', 2, "'\"\"' contains no letter or digit"),
        ("a q*", 2, "a wildcard needs at least 3 letters before *"),
        ("a qu*al", 2, "a wildcard * can only end a word"),
        ("a ATLEAST(b)", 2, "ATLEAST needs a count, e.g. ATLEAST/3(SecNumCloud)"),
        ("a ATLEAST/0(b)", 2, "ATLEAST needs a count of 1 or more"),
        (
            "ATLEAST/2(a b)",
            10,
            "ATLEAST counts mentions of words, phrases, wildcards, lists or OR-groups of them",
        ),
        ("a SENTENCE b", 2, "SENTENCE must be followed by '(', e.g. SENTENCE(a AND b)"),
        ("a -- b", 2, "'--' contains no letter or digit"),
    ],
)
def test_syntax_errors_carry_message_and_position(query, position, message):
    error = error_of(query)
    assert (error.message, error.position) == (message, position)
    assert error.query == query


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        (
            "NOT Microsoft",
            0,
            "a rule cannot be only negative: it would match every document without "
            "Microsoft; add a positive term, e.g. microsoft NOT quitter",
        ),
        (
            "Microsoft OR NOT Azure",
            13,
            "'NOT Azure' lets the rule match documents without any of its words",
        ),
        ("lang:fr", 0, "'lang:fr' only filters documents; combine it with a word or phrase"),
        ("source:a OR b", 0, "'source:a' only filters documents; combine it with a word or phrase"),
        ("SENTENCE(NOT a)", 9, "'NOT a' lets the rule match documents without any of its words"),
    ],
)
def test_rules_that_require_no_term_are_rejected(query, position, message):
    error = error_of(query)
    assert (error.message, error.position) == (message, position)


def test_negation_inside_a_positive_rule_is_accepted():
    assert shape(parse_query("a SENTENCE(NOT b)", LISTS)) == "(AND ~a (SENTENCE (NOT ~b)))"


def test_caret_points_under_the_error():
    error = error_of("Microsoft AND @foo")
    assert error.caret() == "  query: Microsoft AND @foo\n                       ^"
    assert str(error) == "unknown list @foo (at position 14)"


def test_caret_of_a_multiline_query_shows_the_line_of_the_error():
    error = error_of("SENTENCE(Microsoft\n  AND ministère\n  AND NEAR x)")
    assert error.position == 41
    assert error.caret() == "  query (line 3):   AND NEAR x)\n                        ^"


def test_rule_set_error_collects_every_bad_rule():
    rules = [
        RuleSpec("ok", "Microsoft"),
        RuleSpec("bad-list", "Microsoft @nope"),
        RuleSpec("bad-paren", "(Azure"),
        RuleSpec("ok", "Azure"),
    ]
    with pytest.raises(RuleSetError) as caught:
        compile_rules(rules, LISTS)
    errors = caught.value.errors
    assert [(rule_id, e.message, e.position) for rule_id, e in errors] == [
        ("bad-list", "unknown list @nope", 10),
        ("bad-paren", "unclosed '(': add the matching ')'", 0),
        ("ok", "duplicate rule id 'ok'", 0),
    ]
    assert str(caught.value).splitlines()[:4] == [
        "3 rules could not be compiled:",
        "rule 'bad-list': unknown list @nope",
        "  query: Microsoft @nope",
        "                   ^",
    ]

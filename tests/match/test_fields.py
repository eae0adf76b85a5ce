"""Structured fields in the rule language: scopes (``awardee:``, ``field:NAME:``) and
numeric comparisons (``amount >= 1000000``), parsed, evaluated and explained."""

import pytest

from monitor.fields import Fields
from monitor.match import Document, QueryError, RuleSpec, compile_rules, parse_query
from monitor.match.nodes import Compare, ListRef, Scope, Term
from monitor.match.query import POSITIONAL

LISTS = {"vendors": ["Microsoft", "Amazon Web Services", "Oracle"], "bodies": ["ministère"]}

NOTICE = Document(
    title="Acquisition de licences bureautiques",
    text="Fourniture de licences et de services associés pour les postes de travail.",
    fields=Fields(
        {
            "buyer": "Ministère des Armées",
            "awardee": ("Capgemini Technology Services", "Microsoft Ireland Operations"),
            "cpv": ("48000000-8", "72000000-5"),
            "nature": "ATTRIBUTION",
            "amount": 1_250_000,
        }
    ),
)


def matches(query: str, doc: Document = NOTICE) -> bool:
    return bool(compile_rules([RuleSpec("r", query)], LISTS).match(doc))


def error_of(query: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(query, LISTS)
    return caught.value


# -- the record ----------------------------------------------------------------------------------


def test_fields_are_immutable_hashable_and_typed():
    fields = Fields({"amount": 5, "awardee": ["A", "B"], "buyer": "C"})
    assert fields["amount"] == 5.0 and isinstance(fields["amount"], float)
    assert fields.texts("awardee") == ("A", "B") and fields.texts("amount") == ()
    assert hash(fields) == hash(Fields({"buyer": "C", "awardee": ("A", "B"), "amount": 5.0}))
    assert hash(NOTICE) == hash(NOTICE)  # documents stay hashable
    with pytest.raises(TypeError):
        fields["amount"] = 6  # type: ignore[index]
    with pytest.raises(TypeError, match="field 'flag'"):
        Fields({"flag": True})
    with pytest.raises(TypeError, match="field 'x'"):
        Fields({"x": {"nested": "object"}})


# -- parsing ----------------------------------------------------------------------------------


def test_structured_scopes_parse_like_title_scopes():
    root = parse_query("awardee:@vendors", LISTS)
    assert isinstance(root, Scope) and root.field == "awardee"
    assert isinstance(root.child, ListRef)
    generic = parse_query("field:Nature:attribution", LISTS)
    assert isinstance(generic, Scope) and generic.field == "nature"
    assert isinstance(generic.child, Term) and generic.text == "field:Nature:attribution"


@pytest.mark.parametrize(
    "query", ["amount >= 1000000 x", "amount>=1000000 x", "Amount >=1_000_000 x"]
)
def test_comparisons_parse_with_or_without_spaces(query):
    compare = parse_query(query, LISTS).children[0]  # type: ignore[attr-defined]
    assert isinstance(compare, Compare)
    assert (compare.field, compare.op, compare.value) == ("amount", ">=", 1_000_000.0)
    assert compare.text == query.removesuffix(" x")


def test_a_cpv_division_is_a_two_digit_wildcard():
    term = parse_query("cpv:72*", LISTS).child  # type: ignore[attr-defined]
    assert isinstance(term, Term) and term.prefix and term.tokens == ("72",)


NO_NAME = "'field:' needs a field name and a colon, e.g. field:nature:attribution"
ONLY_FILTERS = "only filters documents; combine it with a word or phrase"


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("x field:", 2, NO_NAME),
        ("x field:nature", 2, NO_NAME),
        ("x field:title:a", 2, "'title' is not a structured field: write title:"),
        ("x amount >=", 9, "'>=' needs a number after it, e.g. amount >= 1000000"),
        ('x amount >= "5"', 9, "'>=' needs a number after it, e.g. amount >= 1000000"),
        ("x AND >= 5", 6, "'>=' needs a field name before it, e.g. amount >= 1000000"),
        ("x NOT < 5", 6, "'<' needs a field name before it, e.g. amount >= 1000000"),
        ("x amount >= lots", 12, "'lots' is not a number: write digits, e.g. 1000000"),
        ("x title >= 3", 2, "'title' is not a numeric field name"),
        ("x amount >= 5 NEAR/3 y", 2, "NEAR/3 links " + POSITIONAL),
        ("cpv:7*", 4, "a wildcard needs at least 2 digits before *"),
        ("amount >= 5", 0, f"'amount >= 5' {ONLY_FILTERS}"),
        ("x OR amount < 5", 5, f"'amount < 5' {ONLY_FILTERS}"),
    ],
)
def test_errors_point_at_the_clause(query, position, message):
    error = error_of(query)
    assert (error.message, error.position) == (message, position)


# -- evaluation -------------------------------------------------------------------------------


def test_a_scope_looks_at_its_field_only():
    assert matches("awardee:@vendors")
    assert matches("buyer:@bodies AND field:nature:attribution")
    assert not matches("buyer:@vendors")
    # The title and text never answer for a field, nor a field for the text.
    press = Document(title="Microsoft", text="Le ministère signe avec Microsoft.")
    assert not matches("awardee:@vendors", press)
    assert not matches("text:Capgemini")
    assert not matches("lead:Capgemini")


def test_unscoped_words_also_see_the_fields():
    assert matches("Capgemini AND ministère")


def test_each_value_is_a_sentence_of_its_own():
    assert matches('awardee:"Microsoft Ireland"')
    assert not matches("awardee:(Capgemini NEAR/5 Microsoft)")
    assert not matches("SENTENCE(Capgemini AND Microsoft)")


def test_cpv_prefixes_match_codes_at_the_start_only():
    assert matches("cpv:48*") and matches("cpv:72000000")
    assert not matches("cpv:80*")
    assert not matches("cpv:000*")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cpv:48* amount >= 1250000", True),
        ("cpv:48* amount > 1250000", False),
        ("cpv:48* amount <= 1250000", True),
        ("cpv:48* amount < 1000000", False),
        ("cpv:48* amount = 1250000", True),
        ("cpv:48* amount = 1250000.5", False),
        ("cpv:48* duration > 0", False),  # a missing field passes no comparison
        ("cpv:48* nature > 0", False),  # nor does a text
    ],
)
def test_comparisons(query, expected):
    assert matches(query) is expected


def test_rules_on_fields_are_indexed_by_their_terms():
    ruleset = compile_rules([RuleSpec("r", "awardee:Oracle AND amount > 0")], LISTS)
    assert ruleset.rule("r").trigger == frozenset({"=oracle"})
    assert ruleset.match(NOTICE) == []


# -- explanation ------------------------------------------------------------------------------


def test_explanation_shows_field_passages_and_why_a_clause_failed():
    ruleset = compile_rules(
        [RuleSpec("r", "awardee:@vendors AND amount >= 2000000 AND field:region:bretagne")], LISTS
    )
    lines = ruleset.explain("r", NOTICE).render().splitlines()
    assert lines == [
        "rule 'r' does not match: amount >= 2000000: amount is 1250000",
        "  [no] all of",
        "    [yes] awardee:@vendors  (found: Microsoft)",
        "    [no] amount >= 2000000  (amount is 1250000)",
        "    [no] field:region:bretagne  (the document has no region)",
    ]
    fired = compile_rules([RuleSpec("r", "awardee:@vendors AND amount >= 1000")], LISTS)
    explanation = fired.explain("r", NOTICE)
    assert explanation.reason == "the awardee has Microsoft; and amount is 1250000"
    assert explanation.passages[0].highlighted() == "[[Microsoft]] Ireland Operations"


def test_match_passages_come_from_the_fields():
    ruleset = compile_rules([RuleSpec("r", "awardee:Microsoft AND buyer:@bodies")], LISTS)
    (match,) = ruleset.match(NOTICE)
    assert [(p.field, p.highlighted()) for p in match.passages] == [
        ("buyer", "[[Ministère]] des Armées"),
        ("awardee", "[[Microsoft]] Ireland Operations"),
    ]
    assert match.clauses == ("awardee:Microsoft", "buyer:@bodies")

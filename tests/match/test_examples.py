"""check_examples: each example of a rule run through its query, filters aside.
(The rules shown in docs/rules.md are run against their examples in
tests/pack/test_docs.py.)"""

import pytest

from monitor.match import Document, ExampleResult, RuleSpec, check_examples, compile_rules

QUALIFIED = RuleSpec(
    "secnumcloud-obtained",
    """SENTENCE(SecNumCloud AND qualification AND ("a obtenu*" OR "obtient")
                AND NOT (vise OR "obtiendra"))""",
    languages=("fr",),
)


@pytest.fixture(scope="module")
def ruleset():
    return compile_rules([QUALIFIED], {})


def test_check_examples_reports_each_example(ruleset):
    results = check_examples(
        ruleset,
        "secnumcloud-obtained",
        ["Scaleway vise la qualification SecNumCloud."],
        [Document(title="OVHcloud a obtenu la qualification SecNumCloud", text="Enfin.")],
    )
    assert [(r.rule_id, r.expected, r.ok, r.text) for r in results] == [
        ("secnumcloud-obtained", True, False, "Scaleway vise la qualification SecNumCloud."),
        (
            "secnumcloud-obtained",
            False,
            False,
            "OVHcloud a obtenu la qualification SecNumCloud\nEnfin.",
        ),
    ]
    assert all(isinstance(r, ExampleResult) for r in results)
    assert results[0].explanation.render().startswith("rule 'secnumcloud-obtained' does not match")
    assert results[1].explanation.matched


def test_examples_ignore_the_rule_filters(ruleset):
    english = Document(title="", text="OVHcloud a obtenu la qualification SecNumCloud.", lang="en")
    assert ruleset.match(english) == []
    (result,) = check_examples(ruleset, "secnumcloud-obtained", [english], [])
    assert result.ok
    assert result.explanation.filter_failures == ()


def test_check_examples_of_an_unknown_rule_raises(ruleset):
    with pytest.raises(KeyError):
        check_examples(ruleset, "nope", ["x"], [])

"""check_examples, and the rules shown in docs/rules.md against their own examples."""

import re
import tomllib
from pathlib import Path

import pytest

from monitor.match import Document, ExampleResult, RuleSpec, check_examples, compile_rules

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def documented_config() -> tuple[dict[str, list[str]], list[dict]]:
    """The [lists] and [[rule]] tables of every TOML block of docs/rules.md."""
    lists: dict[str, list[str]] = {}
    rules: list[dict] = []
    for block in re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S):
        table = tomllib.loads(block)
        lists.update(table.get("lists", {}))
        rules.extend(table.get("rule", []))
    return lists, rules


LISTS, RULES = documented_config()
SPECS = [RuleSpec(r["id"], r["query"], languages=tuple(r.get("languages", ()))) for r in RULES]


def as_example(example: str | dict) -> str | Document:
    return example if isinstance(example, str) else Document(**example)


@pytest.fixture(scope="module")
def ruleset():
    return compile_rules(SPECS, LISTS)


def test_the_docs_show_a_rule_and_the_three_event_rules():
    assert [r["id"] for r in RULES] == [
        "provider-qualified",
        "ministry-signs-microsoft",
        "secnumcloud-obtained",
        "body-leaves-microsoft",
    ]


@pytest.mark.parametrize("rule", RULES, ids=[r["id"] for r in RULES])
def test_documented_rules_keep_their_examples(ruleset, rule):
    positives = [as_example(e) for e in rule["should_match"]]
    negatives = [as_example(e) for e in rule["should_not_match"]]
    results = check_examples(ruleset, rule["id"], positives, negatives)
    assert [r.explanation.render() for r in results if not r.ok] == []
    assert [r.expected for r in results] == [True] * len(positives) + [False] * len(negatives)


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

"""JSON sources in sources.toml: kind json with its mapping, the boamp and decp presets
with their filter, and every mistake reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.presets import BOAMP, DECP
from monitor.errors import ConfigError
from monitor.preflight import load_checked

from support import REPO, write

RULES = """
[[rule]]
id = "r"
title = "R"
query = 'Microsoft'
"""

JSON_SOURCE = """
[[source]]
id = "feed"
name = "Feed"
url = "https://example.org/feed"

[[source]]
id = "api"
name = "API"
kind = "json"
url = "https://example.org/api/records?dataset=x"
params = { order_by = "published asc" }
paging = { style = "next", next = "links.next", limit = 50, limit_param = "page_size" }
cursor = { field = "published", param = "published__greater", template = "{value}" }
lookback = "3d"

[source.mapping]
records = "data"
id = ["buyer_id", "id"]
title = "subject"
text = ["subject", "summary"]
link_template = "https://example.org/notices/{id}"
empty = ["n/a"]

[source.mapping.fields]
buyer = "buyer.name"
awardee = ["winners.name", "winner"]

[source.mapping.numbers]
amount = "value"
"""


def load(tmp_path: Path, sources: str):
    write(tmp_path / "sources.toml", sources)
    write(tmp_path / "alerts" / "rules.toml", RULES)
    return load_checked(tmp_path, {})


def problems(tmp_path: Path, sources: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, sources)
    return [str(p) for p in error.value.problems]


def test_a_json_source_is_typed_and_keeps_its_records_text(tmp_path: Path) -> None:
    source = load(tmp_path, JSON_SOURCE).source("api")
    assert source.kind == "json" and source.extract is False
    assert source.mapping is not None and source.cursor is not None
    assert source.mapping.id == ("buyer_id", "id")
    assert source.mapping.fields == {"buyer": "buyer.name", "awardee": ("winners.name", "winner")}
    assert source.mapping.numbers == {"amount": "value"}
    assert (source.paging.style, source.paging.limit, source.paging.next) == (
        "next",
        50,
        "links.next",
    )
    assert source.cursor.param == "published__greater"
    assert source.lookback.days == 3 and source.params == {"order_by": "published asc"}


def test_a_preset_is_its_mapping_narrowed_by_the_filter(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [[source]]
        id = "boamp-it"
        name = "BOAMP"
        kind = "boamp"

        [source.filter]
        where = 'descripteur_libelle like "informatique"'
        natures = ["ATTRIBUTION", "RECTIFICATIF"]
        cpv = ["48", "72"]
        buyers = ["ministère"]

        [[source]]
        id = "decp"
        name = "DECP"
        kind = "decp"
        url = "https://mirror.example.org/api/explore/v2.1/catalog/datasets/decp/records"
        """,
    )
    boamp, decp = config.source("boamp-it"), config.source("decp")
    assert boamp.url == BOAMP.url and boamp.extract is False
    assert boamp.params == {
        "order_by": "dateparution asc, idweb asc",
        "where": '(descripteur_libelle like "informatique") '
        'AND (nature = "ATTRIBUTION" OR nature = "RECTIFICATIF")',
    }
    assert boamp.mapping is not None
    assert boamp.mapping.require == {"cpv": ("48", "72"), "buyer": ("ministère",)}
    assert boamp.mapping.fields == BOAMP.mapping.fields
    assert (boamp.paging, boamp.cursor) == (BOAMP.paging, BOAMP.cursor)
    assert decp.url.startswith("https://mirror.example.org/")  # a preset's URL can be moved
    assert decp.params == DECP.params and decp.mapping == DECP.mapping


def test_the_shipped_examples_load_and_are_disabled() -> None:
    config = load_checked(REPO, {})
    json_sources = [s for s in config.sources if s.kind in ("json", "boamp", "decp")]
    assert {s.kind for s in json_sources} == {"boamp", "decp"}
    assert not any(s.enabled for s in json_sources)
    assert all(s.mapping and s.mapping.require.get("cpv") == ("48", "72") for s in json_sources)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('records = "data"', 'records = "data"\nbogus = 1'),
            "sources.toml:18: [source.1.mapping.bogus] source 'api': unknown key 'bogus'",
        ),
        (
            ('title = "subject"\n', ""),
            "sources.toml:16: [source.1.mapping.title] source 'api': missing required key 'title'",
        ),
        (
            ('buyer = "buyer.name"', 'title = "buyer.name"'),
            "sources.toml:16: [source.1.mapping] source 'api': mapping: invalid field name "
            "'title': lowercase letters, digits and _, not one of title, text, lead, source, "
            "lang",
        ),
        (
            ('buyer = "buyer.name"', 'buyer = "buyer..name"'),
            "sources.toml:16: [source.1.mapping] source 'api': mapping: invalid path "
            "'buyer..name': keys joined by dots, at most 16",
        ),
        (
            ('empty = ["n/a"]', 'require = { cpv = ["48"] }'),
            "sources.toml:16: [source.1.mapping] source 'api': mapping: 'require' names "
            "'cpv', which is not in 'fields'",
        ),
        (
            ("notices/{id}", "notices/{ident}"),
            "sources.toml:16: [source.1.mapping] source 'api': mapping: link_template must use "
            "{id} and no other braces",
        ),
        (
            ('template = "{value}"', 'template = "published"'),
            "sources.toml:13: [source.1.cursor] source 'api': cursor: template must use "
            "{value} and no other braces",
        ),
        (
            ('style = "next", next = "links.next"', 'style = "next"'),
            "sources.toml:12: [source.1.paging] source 'api': paging: style \"next\" needs "
            'the path of the next link: next = "..."',
        ),
        (
            ('style = "next"', 'style = "cursor"'),
            "sources.toml:12: [source.1.paging.style] source 'api': Input should be 'offset', "
            "'next' or 'none'",
        ),
    ],
)
def test_json_source_mistakes_name_file_line_and_key(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in JSON_SOURCE
    assert problems(tmp_path, JSON_SOURCE.replace(old, new, 1)) == [expected]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'kind = "json"',
            "source 'x': a 'json' source needs a 'mapping' (see docs/sources-json.md)",
        ),
        (
            'kind = "decp"\nmapping = { records = "r", id = "i", title = "t" }',
            "source 'x': a 'decp' source takes a 'filter', not 'mapping'; write kind = \"json\" "
            "to map the records yourself",
        ),
        (
            'kind = "boamp"\nfilter = { cpv = ["72*"] }',
            "source 'x': invalid CPV prefix '72*': up to 8 digits, such as \"72\"",
        ),
        (
            'kind = "boamp"\nfilter = { natures = ["ATTRIBUTION\\" OR 1=1"] }',
            "source 'x': invalid nature 'ATTRIBUTION\" OR 1=1': letters, digits, spaces, ' and -",
        ),
        (
            'params = { limit = "5" }',
            "source 'x': 'params' is for JSON sources (kind json, boamp, decp)",
        ),
    ],
)
def test_kind_and_key_mismatches_are_explained(tmp_path: Path, source: str, expected: str) -> None:
    sources = f"""
[[source]]
id = "x"
name = "X"
url = "https://example.org/x"
{source}
"""
    (found,) = problems(tmp_path, sources)
    assert found.endswith(expected), found


def test_rule_examples_take_structured_fields(tmp_path: Path) -> None:
    from monitor.config import example_document

    write(tmp_path / "sources.toml", JSON_SOURCE)
    write(
        tmp_path / "alerts" / "rules.toml",
        """
        [[rule]]
        id = "r"
        title = "R"
        query = 'awardee:Oracle AND amount >= 1000000'
        should_match = [{ title = "t", fields = { awardee = ["ORACLE FR", "X"], amount = 1.3e6 } }]
        should_not_match = [{ title = "t", fields = { awardee = "ORACLE FRANCE", amount = 9e5 } }]
        """,
    )
    rule = load_checked(tmp_path, {}).rule("r")
    match, no_match = (example_document(e) for e in (*rule.should_match, *rule.should_not_match))
    assert dict(match.fields) == {"awardee": ("ORACLE FR", "X"), "amount": 1_300_000.0}
    assert no_match.fields["amount"] == 900_000.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ('{ Awardee = "x" }', "invalid field name 'Awardee'"),
        ("{ awardee = true }", "field 'awardee': expected a text, a number or a list of texts"),
    ],
)
def test_bad_example_fields_are_reported_at_the_rule(
    tmp_path: Path, fields: str, message: str
) -> None:
    write(tmp_path / "sources.toml", JSON_SOURCE)
    write(
        tmp_path / "alerts" / "rules.toml",
        f"""
        [[rule]]
        id = "r"
        title = "R"
        query = 'awardee:Oracle'
        should_match = [{{ title = "t", fields = {fields} }}]
        """,
    )
    with pytest.raises(ConfigError) as error:
        load_checked(tmp_path, {})
    (problem,) = error.value.problems
    assert str(problem).startswith("alerts/rules.toml:5: [rule.0.should_match.0.table.fields]")
    assert message in str(problem)

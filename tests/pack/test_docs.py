"""docs/rules.md against the real thing: its rules compile with the shipped lists through
the configuration loader and keep their examples, its excerpts of the pack are the pack,
its `@lists` exist, and every `monitor ...` command it shows parses."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import build_parser, main
from monitor.config import Config, Example, RuleConfig, example_document
from monitor.config.alerts import alert_files
from monitor.errors import ConfigError
from monitor.match import Document, RuleSetError, RuleSpec, check_examples, compile_rules
from monitor.preflight import load_checked

from support import REPO

DOCS = REPO / "docs" / "rules.md"
# `@NAME` stands for any list; the others are mistakes shown in the error messages.
NOT_LISTS = {"NAME", "us_hyperscaler", "foo"}


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence in docs/rules.md
    text: str
    data: dict[str, Any]


def toml_blocks() -> list[Block]:
    page = DOCS.read_text(encoding="utf-8")
    blocks = []
    for found in re.finditer(r"^```toml\n(.*?)^```", page, re.S | re.M):
        line = page.count("\n", 0, found.start()) + 1
        try:
            data = tomllib.loads(found.group(1))
        except tomllib.TOMLDecodeError as exc:
            pytest.fail(f"docs/rules.md:{line}: TOML block does not parse: {exc}")
        blocks.append(Block(line, found.group(1), data))
    return blocks


def shipped_pack() -> dict[str, Any]:
    """The [lists] and [actors] tables of every file of the shipped alerts/."""
    pack: dict[str, Any] = {"lists": {}, "actors": {}}
    for path in alert_files(REPO / "alerts"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for table in pack:
            pack[table].update(data.get(table, {}))
    return pack


def is_excerpt(block: Block) -> bool:
    """A block that shows part of the shipped pack's lists or actors, as it is there."""
    pack = shipped_pack()
    return (
        set(block.data) <= {"lists", "actors"}
        and all(isinstance(table, dict) for table in block.data.values())
        and set(block.data.get("lists", {})) <= set(pack["lists"])
        and set(block.data.get("actors", {})) <= set(pack["actors"])
    )


def is_config(block: Block) -> bool:
    """A block that is a file of alerts/ on its own: rules, and lists of its own."""
    return "rule" in block.data or (not is_excerpt(block) and set(block.data) <= {"lists"})


BLOCKS = toml_blocks()
RULE_BLOCKS = [b for b in BLOCKS if "rule" in b.data]
DOC_RULES = [(b, rule) for b in RULE_BLOCKS for rule in b.data["rule"]]


def copy_shipped_config(root: Path) -> Path:
    shutil.copy(REPO / "sources.toml", root / "sources.toml")
    shutil.copytree(REPO / "alerts", root / "alerts")
    return root


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The shipped configuration with every rule block of the page added as a file of
    alerts/, loaded as `monitor check` loads it."""
    root = copy_shipped_config(tmp_path_factory.mktemp("docs-config"))
    for block in filter(is_config, BLOCKS):
        path = root / "alerts" / "docs" / f"rules-md-line-{block.line}.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(block.text, encoding="utf-8")
    try:
        return load_checked(root, {})
    except ConfigError as exc:
        pytest.fail(f"the rules of docs/rules.md do not load with the shipped pack:\n{exc}")


def test_the_page_shows_rules_with_examples_both_ways() -> None:
    assert len(DOC_RULES) >= 4
    for block, rule in DOC_RULES:
        assert rule.get("should_match") and rule.get("should_not_match"), (block.line, rule["id"])
        # A disabled rule is not compiled: its query would go unchecked.
        assert rule.get("enabled", True), (block.line, rule["id"])


@pytest.mark.parametrize(
    "rule", [r for _, r in DOC_RULES], ids=[f"line-{b.line}-{r['id']}" for b, r in DOC_RULES]
)
def test_a_documented_rule_keeps_its_examples(documented: Config, rule: dict[str, Any]) -> None:
    loaded = documented.rule(rule["id"])
    results = check_examples(
        documented.ruleset,
        loaded.id,
        [example_document(e) for e in loaded.should_match],
        [example_document(e) for e in loaded.should_not_match],
    )
    failures = [f"{r.text!r}\n{r.explanation.render()}" for r in results if not r.ok]
    assert not failures, "\n\n".join(failures)
    assert len(results) == len(rule["should_match"]) + len(rule["should_not_match"])


def test_excerpts_of_the_pack_are_what_the_pack_holds() -> None:
    pack = shipped_pack()
    excerpts = [b for b in BLOCKS if is_excerpt(b)]
    assert excerpts, "the page quotes the shipped lists"
    for block in excerpts:
        for name, terms in block.data.get("lists", {}).items():
            missing = set(terms) - set(pack["lists"][name])
            assert not missing, f"docs/rules.md:{block.line}: @{name} has no {sorted(missing)}"
        for kind, table in block.data.get("actors", {}).items():
            shipped = pack["actors"][kind]
            for key in ("heads", "lists"):
                missing = set(table.get(key, ())) - set(shipped.get(key, ()))
                assert not missing, f"docs/rules.md:{block.line}: actors.{kind}.{key} {missing}"
            for actor, names in table.get("names", {}).items():
                missing = set(names) - set(shipped["names"].get(actor, ()))
                assert not missing, f"docs/rules.md:{block.line}: {kind}.{actor} {missing}"


def test_fragments_are_rule_keys_with_valid_values() -> None:
    fragments = [b for b in BLOCKS if not is_config(b) and not is_excerpt(b)]
    for block in fragments:
        unknown = set(block.data) - set(RuleConfig.model_fields)
        assert not unknown, f"docs/rules.md:{block.line}: not rule keys: {unknown}"
        RuleConfig.model_validate({"id": "fragment", "title": "t", "query": "x", **block.data})


def test_every_list_the_page_names_is_shipped_or_defined_on_it() -> None:
    page = DOCS.read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w.@])@([A-Za-z_][\w.-]*\w)", page))
    defined = {n for b in BLOCKS if is_config(b) for n in b.data.get("lists", {})}
    unknown = named - set(shipped_pack()["lists"]) - defined - NOT_LISTS
    assert not unknown, f"docs/rules.md names lists the pack does not have: {sorted(unknown)}"


def shipped_lists_table() -> dict[str, str]:
    """The rows of "The shipped lists": list name -> its "used by" cell."""
    page = DOCS.read_text(encoding="utf-8")
    section = page[page.index("## The shipped lists") :]
    section = section[: section.index("\n## ", 1)]
    return dict(re.findall(r"^\| `@([\w-]+)` \|.*\| ([^|]*) \|$", section, re.M))


def test_every_shipped_list_is_described() -> None:
    assert set(shipped_lists_table()) == set(shipped_pack()["lists"])


def test_the_rules_said_to_use_a_list_are_those_that_do() -> None:
    shipped = load_checked(REPO, {}).rules
    for name, used_by in shipped_lists_table().items():
        said = {r.id for r in shipped if re.search(rf"\b{re.escape(r.id)}\b", used_by)}
        using = re.compile(rf"@{re.escape(name)}(?![\w.-])")
        actual = {r.id for r in shipped if using.search(f"{r.query} {r.related or ''}")}
        assert said == actual, f"@{name}: the page says {sorted(said)}, the pack {sorted(actual)}"


# -- the commands the page shows -------------------------------------------------------------


def shown_commands() -> list[str]:
    """`monitor ...` in code spans (environment settings before it left out), and the
    `$ monitor ...` lines of console blocks."""
    page = DOCS.read_text(encoding="utf-8")
    spans = re.findall(r"(?<!`)`(?:[A-Z_]+=\S+ )*(monitor [^`\n]+)`", page)
    prompts = re.findall(r"^\$ (monitor .+)$", page, re.M)
    return spans + prompts


def test_the_page_shows_the_commands_that_judge_a_rule() -> None:
    shown = " ".join(shown_commands())
    for command in ("rules eval", "rules explain", "rules test", "backtest", "feedback export"):
        assert f"monitor {command}" in shown or f" {command} " in shown, command


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }


def names_a_command(words: list[str]) -> bool:
    """`monitor rules eval` written as the name of a command, not a command to run."""
    parser = build_parser()
    for word in words:
        parser = subcommands(parser).get(word)  # type: ignore[assignment]
        if parser is None:
            return False
    return True


@pytest.mark.parametrize("command", shown_commands())
def test_a_shown_command_parses(documented: Config, command: str) -> None:
    words = shlex.split(command)[1:]
    for cut in (">", "|", "2>"):  # a redirection or a pipe ends the command
        if cut in words:
            words = words[: words.index(cut)]
    if names_a_command(words):
        return
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = build_parser().parse_args(words)
    except SystemExit:
        pytest.fail(f"`{command}` does not parse: {errors.getvalue().strip()}")
    named = [getattr(args, "rule_id", None), getattr(args, "rule", None)]
    named += getattr(args, "rule_ids", None) or []
    known = {r.id for r in documented.rules}
    assert {n for n in named if n} <= known, f"`{command}` names an unknown rule"


# -- the operators' one-line examples --------------------------------------------------------

# A query alone on its line in code (maybe with the articles' date: "published
# 2013-04-18"), then a matching (✓) and a non-matching (✗) text.
OPERATOR_EXAMPLE = re.compile(r"^`([^`\n]+)`([^\n]*)\n✓ \*([^*]+)\*[^✗]*✗ \*([^*]+)\*", re.M)
PUBLISHED = re.compile(r"published (\d{4}-\d\d-\d\d)")


def operator_examples() -> list[tuple[str, Document, Document]]:
    page = DOCS.read_text(encoding="utf-8")
    examples = []
    for query, rest, yes, no in OPERATOR_EXAMPLE.findall(page):
        dated = PUBLISHED.search(rest)
        published = date.fromisoformat(dated.group(1)) if dated else None
        examples.append(
            (
                query,
                Document("", " ".join(yes.split()), published=published),
                Document("", " ".join(no.split()), published=published),
            )
        )
    return examples


def test_the_operators_are_shown_with_examples() -> None:
    assert len(operator_examples()) >= 9


@pytest.mark.parametrize(("query", "yes", "no"), operator_examples())
def test_an_operator_example_holds(
    documented: Config, query: str, yes: Document, no: Document
) -> None:
    ruleset = compile_rules([RuleSpec("example", query)], documented.lists)
    results = check_examples(ruleset, "example", [yes], [no])
    assert [r.explanation.render() for r in results if not r.ok] == []


# A query in a plain code block, then a table of articles and the verdict on each.
VERDICT_TABLE = re.compile(
    r"^```\n([^`]+?)\n```\n\n\| article \| result \|\n\|---\|---\|\n((?:\|.*\n)+)", re.M
)


def verdict_tables() -> list[tuple[str, list[str], list[str]]]:
    tables = []
    for query, rows in VERDICT_TABLE.findall(DOCS.read_text(encoding="utf-8")):
        verdicts = re.findall(r"^\| \*([^*]+)\* \| ([✓✗])", rows, re.M)
        tables.append(
            (query, [t for t, v in verdicts if v == "✓"], [t for t, v in verdicts if v == "✗"])
        )
    return tables


def test_a_verdict_table_holds(documented: Config) -> None:
    tables = verdict_tables()
    assert tables, "the SENTENCE(...) table"
    for query, yes, no in tables:
        ruleset = compile_rules([RuleSpec("table", query)], documented.lists)
        results = check_examples(ruleset, "table", yes, no)
        assert [r.explanation.render() for r in results if not r.ok] == [], query
        assert len(results) >= 4


# -- the outputs the page shows ----------------------------------------------------------------


def console_blocks(command: str) -> list[tuple[list[str], str]]:
    """The `$ monitor COMMAND ...` console blocks: the command's words and what it prints."""
    page = DOCS.read_text(encoding="utf-8")
    blocks = []
    for found in re.finditer(r"^```console\n\$ monitor ([^\n]+)\n(.*?)^```", page, re.S | re.M):
        if found.group(1).startswith(command) and found.group(2):
            blocks.append((shlex.split(found.group(1)), found.group(2)))
    return blocks


def run_monitor(root: Path, words: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    main(["--config", str(root), *words])
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_the_shown_explanation_is_what_rules_explain_prints(
    documented: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = console_blocks("rules explain")
    assert blocks
    for words, shown in blocks:
        assert run_monitor(documented.root, words, capsys) == shown


def test_the_shown_error_is_what_check_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ((words, shown),) = console_blocks("check")
    where, rule_id = re.search(r"^  (alerts/[\w./-]+):4: rule '([\w-]+)'", shown, re.M).groups()
    query = re.search(r"^  query: (.*)$", shown, re.M).group(1)
    copy_shipped_config(tmp_path)
    (tmp_path / where).write_text(
        f"[[rule]]\nid = {rule_id!r}\ntitle = 't'\nquery = '''{query}'''\n", encoding="utf-8"
    )
    assert run_monitor(tmp_path, words, capsys) == shown


def error_table() -> list[tuple[str, str]]:
    page = DOCS.read_text(encoding="utf-8")
    table = page[page.index("| mistake | message |") :]
    table = table[: table.index("\n\n")]
    return re.findall(r"^\| `([^`]+)`(?:, `[^`]+`)* \| `([^`]+)`", table, re.M)


def test_the_error_table_is_shown() -> None:
    assert len(error_table()) >= 20


@pytest.mark.parametrize(("query", "message"), error_table())
def test_a_mistake_gets_the_message_shown(documented: Config, query: str, message: str) -> None:
    with pytest.raises(RuleSetError) as raised:
        compile_rules([RuleSpec("mistake", query)], documented.lists)
    ((_, error),) = raised.value.errors
    assert error.message == message


def test_every_link_within_the_page_finds_its_heading() -> None:
    page = DOCS.read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.+)$", page, re.M)
    # GitHub's anchors: lower case, punctuation dropped, spaces as hyphens.
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
    links = set(re.findall(r"\]\(#([^)]+)\)", page))
    assert links and links <= anchors, sorted(links - anchors)


# -- the tables of keys ------------------------------------------------------------------------


def keys_table(after: str) -> dict[str, str]:
    """The first `| key | type | default | meaning |` table after `after`: key -> default."""
    page = DOCS.read_text(encoding="utf-8")
    table = page[page.index("| key | type | default | meaning |", page.index(after)) :]
    table = table[: table.index("\n\n")]
    return dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", table, re.M))


def shown_default(cell: str) -> object:
    """A default as the table writes it: a TOML value in code, `required`, or words
    naming where the default comes from (None in the model)."""
    literal = re.fullmatch(r"`([^`]+)`(?: \(any\))?", cell.strip())
    try:
        value = tomllib.loads(f"v = {literal.group(1)}")["v"] if literal else None
    except tomllib.TOMLDecodeError:  # `[routing] mode`: a setting's name, not a value
        value = None
    if isinstance(value, list):
        return tuple(value)
    return "required" if cell.strip() == "required" else value


@pytest.mark.parametrize(
    ("after", "model"), [("## Rule keys", RuleConfig), ("An example (in `should_match`", Example)]
)
def test_a_keys_table_has_every_key_and_its_default(after: str, model: type) -> None:
    table = keys_table(after)
    assert set(table) == set(model.model_fields)
    for key, cell in table.items():
        field = model.model_fields[key]
        required = field.is_required()
        expected = "required" if required else field.get_default(call_default_factory=True)
        assert shown_default(cell) == expected, key


def test_the_readme_rule_and_channels_load_with_the_shipped_pack(tmp_path: Path) -> None:
    """The README's rule (with a list of its own) and its channels, pasted into a copy of
    the shipped configuration, load as they are and pass their own examples."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Rules (`alerts/rules/*.toml`)") :]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    rule_block = next(b for b in blocks if "[[rule]]" in b)
    channels_block = next(b for b in blocks if "[channels." in b)
    root = copy_shipped_config(tmp_path)
    (root / "alerts" / "rules" / "readme.toml").write_text(rule_block, encoding="utf-8")
    (root / "alerts" / "channels.toml").write_text(channels_block, encoding="utf-8")
    names = set(re.findall(r"\$\{(\w+)\}", channels_block))
    config = load_checked(root, {name: "x" for name in names})
    rule = config.rule("ministry-office-suite")
    assert rule.channels == ("equipe",) and rule.should_match and rule.should_not_match
    results = check_examples(
        config.ruleset,
        rule.id,
        [example_document(e) for e in rule.should_match],
        [example_document(e) for e in rule.should_not_match],
    )
    assert [r.ok for r in results] == [True] * len(results)

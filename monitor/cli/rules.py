"""`monitor rules test|explain|eval`: check rules on their examples, a text or labeled data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Commands,
    date_argument,
    unknown_rules,
)
from monitor.settings import Settings, read_config

if TYPE_CHECKING:
    from monitor.api import Explanation
    from monitor.rulebook import Reading

# How `explain` says where the document's language came from.
LANGUAGE_FROM = {
    "given": "given",
    "page": "from the page; --lang to change it",
    "detected": "detected; --lang to set it",
}


def register(commands: Commands) -> None:
    rules = commands.add_parser(
        "rules",
        help="test and explain watch-rules",
        description="Check rules against their examples, or explain "
        "a rule's verdict on a text, a file or a web page.",
    )
    rules.set_defaults(group_parser=rules)
    actions = rules.add_subparsers(title="actions", metavar="ACTION")
    test = actions.add_parser(
        "test",
        help="run every rule's should_match/should_not_match examples",
        description="Exit 1 when a rule misses a should_match example or "
        "fires on a should_not_match one.",
    )
    test.add_argument(
        "rule_ids", nargs="*", metavar="RULE_ID", help="only these rules (default: every rule)"
    )
    test.add_argument(
        "--verbose-explain",
        action="store_true",
        help="show the clause-by-clause explanation of passing examples too",
    )
    test.set_defaults(handler=cmd_rules_test)
    explain = actions.add_parser(
        "explain",
        help="why a rule matches a text, or why not",
        description="Print match or no match, clause by clause, with "
        "the passages. Exit 0 on a match, 1 on no match, 2 on error.",
    )
    explain.add_argument("rule_id", metavar="RULE_ID", help="the id of the rule, as in alerts/")
    given = explain.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="the text to test")
    given.add_argument("--file", type=Path, help="a text file, or an HTML page to extract")
    given.add_argument("--url", help="a web page to fetch and extract")
    explain.add_argument("--title", default="", help="a title to go with --text or --file")
    explain.add_argument("--lang", help="the document's language (for rules that filter on it)")
    explain.add_argument(
        "--date",
        type=date_argument,
        help="the article's publication date, YYYY-MM-DD (for EARLIER_YEAR); "
        "a page's own date otherwise",
    )
    explain.set_defaults(handler=cmd_rules_explain)
    evaluate = actions.add_parser(
        "eval",
        help="score rules on labeled articles (precision, recall, every error)",
        description="Run the rules over a labeled JSON Lines file (the format of "
        "docs/rules.md, or what `monitor feedback export` writes) as the pipeline "
        "would, and print per rule precision, recall, F1, counts, then every false "
        "alert and every miss with the clause that decided. Exit 1 when a rule "
        "scores below --min-precision or --min-recall, 2 on unreadable input.",
    )
    evaluate.add_argument(
        "file",
        type=Path,
        metavar="FILE.jsonl",
        help="labeled articles, one JSON object a line (see docs/rules.md)",
    )
    evaluate.add_argument(
        "--rule",
        action="append",
        dest="rule_ids",
        default=[],
        metavar="ID",
        help="only this rule (repeat)",
    )
    evaluate.add_argument(
        "--by-story", action="store_true", help="also count alerts per multi-outlet story"
    )
    evaluate.add_argument("--min-precision", type=float, metavar="P", help="fail below P")
    evaluate.add_argument("--min-recall", type=float, metavar="R", help="fail below R")
    evaluate.set_defaults(handler=cmd_rules_eval)


def cmd_rules_test(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.api import check_rule_examples
    from monitor.display import shorten

    config = read_config(settings)
    if unknown_rules(config, args.rule_ids):
        return EXIT_USAGE
    failures = 0
    chosen = [r for r in config.rules if not args.rule_ids or r.id in args.rule_ids]
    for rule in chosen:
        results = check_rule_examples(config, rule)
        bad = [r for r in results if not r.ok]
        failures += len(bad)
        positives = sum(r.expected for r in results)
        mark = "ok  " if not bad else "FAIL"
        note = "" if results else "  (no examples: add should_match and should_not_match)"
        print(
            f"{mark} {rule.id}: {positives} should match, {len(results) - positives} should not"
            f"{note}"
        )
        for result in results if args.verbose_explain else bad:
            print(f"     {_verdict(result.ok, result.expected)}: {shorten(result.text, 90)}")
            print(_indent(result.explanation.render(), "         "))
    total = sum(len(r.should_match) + len(r.should_not_match) for r in chosen)
    print(f"\n{failures} failing example{'s' if failures != 1 else ''} out of {total}")
    return EXIT_FAILED if failures else EXIT_OK


def cmd_rules_explain(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from monitor.errors import MonitorError
    from monitor.rulebook import open_rulebook

    config = read_config(settings)
    if unknown_rules(config, [args.rule_id]):
        return EXIT_USAGE

    async def explain() -> tuple[Reading, Explanation]:
        async with open_rulebook(settings, config) as rulebook:
            reading = await rulebook.read_document(
                args.text,
                url=args.url,
                file=args.file,
                title=args.title,
                lang=args.lang,
                published=args.date,
            )
            return reading, rulebook.explain_document(args.rule_id, reading.document)

    try:
        reading, explanation = asyncio.run(explain())
    except MonitorError as exc:
        print(f"cannot read the document: {exc}", file=sys.stderr)
        return EXIT_USAGE
    language = reading.document.lang or "unknown"
    print(f"language: {language} ({LANGUAGE_FROM[reading.language_from]})")
    print(explanation.render())
    return EXIT_OK if explanation.matched else EXIT_FAILED


def cmd_rules_eval(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.api import render_scores
    from monitor.rulebook import BadLabels, evaluate_rules, read_labeled_file

    config = read_config(settings)
    if unknown_rules(config, args.rule_ids):
        return EXIT_USAGE
    try:
        articles, problems = read_labeled_file(args.file)
    except BadLabels as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    try:
        if not articles:
            raise BadLabels("no labeled article")
        scores = evaluate_rules(config, articles, args.rule_ids)
    except BadLabels as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(render_scores(scores, by_story=args.by_story)))
    below = [
        s.rule_id
        for s in scores
        if _below(s.precision, args.min_precision) or _below(s.recall, args.min_recall)
    ]
    if below:
        print(f"\nbelow the minimum: {', '.join(below)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _below(value: float | None, minimum: float | None) -> bool:
    """A score under its minimum; an undefined one (nothing fired, nothing to find) is not."""
    return minimum is not None and value is not None and value < minimum


def _verdict(ok: bool, expected: bool) -> str:
    if ok:
        return "✔ as expected"
    return "✘ should match but does not" if expected else "✘ should not match but does"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())

"""Score the rule pack on the real-press sets, split by story into two halves.

    python bench/press_cv.py [--config DIR] [--show A|B] [--rule ID ...] FILE.jsonl ...

Every labeled article goes to half A or B by a hash of its story key (or of its id
when it tells no shared story), so the articles of one event are never split. Rules
are tuned on one half (``--show`` prints that half's errors, one line each) and scored
on the other, which is never shown: the score of the half not shown is the honest one.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from monitor.config import load_config
from monitor.extract.article import detect_language
from monitor.labels import LabeledArticle, read_labeled
from monitor.labels.evaluate import evaluate
from monitor.labels.report import error_lines, score_table, story_lines

RULES = ["ministry-microsoft", "secnumcloud-qualification"]


def half(article: LabeledArticle) -> str:
    key = (article.story or article.id).encode()
    return "AB"[int(hashlib.sha1(key).hexdigest(), 16) % 2]  # a split, not security


def read_all(paths: list[Path]) -> list[LabeledArticle]:
    """The labeled articles of every file, each problem line said on stderr."""
    articles: list[LabeledArticle] = []
    for path in paths:
        found, problems = read_labeled(path)
        articles += found
        for problem in problems:
            print(problem, file=sys.stderr)
    return articles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--config", type=Path, default=Path("."))
    parser.add_argument("--show", choices=["A", "B"], help="print the errors of this half")
    parser.add_argument("--rule", action="append", help="only these rules")
    args = parser.parse_args()
    config = load_config(args.config, {})
    articles = read_all(args.files)
    rules = args.rule or RULES
    for name in "AB":
        chosen = [a for a in articles if half(a) == name]
        scores = evaluate(config, chosen, rules, detect_language)
        print(f"== half {name}: {len(chosen)} articles")
        print("\n".join(score_table(scores)))
        if args.show == name:
            for score in scores:
                print(f"-- {score.rule_id}")
                print("\n".join(error_lines(score) + story_lines(score)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Labeled articles: reading, writing, and counting a rule's right and wrong verdicts."""

import io
import json
from datetime import date
from pathlib import Path

from monitor.labels import LabeledArticle, Verdict, read_labeled, score_rule, write_labeled
from monitor.labels.report import render_scores


def write_lines(path: Path, *records: object) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n",
        encoding="utf-8",
    )
    return path


def article(ident: str, label: bool, **extra: object) -> dict[str, object]:
    return {"id": ident, "title": f"t-{ident}", "text": "x", "r1": label, **extra}


def test_read_keeps_good_lines_and_locates_bad_ones(tmp_path):
    path = write_lines(
        tmp_path / "set.jsonl",
        article("a", True, date="2016-11-15", why="[POS] yes", story="s"),
        "{not json",
        {"id": "b", "text": "no label"},
        article("a", False),
        article("c", True, date="2025-06", why="[POS-BORDERLINE] maybe"),
        article("d", False, date="15/11/2016"),
    )
    articles, problems = read_labeled(path)
    assert [a.id for a in articles] == ["a", "c"]
    assert articles[0].published == date(2016, 11, 15)
    assert articles[1].published == date(2025, 6, 1)  # a month is its first day
    assert (articles[0].borderline, articles[1].borderline) == (False, True)
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [
        (2, "not JSON"),
        (3, "b"),
        (4, "id 'a' already used on line 1"),
        (6, "d"),
    ]
    assert str(problems[1]).startswith(f"{path}:3: b: no label")


def test_written_articles_read_back_the_same(tmp_path):
    original = LabeledArticle(
        "x", "Titre", "Texte", {"ministry-microsoft": False}, lang="fr", why="[NEG] feedback"
    )
    out = io.StringIO()
    assert write_labeled([original], out) == 1
    path = tmp_path / "out.jsonl"
    path.write_text(out.getvalue(), encoding="utf-8")
    (back,), problems = read_labeled(path)
    assert problems == []
    assert (back.id, back.title, back.labels, back.lang) == ("x", "Titre", original.labels, "fr")


def make(
    ident: str, label: bool | None, borderline: bool = False, story: str | None = None
) -> LabeledArticle:
    labels = {} if label is None else {"r1": label}
    return LabeledArticle(ident, ident, "text", labels, borderline=borderline, story=story)


def test_scores_count_a_borderline_positive_as_right_either_way():
    articles = [
        make("tp", True),
        make("fn", True),
        make("fp", False),
        make("tn", False),
        make("border-fired", True, borderline=True),
        make("border-silent", True, borderline=True),
        make("unlabeled", None),
    ]
    fires = {"tp", "fp", "border-fired", "unlabeled"}
    score = score_rule(
        "rule",
        ["r1"],
        articles,
        lambda a: Verdict(a.id in fires),
        lambda a: f"because {a.id}",
    )
    assert [c.outcome for c in score.cases] == ["tp", "fn", "fp", "tn", "tp", "tn"]
    assert (score.precision, score.recall) == (2 / 3, 2 / 3)
    assert [(c.article.id, c.reason) for c in score.errors()] == [
        ("fp", "because fp"),
        ("fn", "because fn"),
    ]
    lines = render_scores([score])
    assert lines[1].split() == ["rule", "0.67", "0.67", "0.67", "2", "1", "1", "2", "2"]
    assert "  false alert fp: fp" in lines
    assert "  missed      fn: fn" in lines


def test_an_event_told_by_several_outlets_is_alerted_once_it_fires_once():
    articles = [
        make("a1", True, story="a"),
        make("a2", True, story="a"),  # missed, but its event alerted through a1
        make("b1", True, story="b"),
        make("b2", True, story="b"),
        make("c", True),  # an event of its own, missed
        make("d", True, borderline=True),  # right either way: not counted
        make("e", False),
    ]
    score = score_rule(
        "rule", ["r1"], articles, lambda a: Verdict(a.id in {"a1", "b2"}), lambda a: ""
    )
    assert score.recall == 2 / 5
    assert score.events_alerted() == (2, 3)
    assert any(
        line.startswith("  events: 2 of 3 alerted (recall by event 0.67;")
        for line in render_scores([score])
    )

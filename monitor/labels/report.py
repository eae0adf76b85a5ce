"""`monitor rules eval` in words: a table of scores, then every error on one line."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.labels.score import Case, RuleScore

TITLE_WIDTH = 70


def _number(value: float | None) -> str:
    return "  –  " if value is None else f"{value:.2f}"


def score_table(scores: Sequence[RuleScore]) -> list[str]:
    width = max([len(s.rule_id) for s in scores] + [4])
    lines = [
        f"{'rule':<{width}}  precision  recall   F1    tp  fp  fn   tn  borderline",
    ]
    for s in scores:
        lines.append(
            f"{s.rule_id:<{width}}  {_number(s.precision):>9}  {_number(s.recall):>6}  "
            f"{_number(s.f1):>5}  {s.count('tp'):>3} {s.count('fp'):>3} {s.count('fn'):>3}"
            f" {s.count('tn'):>4}  {s.borderline:>10}"
        )
    return lines


def _title(case: Case) -> str:
    shown = case.article.title or case.article.text.split("\n", 1)[0]
    flat = " ".join(shown.split())
    return flat if len(flat) <= TITLE_WIDTH else flat[: TITLE_WIDTH - 1] + "…"


def error_lines(score: RuleScore) -> list[str]:
    lines = []
    for case in score.errors():
        mark = "false alert" if case.outcome == "fp" else "missed     "
        lines.append(f"  {mark} {case.article.id}: {_title(case)}")
        lines.append(f"              {case.reason}")
    return lines


def story_lines(score: RuleScore) -> list[str]:
    lines = []
    for story in score.stories:
        joined = f"; joined with {', '.join(story.joined)}" if story.joined else ""
        lines.append(
            f"  {'ok ' if story.ok else 'BAD'} {story.key}: {story.articles} articles, "
            f"{story.positives} labeled as the event, {story.fired} fired, "
            f"{story.alerts} alert{'s' if story.alerts != 1 else ''}{joined}"
        )
    return lines


def render_scores(scores: Sequence[RuleScore], *, by_story: bool = False) -> list[str]:
    lines = score_table(scores)
    for score in scores:
        lines.append("")
        lines.append(f"{score.rule_id}: {len(score.cases)} labeled articles")
        alerted, events = score.events_alerted()
        if events:
            lines.append(
                f"  events: {alerted} of {events} alerted (recall by event "
                f"{alerted / events:.2f}; several outlets' articles of one event count once)"
            )
        related = score.related_catch()
        if related is not None:
            caught, positives, shown = related
            lines.append(
                f"  related tier: the digest shows {caught} of {positives} positive articles "
                f"(alerted or related), and {shown} other articles"
            )
        lines += error_lines(score) or ["  no error"]
        if by_story:
            lines.append(f"  stories told by several articles ({len(score.stories)}):")
            lines += story_lines(score) or ["  none"]
    return lines

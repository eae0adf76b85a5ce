"""Labeled articles: real press judged by a person, the measure of a rule.

`read_labeled` reads them from JSON Lines, `write_labeled` writes them (feedback from
recipients becomes labeled data this way), and `monitor.labels.evaluate` runs rules over
them as the pipeline would and counts what is right and wrong (`monitor rules eval`, in
words by `render_scores`). That one is left out here: it loads the matcher, which
exporting verdicts does not need.
"""

from monitor.labels.files import (
    LabeledArticle,
    LabelProblem,
    read_labeled,
    write_labeled,
)
from monitor.labels.report import render_scores
from monitor.labels.score import Case, RuleScore, StoryScore, Verdict, score_rule

__all__ = [
    "Case",
    "LabelProblem",
    "LabeledArticle",
    "RuleScore",
    "StoryScore",
    "Verdict",
    "read_labeled",
    "render_scores",
    "score_rule",
    "write_labeled",
]

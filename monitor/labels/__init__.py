"""Labeled articles: real press judged by a person, the measure of a rule.

`read_labeled` reads them from JSON Lines, `write_labeled` writes them (feedback from
recipients becomes labeled data this way), and `score_rules` runs rules over them as
the pipeline would and counts what is right and wrong (`monitor rules eval`).
"""

from monitor.labels.files import (
    LabeledArticle,
    LabelProblem,
    read_labeled,
    write_labeled,
)
from monitor.labels.score import Case, RuleScore, StoryScore, Verdict, score_rule

__all__ = [
    "Case",
    "LabelProblem",
    "LabeledArticle",
    "RuleScore",
    "StoryScore",
    "Verdict",
    "read_labeled",
    "score_rule",
    "write_labeled",
]

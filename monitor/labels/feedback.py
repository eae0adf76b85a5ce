"""Recipients' verdicts as labeled articles: what `monitor feedback export` writes."""

from __future__ import annotations

from monitor.labels.files import LabeledArticle
from monitor.store.views import FeedbackRecord

POSITIVE = frozenset({"right", "missed"})  # the rule's event: it alerted rightly, or missed it


def labeled_from_feedback(record: FeedbackRecord) -> LabeledArticle:
    """One verdict as an article labeled for its rule (the article as it was stored)."""
    why = f"feedback {record.verdict}" + (f": {record.note}" if record.note else "")
    return LabeledArticle(
        id=f"feedback-{record.id}",
        title=record.title,
        text=record.text,
        labels={record.rule_id: record.verdict in POSITIVE},
        lang=record.lang,
        url=record.url,
        published=record.published_at.date() if record.published_at else None,
        why=why,
        extra={"verdict": record.verdict, "alert_id": record.alert_id},
    )

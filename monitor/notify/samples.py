"""Render every template once with sample data, so that a broken override fails at start.

An operator's `alerts/templates/digest.html.j2` with a typo would otherwise only
fail at 07:30 the next morning, when the digest is due.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from monitor.match import Passage, RuleMatch
from monitor.notify.dispatch import alert_context
from monitor.notify.render import FORMATS, Renderer
from monitor.store.views import AlertView, ArticleView, DigestEntry, FailedDelivery, FailingSource

_NOW = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
_PASSAGE = Passage("text", "Le ministère a signé avec Microsoft.", ((3, 12), (26, 35)))


def _article(article_id: int, source: str) -> ArticleView:
    return ArticleView(
        article_id,
        f"https://example.org/{article_id}",
        "Titre d’exemple",
        "src",
        source,
        _NOW,
        _NOW,
        "fr",
        "Résumé",
        "page",
    )


def sample_alert() -> dict[str, object]:
    details = RuleMatch("sample", (_PASSAGE,), ("Microsoft",)).to_dict()
    view = AlertView(
        1, "sample", 1, _NOW, _article(1, "Source A"), details, (_article(2, "Source B"),)
    )
    return alert_context(view, None)


def sample_digest() -> dict[str, object]:
    from monitor.digest.builder import DigestContent, DigestGroup, DigestStory

    details = RuleMatch("sample", (_PASSAGE,), ("Microsoft",)).to_dict()
    entry = DigestEntry(
        "sample",
        1,
        "Titre d’exemple",
        "https://example.org/1",
        _NOW,
        (("Source A", "https://example.org/1"), ("Source B", "https://example.org/2")),
        2,
        details,
        True,
    )
    group = DigestGroup("sample", "Règle d’exemple", "", (DigestStory(entry, _PASSAGE),))
    content = DigestContent(
        "exemple",
        "Synthèse",
        _NOW - timedelta(days=1),
        _NOW,
        (group,),
        (FailingSource("src", "Source C", _NOW, 3, "http", "HTTP 500"),),
        (FailedDelivery(1, "alert", "mail", _NOW, 8, "refused"),),
        _NOW,
    )
    return {"digest": content}


def check_templates(templates_dir: Path | None) -> list[str]:
    """Problems with the templates (operator overrides included), one message each."""
    renderer = Renderer(templates_dir)
    problems = []
    for name, context in (("alert", sample_alert()), ("digest", sample_digest())):
        for fmt in FORMATS:
            try:
                renderer.render(name, fmt, context)
            except TemplateSyntaxError as exc:
                problems.append(
                    f"template {exc.name or exc.filename}: line {exc.lineno}: {exc.message}"
                )
            except TemplateError as exc:
                problems.append(f"template {name} ({fmt}): {type(exc).__name__}: {exc}")
    return sorted(set(problems))

"""Alerts for the delivery tests: hostile article text, rendered as the dispatcher does.

The context comes from `Dispatcher.alert_context` (the passages go through
`RuleMatch.from_dict`, as they do when read back from the store), and the message is
built as `Dispatcher.message_for` builds it, so what the tests send is what veille
sends, minus the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from monitor.config import RuleConfig
from monitor.match import Passage, RuleMatch
from monitor.notify.channels import Message
from monitor.notify.dispatch import Dispatcher
from monitor.notify.render import Renderer
from monitor.store.views import AlertView, ArticleView

RULE = RuleConfig(id="cloud-souverain", title="Cloud souverain", query="cloud")
PUBLISHED = datetime(2026, 3, 4, 11, 30, tzinfo=UTC)  # 12:30 in Paris
ARTICLE_URL = "https://news.example/2026/03/cloud?id=7&ref=rss"
MESSAGE_ID = "<veille.0123456789abcdef01234567@veille.example>"

# What strangers may write in a title or a sentence, one attack per line.
HOSTILE_TITLE = (
    "<script>alert(1)</script><img src=x onerror=alert(2)> "
    "<!channel> <!here> <@U123> @room @everyone "
    "[click](javascript:alert(3)) [x](https://evil.example) `tick` *bold* _it_ "
    "z\u200bero\u200dwidth bi\u202edi\u202c \u2066iso\u2069 ctl\x07\x1b[31m AT&T\r\n"
    "Bcc: victim@example.org"
)
HOSTILE_PASSAGE = (
    "Le cloud <b onmouseover=alert(4)>souverain</b> <!here> <@U123> <#C042> @room "
    "<https://evil.example|Connexion banque> [x](https://evil.example) "
    "![img](https://evil.example/t.png) `code` *gras* ~barre~ \\ ping @room"
)


def article(
    title: str = "Le cloud souverain avance",
    url: str = ARTICLE_URL,
    source_name: str = "Le Monde Numérique",
    article_id: int = 1,
) -> ArticleView:
    return ArticleView(
        id=article_id,
        url=url,
        title=title,
        source_id=f"source-{article_id}",
        source_name=source_name,
        published=PUBLISHED,
        first_seen_at=PUBLISHED,
        lang="fr",
        summary="",
        extraction="full",
    )


def passage(text: str, *terms: str) -> Passage:
    """A passage with every occurrence of each term marked, as the matcher does."""
    marks: list[tuple[int, int]] = []
    for term in terms:
        start = text.find(term)
        while start >= 0:
            marks.append((start, start + len(term)))
            start = text.find(term, start + len(term))
    return Passage("text", text, tuple(sorted(marks)))


def alert_view(
    main: ArticleView,
    passages: Sequence[Passage],
    also: Sequence[ArticleView] = (),
    rule: RuleConfig = RULE,
) -> AlertView:
    match = RuleMatch(rule.id, tuple(passages), ("cloud",))
    return AlertView(
        alert_id=1,
        rule_id=rule.id,
        story_id=1,
        created_at=PUBLISHED,
        article=main,
        details=match.to_dict(),
        also=tuple(also),
    )


def alert_message(
    fmt: str,
    main: ArticleView | None = None,
    passages: Sequence[Passage] = (),
    also: Sequence[ArticleView] = (),
    renderer: Renderer | None = None,
    rule: RuleConfig = RULE,
) -> Message:
    """The message the dispatcher would send for this alert on a channel of format `fmt`."""
    dispatcher: Any = Dispatcher(
        store=None,  # type: ignore[arg-type] - alert_context reads only the rules
        channels={},
        renderer=renderer or Renderer(),
        rules={rule.id: rule},
        settings=None,  # type: ignore[arg-type]
    )
    body = passages or [passage("Le cloud avance.", "cloud")]
    view = alert_view(main or article(), body, also, rule)
    rendered = dispatcher.renderer.render("alert", fmt, dispatcher.alert_context(view))
    return Message(
        rendered.subject,
        rendered.body,
        rendered.format,
        rendered.text,
        MESSAGE_ID,
        title_in_body=True,
    )


def notice_message(subject: str, text: str) -> Message:
    """An operator notice (a failing source...), built as the dispatcher builds one."""
    return Message(subject, text, "text", text, MESSAGE_ID)


def hostile_message(fmt: str) -> Message:
    """An alert whose title, source names, passage and "also" article are all hostile."""
    also = article(
        title="Autre <!channel> @here",
        url="javascript:alert(5)",
        source_name="Autre [x](https://evil.example) <@U999>",
        article_id=2,
    )
    main = article(title=HOSTILE_TITLE, source_name="Source <b>@everyone</b>")
    # "room" is marked too: each "@room" is then cut in two pieces, "...@" and "room".
    body = passage(HOSTILE_PASSAGE, "cloud", "room")
    return alert_message(fmt, main, [body], [also])


# The tags of alert.html.j2 for `hostile_message`, in order, without the <strong> marks:
# nothing else may be a tag once the hostile text has been escaped.
HOSTILE_HTML_TAGS = [
    '<div style="background:#f3f4f6;padding:16px 8px">',
    '<div style="max-width:640px;margin:0 auto;background:#ffffff;border-radius:6px;'
    'font-family:Helvetica,Arial,sans-serif;color:#1d1d1f;padding:20px 24px">',
    '<p style="margin:0 0 4px 0;font-size:13px;color:#6b6b70;text-transform:uppercase;'
    'letter-spacing:.04em">',
    "</p>",
    '<h2 style="margin:0;font-size:22px;line-height:1.3">',
    '<a href="https://news.example/2026/03/cloud?id=7&amp;ref=rss" '
    'style="color:#0b57d0;text-decoration:none">',
    "</a>",
    "</h2>",
    '<p style="margin:4px 0 0 0;font-size:14px;color:#6b6b70;margin-bottom:12px">',
    "</p>",
    '<blockquote style="margin:0 0 8px 0;padding:6px 10px;border-left:3px solid #f2c200;'
    'background:#fafafa;font-size:14px;color:#333">',
    "</blockquote>",
    # "Aussi publié par", with no link (javascript: URL)
    '<p style="margin:8px 0 0 0;font-size:13px;color:#6b6b70">',
    "</p>",
    '<p style="margin:16px 0 0 0;font-size:12px;color:#8a8a8f">',
    "</p>",
    "</div>",
    "</div>",
]
# What sanitizing removes and nothing delivered may contain.
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
MARK_TAGS = ('<strong style="background:#fff3a8">', "</strong>")


def tags_but_marks(html: str) -> list[str]:
    return [tag for tag in re.findall(r"<[^>]*>", html) if tag not in MARK_TAGS]

"""Slack: the exact request apprise sends for veille's alerts, caught on loopback.

Slack cannot run here, so the boundary is the HTTP request itself. Everything on
veille's side of it runs for real: the template, the escaping, `build_channel`,
`AppriseChannel`, and all of apprise (URL parsing, CommonMark-to-mrkdwn conversion,
its own escaping, payload building, the POST with `requests`, reading the reply).
Only the destination moves: apprise's Slack plugin builds the webhook address from
its `webhook_url` class attribute (and bot calls from `api_url`), which the test points
at a server on 127.0.0.1. What that server receives is byte for byte what
hooks.slack.com would receive, and Slack turns `<...>` sequences in it into links
and mentions: so the assertions look for every `<...>` that arrived.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from apprise.plugins.slack import NotifySlack

from monitor.config import RuleConfig
from monitor.config.alerts import ChannelConfig
from monitor.notify.channels import Message, build_channel

from support.notify import alert_message, article, hostile_message

WEBHOOK = "slack://T1ABC/B2DEF/abcXYZ123"
ARTICLE_LINK = "<https://news.example/2026/03/cloud?id=7&amp;ref=rss|"
ICON = (
    "https://github.com/caronc/apprise/raw/master/apprise/assets/themes/default/"
    "apprise-info-72x72.png"
)


@dataclass
class Caught:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


@dataclass
class FakeSlack:
    """Stands in for hooks.slack.com and slack.com/api on 127.0.0.1."""

    requests: list[Caught] = field(default_factory=list)
    status: int = 200
    reply: bytes = b"ok"
    port: int = 0

    def only_payload(self) -> dict[str, Any]:
        (request,) = self.requests
        return request.payload


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            payload = json.loads(self.rfile.read(length))
            fake.requests.append(Caught(self.path, dict(self.headers), payload))
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(fake.reply)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{fake.port}"
    monkeypatch.setattr(NotifySlack, "webhook_url", f"{base}/services")
    monkeypatch.setattr(NotifySlack, "api_url", f"{base}/api/{{}}")
    monkeypatch.setattr(NotifySlack, "request_rate_per_sec", 0)  # no 1.2 s pause per post
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def send(url: str, message: Message, fmt: str | None = None) -> None:
    channel = build_channel(ChannelConfig(name="slack", url=url, format=fmt))
    result = await channel.send(message)
    assert result.ok, result.error


def anchors(text: str) -> list[str]:
    """Every `<...>` Slack would read as a link, a mention or a command."""
    return re.findall(r"<[^<>]*>", text)


async def test_alert_is_posted_to_the_webhook_as_mrkdwn(slack: FakeSlack) -> None:
    other = article("Autre", "https://other.example/a?b=1", "Autre Média", 2)
    started = time.time()
    await send(WEBHOOK, alert_message("markdown", also=[other]))

    (request,) = slack.requests
    assert request.path == "/services/T1ABC/B2DEF/abcXYZ123"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"] == "veille"
    attachment = request.payload["attachments"][0]
    assert started <= attachment.pop("ts") <= time.time()
    assert request.payload == {
        "mrkdwn": True,
        "attachments": [
            {
                "title": "",  # the body starts with its own heading
                "text": "*Cloud souverain*\n\n"
                "<https://news.example/2026/03/cloud?id=7&amp;ref=rss|Le cloud souverain avance>"
                "\n\nLe Monde Numérique · 04/03/2026 12:30\n\n"
                "> Le *cloud* avance.\n\n"
                "Aussi publié par\u202f: <https://other.example/a?b=1|Autre Média>\n\n"
                "_Alerte n° 1 · veille_",
                "color": "#3AA3E3",
                "footer_icon": ICON,
                "footer": "veille",
            }
        ],
        "icon_url": ICON,
    }


async def test_slack_gets_markdown_unless_told_otherwise(slack: FakeSlack) -> None:
    channel = build_channel(ChannelConfig(name="slack", url=WEBHOOK))
    assert channel.format == "markdown"


async def test_ordinary_punctuation_reaches_slack_unescaped(slack: FakeSlack) -> None:
    title = "Microsoft-Cloud 2.0 (bêta) : 3 ministères l'adoptent ! #souveraineté snake_case"
    await send(WEBHOOK, alert_message("markdown", article(title)))

    text = slack.only_payload()["attachments"][0]["text"]
    assert f"{ARTICLE_LINK}{title}>" in text


HOSTILE_MRKDWN = (
    "*Cloud souverain*\n\n"
    f"{ARTICLE_LINK}‹script›alert(1)‹/script›‹img src=x onerror=alert(2)› "
    "‹!channel› ‹!here› ‹@U123› ＠room ＠everyone [click](javascript:alert(3)) "
    "[x](https://evil.example) \\`tick\\` \\*bold\\* \\_it\\_ zerowidth bidi iso "
    "ctl[31m AT&amp;T Bcc: victim@example.org>\n\n"
    "Source ‹b›＠everyone‹/b› · 04/03/2026 12:30\n\n"
    "> Le *cloud* ‹b onmouseover=alert(4)›souverain‹/b› ‹!here› ‹@U123› ‹#C042› "
    "＠*room* ‹https://evil.example|Connexion banque› [x](https://evil.example) "
    "![img](https://evil.example/t.png) \\`code\\` \\*gras\\* ~barre~ \\\\ ping ＠*room*\n\n"
    "Aussi publié par\u202f: Autre [x](https://evil.example) ‹@U999›\n\n"
    "_Alerte n° 1 · veille_"
)
HOSTILE_TEXT = (
    "Cloud souverain\n"
    "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; "
    "‹!channel&gt; ‹!here&gt; ‹@U123&gt; ＠room ＠everyone [click](javascript:alert(3)) "
    "[x](https://evil.example) `tick` *bold* _it_ zerowidth bidi iso ctl[31m AT&amp;T "
    "Bcc: victim@example.org\n\n"
    "Source\u202f: Source &lt;b&gt;＠everyone&lt;/b&gt;\n"
    "Date  \u202f: 04/03/2026 12:30\n"
    "Lien  \u202f: https://news.example/2026/03/cloud?id=7&amp;ref=rss\n\n"
    "Passages qui ont déclenché la règle\u202f:\n"
    "  «\u00a0Le *cloud* &lt;b onmouseover=alert(4)&gt;souverain&lt;/b&gt; ‹!here&gt; "
    "‹@U123&gt; ‹#C042&gt; ＠*room* &lt;https://evil.example|Connexion banque&gt; "
    "[x](https://evil.example) ![img](https://evil.example/t.png) `code` *gras* ~barre~ "
    "\\ ping ＠*room*\u00a0»\n\n"
    "Aussi publié par\u202f: Autre [x](https://evil.example) ‹@U999&gt;\n"
    "  - Autre [x](https://evil.example) ‹@U999&gt;\u202f: Autre ‹!channel&gt; ＠here\n\n"
    "-- \nAlerte n° 1 · veille"
)
# Slack has no HTML: apprise converts the HTML body to Markdown, then to mrkdwn (its
# converter makes a plain space of every other space, the no-break ones of French too).
HOSTILE_FROM_HTML = (
    "Cloud souverain\n\n"
    f"*{ARTICLE_LINK}&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; "
    "‹!channel&gt; ‹!here&gt; ‹@U123&gt; ＠room ＠everyone [click](javascript:alert(3)) "
    "[x](https://evil.example) \\`tick\\` \\*bold\\* \\_it\\_ zerowidth bidi iso ctl[31m "
    "AT&amp;T Bcc: victim@example.org>*\n\n"
    "Source &lt;b&gt;＠everyone&lt;/b&gt; · 04/03/2026 12:30\n\n"
    "> Le *cloud* &lt;b onmouseover=alert(4)&gt;souverain&lt;/b&gt; ‹!here&gt; "
    "‹@U123&gt; ‹#C042&gt; ＠*room* &lt;https://evil.example|Connexion banque&gt; "
    "[x](https://evil.example) ![img](https://evil.example/t.png) \\`code\\` \\*gras\\* "
    "\\~barre\\~ \\\\ ping ＠*room*\n\n"
    "Aussi publié par : Autre [x](https://evil.example) ‹@U999&gt;\n\n"
    "Alerte n° 1 · veille"
)


@pytest.mark.parametrize(
    ("fmt", "mrkdwn", "expected", "links"),
    [
        ("markdown", True, HOSTILE_MRKDWN, [ARTICLE_LINK]),
        ("text", False, HOSTILE_TEXT, []),
        ("html", True, HOSTILE_FROM_HTML, [ARTICLE_LINK]),
    ],
)
async def test_hostile_alert_is_neutralized(
    slack: FakeSlack, fmt: str, mrkdwn: bool, expected: str, links: list[str]
) -> None:
    await send(WEBHOOK, hostile_message(fmt), fmt)

    payload = slack.only_payload()
    text = payload["attachments"][0]["text"]
    assert payload["mrkdwn"] is mrkdwn
    assert text == expected
    # The only anchor is veille's own link to the article: no mention, no other link.
    assert [a.split("|")[0] + "|" for a in anchors(text)] == links


@pytest.mark.parametrize("fmt", ["markdown", "text", "html"])
async def test_entities_written_by_the_article_stay_literal(slack: FakeSlack, fmt: str) -> None:
    # A title that is already entity-encoded must not decode into a mention on the way.
    title = "&lt;!channel&gt; &lt;@U123&gt; &#60;!here&#62; &amp;lt;!everyone&amp;gt;"
    await send(WEBHOOK, alert_message(fmt, article(title)), fmt)

    text = slack.only_payload()["attachments"][0]["text"]
    literal = (
        "&amp;lt;!channel&amp;gt; &amp;lt;@U123&amp;gt; &amp;#60;!here&amp;#62; "
        "&amp;amp;lt;!everyone&amp;amp;gt;"
    )
    assert literal in text
    assert [a for a in anchors(text) if not a.startswith(ARTICLE_LINK)] == []


async def test_block_kit_payload_carries_the_same_mrkdwn(slack: FakeSlack) -> None:
    await send(f"{WEBHOOK}?blocks=yes&footer=no", hostile_message("markdown"), "markdown")

    (attachment,) = slack.only_payload()["attachments"]
    (section,) = attachment["blocks"]  # no header block: the body has its own heading
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    text = section["text"]["text"]
    assert text.startswith(f"*Cloud souverain*\n\n{ARTICLE_LINK}‹script›alert(1)")
    assert "＠*room* ‹https://evil.example|Connexion banque›" in text
    assert [a.split("|")[0] + "|" for a in anchors(text)] == [ARTICLE_LINK]


async def test_bot_token_posts_to_the_channel_through_the_web_api(slack: FakeSlack) -> None:
    slack.reply = b'{"ok": true, "channel": "C0ALERTS", "ts": "1700000000.000100"}'
    await send("slack://xoxb-1234-5678-abcdef/#veille-alerts", alert_message("markdown"))

    (request,) = slack.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == "Bearer xoxb-1234-5678-abcdef"
    assert request.payload["channel"] == "#veille-alerts"
    assert request.payload["attachments"][0]["text"].startswith("*Cloud souverain*\n\n")


async def test_rejected_webhook_is_a_failed_send_with_the_reason(slack: FakeSlack) -> None:
    slack.status, slack.reply = 404, b"no_service"
    channel = build_channel(ChannelConfig(name="slack", url=WEBHOOK))

    result = await channel.send(alert_message("markdown"))

    assert result.ok is False and result.error is not None
    assert result.error.startswith("slack://T...C/B...F/a...3/")  # tokens masked
    assert "404" in result.error and "abcXYZ123" not in result.error, result.error


async def test_our_words_reach_slack_typeset_and_the_articles_as_published(
    slack: FakeSlack,
) -> None:
    rule = RuleConfig(
        id="cloud-doctrine", title="Doctrine « Cloud au centre » : l'État", query="cloud"
    )
    title = "L'État « muscle » sa doctrine : quoi de neuf ?"
    await send(WEBHOOK, alert_message("markdown", article(title), rule=rule))

    text = slack.only_payload()["attachments"][0]["text"]
    assert text.startswith("*Doctrine «\u00a0Cloud au centre\u00a0»\u202f: l’État*\n\n")
    assert f"{ARTICLE_LINK}{title}>" in text  # the outlet's spacing and apostrophes
    assert "Aussi" not in text and "_Alerte n° 1 · veille_" in text

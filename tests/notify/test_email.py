"""Email: what a real SMTP server (aiosmtpd on loopback) receives from veille.

The received bytes are parsed back into MIME: both parts, the headers, the
envelope, and the Message-ID, which must be the same on every attempt at one
delivery so that mail clients fold a resend into the first copy.
"""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import RuleConfig
from monitor.config.alerts import ChannelConfig
from monitor.match import Passage
from monitor.notify.channels import Message, SendResult, at_domain, build_channel

from support import (
    EVENT,
    MICROSOFT_RULE,
    Clock,
    free_port,
    mail_config,
    rss,
    serve_articles,
    service,
    write,
)
from support.notify import (
    HOSTILE_HTML_TAGS,
    INVISIBLE,
    MESSAGE_ID,
    alert_message,
    article,
    hostile_message,
    notice_message,
    passage,
    tags_but_marks,
)

# Cut to fit an inbox, the rule's label kept; on one line whatever the title held.
HOSTILE_SUBJECT = (
    "<script>alert(1)</script><img src=x onerror=alert(2)> ‹!channel>… — Cloud souverain"
)


async def send(url: str, message: Message, fmt: str) -> None:
    channel = build_channel(ChannelConfig(name="mail", url=url, format=fmt))
    result = await channel.send(message)
    assert result.ok, result.error


def content(part: EmailMessage) -> str:
    """A part's text with the SMTP line ends (CR LF) back to newlines."""
    return str(part.get_content()).replace("\r\n", "\n")


async def test_html_alert_has_both_parts_and_the_headers(smtp_server: Any) -> None:
    message = alert_message("html")
    await send(smtp_server.url(), message, "html")

    (received,) = smtp_server.messages
    assert smtp_server.mailbox.envelopes == [("veille@example.org", ["team@example.org"])]
    assert received["Subject"] == "Le cloud souverain avance — Cloud souverain"
    assert received["From"] == "veille <veille@example.org>"
    assert received["To"] == "team@example.org"
    # At the sender's domain, its stable part kept.
    assert received["Message-ID"] == MESSAGE_ID.replace("@veille.example>", "@example.org>")
    assert received["X-Mailer"] == "veille" and received["Auto-Submitted"] == "auto-generated"
    assert received.get_content_type() == "multipart/alternative"
    plain, html = received.iter_parts()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert content(plain) == message.text
    assert content(html) == message.body
    assert content(plain) == (
        "Cloud souverain\nLe cloud souverain avance\n\n"
        "Source\u202f: Le Monde Numérique\nDate  \u202f: 04/03/2026 12:30\n"
        "Lien  \u202f: https://news.example/2026/03/cloud?id=7&ref=rss\n\n"
        "Passages qui ont déclenché la règle\u202f:\n  «\u00a0Le *cloud* avance.\u00a0»\n\n"
        "-- \nAlerte n° 1 · veille\n"
    )


@pytest.mark.parametrize("fmt", ["text", "markdown"])
async def test_text_and_markdown_channels_send_the_text_part_only(
    smtp_server: Any, fmt: str
) -> None:
    message = alert_message(fmt)
    await send(smtp_server.url(), message, fmt)

    (received,) = smtp_server.messages
    assert received.get_content_type() == "text/plain"
    assert content(received) == message.text


async def test_hostile_alert_is_neutralized_in_both_parts(smtp_server: Any) -> None:
    message = hostile_message("html")
    await send(smtp_server.url(), message, "html")

    (received,) = smtp_server.messages
    # One recipient, one line of subject: the CR LF in the title added no header.
    assert smtp_server.mailbox.envelopes == [("veille@example.org", ["team@example.org"])]
    assert received["Subject"] == HOSTILE_SUBJECT
    assert received["Bcc"] is None and received["Cc"] is None
    plain, html = (content(part) for part in received.iter_parts())
    assert html == message.body and plain == message.text
    # The only tags are the template's: the hostile ones arrived as text.
    assert tags_but_marks(html) == HOSTILE_HTML_TAGS
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; "
        "‹!channel&gt; ‹!here&gt; ‹@U123&gt; ＠room ＠everyone" in html
    )
    assert (
        'Le <strong style="background:#fff3a8">cloud</strong> &lt;b onmouseover=alert(4)&gt;'
        "souverain&lt;/b&gt; ‹!here&gt; ‹@U123&gt; ‹#C042&gt; "
        '＠<strong style="background:#fff3a8">room</strong> '
        "&lt;https://evil.example|Connexion banque&gt;" in html
    )
    # The "also" article's javascript: URL is no link at all.
    assert (
        '<p style="margin:8px 0 0 0;font-size:13px;color:#6b6b70">'
        "Aussi publié par\u202f: Autre [x](https://evil.example) "
        "‹@U999&gt;</p>" in html
    )
    assert "Autre [x](https://evil.example) ‹@U999>\u202f: Autre ‹!channel> ＠here\n" in plain
    assert "Bcc: victim@example.org\n\nSource\u202f: Source <b>＠everyone</b>\n" in plain
    assert not INVISIBLE.search(plain) and not INVISIBLE.search(html)


async def test_a_subject_with_line_breaks_cannot_add_headers(smtp_server: Any) -> None:
    # Subjects of operator notices are not rendered from templates: the channel itself
    # keeps a header on one line.
    message = notice_message("Source en échec\r\nBcc: victim@example.org\r\nX-Evil: 1", "corps")
    await send(smtp_server.url(), message, "text")

    (received,) = smtp_server.messages
    assert received["Subject"] == "Source en échec Bcc: victim@example.org X-Evil: 1"
    assert received["Bcc"] is None and received["X-Evil"] is None
    assert smtp_server.mailbox.envelopes == [("veille@example.org", ["team@example.org"])]


async def test_a_lone_surrogate_cannot_break_the_email(smtp_server: Any) -> None:
    # JSON feeds can carry "\\ud800": email cannot encode it, so it is dropped.
    await send(smtp_server.url(), alert_message("html", article("Titre \ud800 cassé")), "html")

    (received,) = smtp_server.messages
    assert received["Subject"] == "Titre cassé — Cloud souverain"
    plain, html = (content(part) for part in received.iter_parts())
    assert "\nTitre cassé\n" in plain and ">Titre cassé</a>" in html


async def test_a_message_email_cannot_carry_is_a_failed_send(smtp_server: Any) -> None:
    # Whatever slips past the templates, the dispatcher gets a failure to record, not a crash.
    broken = notice_message("Sujet", "corps \udc80")
    channel = build_channel(ChannelConfig(name="mail", url=smtp_server.url(), format="text"))

    result = await channel.send(broken)

    assert result == SendResult(
        ok=False,
        error="cannot build the email: 'utf-8' codec can't encode character '\\udc80' in "
        "position 6: surrogates not allowed",
    )
    assert smtp_server.messages == []


def refuse_first_message(smtp_server: Any) -> None:
    """The server keeps every message it is given but answers the first with a 451."""
    keep = smtp_server.mailbox.handle_DATA

    async def handle_DATA(server: Any, session: Any, envelope: Any) -> str:
        await keep(server, session, envelope)
        if len(smtp_server.messages) == 1:
            return "451 4.3.0 Temporary failure, try again later"
        return "250 Message accepted for delivery"

    smtp_server.mailbox.handle_DATA = handle_DATA


async def test_a_retried_delivery_keeps_its_message_id(
    tmp_path: Path, web_server: Any, smtp_server: Any, pool: Any
) -> None:
    refuse_first_message(smtp_server)
    pages = serve_articles(web_server, EVENT)
    feed = web_server.add("/feed.xml", rss(list(pages.items())), content_type="application/rss+xml")
    config = mail_config(tmp_path / "config", {"outlet": feed}, smtp_server.url(), MICROSOFT_RULE)
    clock = Clock(datetime.now(UTC))

    async with service(tmp_path, config, pool, clock=clock) as svc:
        first = await svc.run_pass()
        clock.advance(minutes=5)  # past the first back-off (30 s, with jitter)
        second = await svc.deliver()

    assert (first.dispatch.retrying, first.dispatch.sent, second.sent) == (1, 0, 1)
    refused, accepted = smtp_server.messages
    assert re.fullmatch(r"<veille\.[0-9a-f]{24}@[^>]+>", accepted["Message-ID"])
    assert refused["Message-ID"] == accepted["Message-ID"]
    assert summary(refused) == summary(accepted)
    assert len(summary(accepted)["parts"]) == 2  # type: ignore[arg-type]


def summary(message: EmailMessage) -> dict[str, object]:
    """Headers (but the date), content type and parts of a received message."""
    headers = ("Subject", "From", "To", "Message-ID")
    return {
        "headers": {h: str(message[h]) for h in headers},
        "type": message.get_content_type(),
        "parts": [content(p) for p in message.iter_parts()],
    }


def notify_config(root: Path, mail_url: str) -> Path:
    write(
        root / "sources.toml", '[[source]]\nid = "s"\nname = "S"\nurl = "https://example.org/f"\n'
    )
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    write(root / "alerts" / "channels.toml", f'[channels.mail]\nurl = "{mail_url}"\n')
    return root


def test_notify_test_sends_the_sample_alert_and_says_so(
    tmp_path: Path, smtp_server: Any, capsys: Any
) -> None:
    root = notify_config(tmp_path, smtp_server.url())
    assert main(["--config", str(root), "notify", "--test", "mail"]) == 0
    (received,) = smtp_server.messages
    assert received["Subject"] == "[test] Titre d’exemple — sample"
    assert re.fullmatch(r"<veille\.[0-9a-f]{24}@example\.org>", received["Message-ID"])
    assert capsys.readouterr().out == "channel mail: test notification sent\n"


def test_notify_test_reports_a_refused_connection_in_one_line(tmp_path: Path, capsys: Any) -> None:
    closed = f"mailto://veille:secret@127.0.0.1:{free_port()}?from=v@example.org&to=t@example.org"
    root = notify_config(tmp_path, closed)
    assert main(["--config", str(root), "notify", "--test", "mail"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("channel mail: test notification failed: ") and "refused" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_notify_test_names_the_known_channels_for_an_unknown_one(
    tmp_path: Path, capsys: Any
) -> None:
    root = notify_config(tmp_path, "mailto://a:b@127.0.0.1:25?from=v@example.org&to=t@example.org")
    assert main(["--config", str(root), "notify", "--test", "mial"]) == 2
    assert "unknown channel 'mial' (known: console, mail)" in capsys.readouterr().err


# A real headline (tests/data/press) whose subject Python's own header folding mangled:
# it dropped the space between "…" and "—" where it switched to encoded words.
UGAP = "L'UGAP, nouvelle tenancière de l'Open Bar Microsoft du ministère des Armées"
LONG_RULE = RuleConfig(
    id="sovereign-cloud-win",
    title="Un fournisseur de cloud français ou européen remporte un contrat",
    query="cloud",
)
SHORT_RULE = RuleConfig(
    id="cloud-doctrine",
    title="Doctrine « Cloud au centre » : circulaires sur le cloud de l'État",
    short_title="Cloud au centre",
    query="cloud",
)


@pytest.mark.parametrize(
    ("rule", "subject"),
    [
        # No short title: the rule's title is cut for a label.
        (
            LONG_RULE,
            "L'UGAP, nouvelle tenancière de l'Open Bar… — Un fournisseur de cloud français ou…",
        ),
        (
            SHORT_RULE,
            "L'UGAP, nouvelle tenancière de l'Open Bar Microsoft du ministère des… "
            "— Cloud au centre",
        ),
    ],
)
async def test_a_long_subject_leads_with_the_news_and_arrives_as_written(
    smtp_server: Any, rule: RuleConfig, subject: str
) -> None:
    message = alert_message("html", article(UGAP), rule=rule)
    await send(smtp_server.url(), message, "html")

    (received,), (raw,) = smtp_server.messages, smtp_server.mailbox.raw
    assert len(subject) <= 90
    assert message.subject == subject and received["Subject"] == subject
    # The way older readers decode it (RFC 2047 words, unfolded) gives the same text.
    header = email.message_from_bytes(raw)["Subject"]
    decoded = str(make_header(decode_header(header)))
    assert re.sub(r"\r?\n", "", decoded) == subject
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert all(len(line) <= 78 for line in head.split("\r\n"))
    # The article's title is quoted as published (straight apostrophes); the rule's
    # title, operator-written, gets French typography in the body.
    plain, html = (content(part) for part in received.iter_parts())
    assert f"\n{UGAP}\n" in plain
    if rule is SHORT_RULE:
        assert plain.startswith(
            "Doctrine «\u00a0Cloud au centre\u00a0»\u202f: circulaires sur le cloud de l’État\n"
        )
        assert ">Doctrine «\u00a0Cloud au centre\u00a0»\u202f: circulaires" in html


async def test_a_short_ascii_subject_stays_plain(smtp_server: Any) -> None:
    await send(smtp_server.url(), notice_message("Source down: Outlet", "body"), "text")

    (raw,) = smtp_server.mailbox.raw
    assert b"Subject: Source down: Outlet\r\n" in raw


async def test_a_passage_that_repeats_the_title_is_not_shown_twice(smtp_server: Any) -> None:
    title = "Le cloud souverain avance"
    in_title = Passage("title", title, ((3, 8),))
    lead = passage("Le cloud souverain avance.", "cloud")  # the page repeats its headline
    body = passage("Le ministère adopte un cloud qualifié.", "cloud")
    for passages in ([in_title, lead, body], [in_title]):
        await send(smtp_server.url(), alert_message("html", article(title), passages), "html")

    (plain, html), (plain_only_title, html_only_title) = (
        [content(part) for part in received.iter_parts()] for received in smtp_server.messages
    )
    assert html.count("<blockquote") == 1 and "Le ministère adopte" in html
    assert plain.count(title) == 1 and plain.count("«") == 1
    # Matched in the title only: the heading says it all, no empty list of passages.
    assert "<blockquote" not in html_only_title
    assert "Passages" not in plain_only_title and plain_only_title.count(title) == 1


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("veille@example.org", "<veille.0123456789abcdef01234567@example.org>"),
        ("a.b@mail.example.fr", "<veille.0123456789abcdef01234567@mail.example.fr>"),
        ("veille", MESSAGE_ID),  # no domain to take: the stored one stays
    ],
)
def test_the_message_id_takes_the_senders_domain(sender: str, expected: str) -> None:
    assert at_domain(MESSAGE_ID, sender) == expected

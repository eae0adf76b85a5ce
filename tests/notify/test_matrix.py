"""Matrix: alerts sent through a real homeserver (Synapse on loopback), read back by a user.

The channel is built by `build_channel` exactly as from `alerts/channels.toml`; apprise
logs in as the bot, joins the room by its alias and posts; a second user reads the
room's timeline through the client-server API. Needs the Synapse venv that
`.ci/install-synapse` creates (`MONITOR_TEST_SYNAPSE_PYTHON`); skipped without it.
"""

from __future__ import annotations

import itertools
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from apprise.plugins.matrix import NotifyMatrix

from monitor.config.alerts import ChannelConfig
from monitor.notify.channels import Message, build_channel

from support.matrix import Homeserver, running_homeserver, synapse_python
from support.notify import (
    HOSTILE_HTML_TAGS,
    INVISIBLE,
    alert_message,
    article,
    hostile_message,
    notice_message,
    passage,
    tags_but_marks,
)

PYTHON, WHY_NOT = synapse_python()
pytestmark = [pytest.mark.skipif(PYTHON is None, reason=WHY_NOT), pytest.mark.slow]

BOT, BOT_PASSWORD = "alertbot", "bot-password-1"
BOT_ID = f"@{BOT}:localhost"
_aliases = itertools.count(1)


@dataclass
class Room:
    server: Homeserver
    alias: str
    room_id: str
    reader_token: str
    bot_token: str

    def channel_url(self, password: str = BOT_PASSWORD) -> str:
        return f"matrix://{BOT}:{password}@127.0.0.1:{self.server.port}/#{self.alias}"

    def received(self) -> list[dict[str, Any]]:
        """The content of every message the bot posted, oldest first, as the reader sees it."""
        events = self.server.messages(self.room_id, self.reader_token)
        return [event["content"] for event in events if event["sender"] == BOT_ID]

    def highlights(self) -> list[str]:
        """Events of this room that highlighted the reader (a ping such as @room does)."""
        status, reply = self.server.call(
            "GET", "/_matrix/client/v3/notifications?only=highlight", token=self.reader_token
        )
        assert status == 200, reply
        return [
            n["event"]["event_id"] for n in reply["notifications"] if n["room_id"] == self.room_id
        ]


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Homeserver, str, str]]:
    assert PYTHON is not None
    with running_homeserver(PYTHON, tmp_path_factory.mktemp("synapse")) as server:
        bot_token = server.register(BOT, BOT_PASSWORD)
        reader_token = server.register("reader", "reader-password-1")
        yield server, reader_token, bot_token


@pytest.fixture
def room(homeserver: tuple[Homeserver, str, str]) -> Room:
    """A fresh public room per test, created by the reader, where the bot may ping everyone."""
    server, reader_token, bot_token = homeserver
    alias = f"alerts-{next(_aliases)}"
    room_id = server.create_room(alias, reader_token)
    path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id, safe='')}/state/"
    status, levels = server.call("GET", path + "m.room.power_levels", token=reader_token)
    assert status == 200, levels
    # Power 50 lets the bot's @room notify the room: without it a ping could never fire
    # and the tests below that look for one could not fail.
    levels["users"][BOT_ID] = 50
    status, reply = server.call("PUT", path + "m.room.power_levels", levels, reader_token)
    assert status == 200, reply
    return Room(server, alias, room_id, reader_token, bot_token)


@pytest.fixture(autouse=True)
def no_apprise_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    # apprise waits 0.5 s before each Matrix request (login, join, send, logout).
    monkeypatch.setattr(NotifyMatrix, "request_rate_per_sec", 0)


async def send(room: Room, message: Message, fmt: str | None = None) -> dict[str, Any]:
    channel = build_channel(ChannelConfig(name="matrix", url=room.channel_url(), format=fmt))
    result = await channel.send(message)
    assert result.ok, result.error
    *_, content = room.received()
    return content


async def test_alert_arrives_as_formatted_html(room: Room) -> None:
    other = article("Autre", "https://other.example/a", "Autre Média", 2)
    message = alert_message("html", also=[other])

    content = await send(room, message)  # no format given: Matrix gets HTML

    assert content == {
        "msgtype": "m.text",
        "format": "org.matrix.custom.html",
        "formatted_body": message.body.rstrip("\n"),
        # apprise's plain-text version has plain spaces only.
        "body": "Cloud souverain\n\nLe cloud souverain avance\n\n"
        "Le Monde Numérique · 04/03/2026 12:30\n>Le cloud avance.\n"
        "Aussi publié par : Autre Média\n\nAlerte n° 1 · veille",
    }
    assert (
        '<blockquote style="margin:0 0 8px 0;padding:6px 10px;border-left:3px solid #f2c200;'
        'background:#fafafa;font-size:14px;color:#333">Le '
        '<strong style="background:#fff3a8">cloud</strong> avance.'
        "</blockquote>" in content["formatted_body"]
    )
    assert (
        '<p style="margin:8px 0 0 0;font-size:13px;color:#6b6b70">Aussi publié par\u202f: '
        '<a href="https://other.example/a" style="color:#0b57d0;text-decoration:none">'
        "Autre Média</a></p>" in content["formatted_body"]
    )


async def test_alert_in_markdown_arrives_rendered(room: Room) -> None:
    message = alert_message("markdown", passages=[passage("Le cloud 2.0 (bêta) avance.", "cloud")])

    content = await send(room, message, "markdown")

    assert content == {
        "msgtype": "m.text",
        "format": "org.matrix.custom.html",
        "formatted_body": "<p><strong>Cloud souverain</strong></p>\n"
        '<p><a href="https://news.example/2026/03/cloud?id=7&amp;ref=rss">'
        "Le cloud souverain avance</a></p>\n"
        "<p>Le Monde Numérique · 04/03/2026 12:30</p>\n"
        "<blockquote>\n<p>Le <strong>cloud</strong> 2.0 (bêta) avance.</p>\n</blockquote>\n"
        "<p><em>Alerte n° 1 · veille</em></p>",
        "body": "Cloud souverain\n\nLe cloud souverain avance\n\n"
        "Le Monde Numérique · 04/03/2026 12:30\n>\nLe cloud 2.0 (bêta) avance.\n\n"
        "Alerte n° 1 · veille",
    }


async def test_hostile_alert_is_neutralized_in_html(room: Room) -> None:
    message = hostile_message("html")

    content = await send(room, message, "html")

    html = content["formatted_body"]
    assert html == message.body.rstrip("\n")
    assert tags_but_marks(html) == HOSTILE_HTML_TAGS
    assert (
        '<a href="https://news.example/2026/03/cloud?id=7&amp;ref=rss" '
        'style="color:#0b57d0;text-decoration:none">&lt;script&gt;alert(1)&lt;/script&gt;'
        "&lt;img src=x onerror=alert(2)&gt; ‹!channel&gt; ‹!here&gt; ‹@U123&gt; ＠room "
        "＠everyone [click](javascript:alert(3)) [x](https://evil.example) `tick` *bold* _it_ "
        "zerowidth bidi iso ctl[31m AT&amp;T Bcc: victim@example.org</a>" in html
    )
    assert content["body"] == (
        "Cloud souverain\n\n"
        "<script>alert(1)</script><img src=x onerror=alert(2)> ‹!channel> ‹!here> ‹@U123> "
        "＠room ＠everyone [click](javascript:alert(3)) [x](https://evil.example) `tick` "
        "*bold* _it_ zerowidth bidi iso ctl[31m AT&T Bcc: victim@example.org\n\n"
        "Source <b>＠everyone</b> · 04/03/2026 12:30\n"
        ">Le cloud <b onmouseover=alert(4)>souverain</b> ‹!here> ‹@U123> ‹#C042> ＠room "
        "<https://evil.example|Connexion banque> [x](https://evil.example) "
        "![img](https://evil.example/t.png) `code` *gras* ~barre~ \\ ping ＠room\n"
        "Aussi publié par : Autre [x](https://evil.example) ‹@U999>\n\n"
        "Alerte n° 1 · veille"
    )


async def test_hostile_alert_is_neutralized_in_markdown(room: Room) -> None:
    content = await send(room, hostile_message("markdown"), "markdown")

    assert content["formatted_body"] == (
        "<p><strong>Cloud souverain</strong></p>\n"
        '<p><a href="https://news.example/2026/03/cloud?id=7&amp;ref=rss">'
        "‹script›alert(1)‹/script›‹img src=x onerror=alert(2)› ‹!channel› ‹!here› ‹@U123› "
        "＠room ＠everyone [click](javascript:alert(3)) [x](https://evil.example) `tick` "
        "*bold* _it_ zerowidth bidi iso ctl[31m AT&amp;T Bcc: victim@example.org</a></p>\n"
        "<p>Source ‹b›＠everyone‹/b› · 04/03/2026 12:30</p>\n"
        "<blockquote>\n<p>Le <strong>cloud</strong> ‹b onmouseover=alert(4)›souverain‹/b› "
        "‹!here› ‹@U123› ‹#C042› ＠<strong>room</strong> ‹https://evil.example|Connexion banque› "
        "[x](https://evil.example) ![img](https://evil.example/t.png) `code` *gras* ~barre~ "
        "\\ ping ＠<strong>room</strong></p>\n</blockquote>\n"
        "<p>Aussi publié par\u202f: Autre [x](https://evil.example) ‹@U999›</p>\n"
        "<p><em>Alerte n° 1 · veille</em></p>"
    )
    assert "@room" not in content["body"] and "＠room" in content["body"]


async def test_hostile_alert_is_neutralized_in_plain_text(room: Room) -> None:
    message = hostile_message("text")

    content = await send(room, message, "text")

    assert content == {"msgtype": "m.text", "body": message.body.rstrip("\n")}
    assert "Lien  \u202f: https://news.example/2026/03/cloud?id=7&ref=rss\n" in content["body"]
    assert (
        "  «\u00a0Le *cloud* <b onmouseover=alert(4)>souverain</b> ‹!here> ‹@U123> ‹#C042> "
        "＠*room* " in content["body"]
    )
    assert not INVISIBLE.search(content["body"])


@pytest.mark.parametrize("fmt", ["html", "markdown", "text"])
async def test_mentions_in_articles_do_not_ping_the_room(room: Room, fmt: str) -> None:
    # The article's "@room" (whole, and cut in two by the marked term "room"), "@here",
    # "@everyone", "@room" behind a zero-width space.
    title = "Alerte @room @here @everyone @\u200broom"
    await send(room, alert_message(fmt, article(title), [passage("ping @room now", "room")]), fmt)

    # Control: the same bot posting "@room" itself does highlight the reader.
    path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room.room_id, safe='')}"
    status, reply = room.server.call(
        "PUT",
        f"{path}/send/m.room.message/control-{fmt}",
        {"msgtype": "m.text", "body": "control @room"},
        room.bot_token,
    )
    assert status == 200, reply

    assert room.highlights() == [reply["event_id"]]


async def test_a_notice_keeps_its_subject_as_title(room: Room) -> None:
    # Operator notices have no heading of their own: Matrix shows the subject above them.
    notice = notice_message("[veille] source en échec : Outlet", "HTTP 500 depuis 2 jours")

    content = await send(room, notice, "text")

    assert content == {
        "msgtype": "m.text",
        "body": "# [veille] source en échec : Outlet\r\nHTTP 500 depuis 2 jours",
    }


async def test_a_refused_login_is_a_failed_send_with_the_reason(room: Room) -> None:
    channel = build_channel(
        ChannelConfig(name="matrix", url=room.channel_url(password="wrong-password"))
    )

    result = await channel.send(alert_message("html"))

    assert result.ok is False and result.error is not None
    assert result.error.startswith(f"matrix://{BOT}:****@127.0.0.1:{room.server.port}/")
    assert "wrong-password" not in result.error
    assert room.received() == []

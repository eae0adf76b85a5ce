"""Secrets are never printed, and outside text cannot drive the terminal.

Through the real entry points: `monitor check` on a configuration with a mistyped Slack
URL, apprise's own log records, the database URL shown at start-up, the log handler set
up by the CLI, and `monitor alerts` over a database filled by a real run.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.errors import ConfigError
from monitor.hygiene import mask
from monitor.log import setup_logging
from monitor.preflight import load_checked
from monitor.store import display_url

from support import DEMO, allow_any_age, service, write

SLACK_TOKENS = ("T0AB12CD3", "B0CD45EF6", "Xq9ZrT4vLm8NpW2sKd7YhJ3c")
MISTYPED_SLACK = "slakc://{}/{}/{}".format(*SLACK_TOKENS)
SHORT_SLACK = "slack://{}/{}".format(*SLACK_TOKENS[:2])
RULE = """
[[rule]]
id = "watch"
title = "Veille cloud"
query = 'Microsoft OR SecNumCloud'
channels = ["team"]
mode = "immediate"
"""


def config_with_channel(root: Path, url: str) -> Path:
    write(
        root / "sources.toml", '[[source]]\nid = "s"\nname = "S"\nurl = "https://example.org/f"\n'
    )
    write(root / "alerts" / "rules.toml", RULE)
    write(root / "alerts" / "channels.toml", f'[channels.team]\nurl = "{url}"\n')
    return root


def leaked(text: str, secrets: tuple[str, ...]) -> list[str]:
    return [secret for secret in secrets if secret in text]


def test_check_with_a_mistyped_slack_url_prints_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = config_with_channel(tmp_path, MISTYPED_SLACK)
    assert main(["--config", str(root), "check"]) == 1
    out, err = capsys.readouterr()
    assert "channel 'team': apprise cannot use 'slakc://***/***/***'" in err
    assert leaked(out + err, SLACK_TOKENS) == []


@pytest.mark.parametrize("url", [MISTYPED_SLACK, SHORT_SLACK])
def test_apprise_log_records_are_masked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    from monitor.notify.services import instantiate

    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError) as error:
        load_checked(config_with_channel(tmp_path, url), {})
    # Validation silences apprise (the problem says it, with file and line)...
    assert [r for r in caplog.records if r.name.startswith("apprise")] == []
    # ...but apprise logs the URL wherever else it is given one, masked.
    instantiate(url)
    apprise_lines = [r.getMessage() for r in caplog.records if r.name.startswith("apprise")]
    assert any("://***/***" in line for line in apprise_lines), apprise_lines  # it did log the URL
    assert leaked(caplog.text + str(error.value), SLACK_TOKENS) == []


@pytest.mark.parametrize(
    ("url", "secret", "kept"),
    [
        ("mailtos://veille:p@ss@smtp.example.org?to=a@example.org", "ss@", "@smtp.example.org"),
        ("mailtos://smtp.example.org?user=veille&pass=s3cret-pass", "s3cret-pass", "user=veille"),
        ("json://hooks.example.org/in?password=s3cret-pass", "s3cret-pass", "hooks.example.org"),
        ("https://api.example.org/v1/send?token=s3cret-token", "s3cret-token", "/v1/send"),
        ("https://api.example.org/x?apikey=abc123def&access_token=t0k3n", "t0k3n", "apikey=***"),
        ("https://api.example.org/x?X-Api-Key=k3y-value&client_secret=c", "k3y-value", "/x?"),
        ("json://relay.example.org/?webhook_url=https://in.example.org/h00k", "h00k", "relay."),
        ("discord://112233445566/AbCdEf-GhIjKl_MnOpQr123", "AbCdEf", "discord://***/***"),
        (
            "https://hooks.slack.com/services/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",
            "Xq9ZrT4vLm8NpW2sKd7YhJ3c",
            "hooks.slack.com/services/",
        ),
    ],
)
def test_mask_hides_the_secret_and_keeps_the_place(url: str, secret: str, kept: str) -> None:
    shown = mask(f"could not send to {url} (timeout)")
    assert secret not in shown
    assert kept in shown and shown.endswith(" (timeout)")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.fr/2026/la-cnil-sanctionne-microsoft-2026-12345?author=jo&keywords=x",
        "https://www.example.fr/actualites/cloud_de_confiance_secnumcloud_2026/",
        "sqlite:////var/lib/veille/test_feed_url_with_terminal_escapes0/veille.sqlite3",
    ],
)
def test_places_stay_readable(url: str) -> None:
    assert mask(url) == url


def test_database_url_hides_password_in_userinfo_and_query() -> None:
    shown = display_url(
        "postgresql://veille:pw1@db.example.org/veille?password=pw2&sslmode=require"
    )
    assert "pw1" not in shown and "pw2" not in shown
    assert shown == "postgresql+asyncpg://***@db.example.org/veille?password=***&sslmode=require"


async def test_feed_url_with_terminal_escapes_reaches_the_log_without_them(
    tmp_path: Path, web_server: Any, pool: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "config"
    feed = web_server.url("/feed") + "\\u001b[31m\\u009b2J.xml?token=s3cret"  # TOML escapes
    write(
        root / "sources.toml",
        f'[[source]]\nid = "fil"\nname = "Fil"\nurl = "{feed}"\nallow_private_networks = true\n',
    )
    write(root / "alerts" / "rules.toml", RULE)
    write(root / "alerts" / "channels.toml", '[channels.team]\nurl = "console://"\n')
    setup_logging("INFO")
    async with service(tmp_path, root, pool) as svc:
        await svc.run_pass()  # the server answers 404: the failure is logged with the URL
    err = capsys.readouterr().err
    assert f"HTTP 404 from {web_server.url('/feed')}" in err
    assert "[31m" in err and "2J.xml?token=***" in err
    assert "\x1b" not in err and "\x9b" not in err and "s3cret" not in err


HOSTILE_TITLE = "[/][/] [link=http://evil]x[/link] Microsoft"


def hostile_feed(web_server: Any) -> str:
    slug = next(iter(DEMO))
    html = DEMO[slug].html.replace(DEMO[slug].title.encode(), HOSTILE_TITLE.encode())
    assert HOSTILE_TITLE.encode() in html
    page = web_server.add(f"/articles/{slug}", html)
    item = f"<item><title>{HOSTILE_TITLE}</title><link>{page}</link><guid>{page}</guid></item>"
    return web_server.add(
        "/feed.xml",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{item}</channel></rss>',
        content_type="application/rss+xml",
    )


async def test_alerts_table_prints_markup_in_titles_literally(
    tmp_path: Path,
    web_server: Any,
    pool: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "config"
    write(
        root / "sources.toml",
        f'[[source]]\nid = "fil"\nname = "Fil"\nurl = "{hostile_feed(web_server)}"\n'
        "allow_private_networks = true\n",
    )
    write(root / "alerts" / "rules.toml", RULE)
    write(root / "alerts" / "channels.toml", '[channels.team]\nurl = "console://"\n')
    allow_any_age(root)  # the demo page is dated: it must still alert at once
    db_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    async with service(tmp_path, root, pool, db_url=db_url) as svc:
        assert (await svc.run_pass()).outcomes[0].alerts == 1
    capsys.readouterr()
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    # The CLI runs its own event loop: give it a thread, as a separate process would.
    assert await asyncio.to_thread(main, ["--config", str(root), "alerts"]) == 0
    out = capsys.readouterr().out
    assert HOSTILE_TITLE in out
    assert "\x1b]8" not in out  # no hidden hyperlink

"""Templates: operators override them, a broken one is refused at start, digests escape too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.digest.builder import DigestContent, DigestGroup, DigestStory
from monitor.errors import ConfigError
from monitor.notify.render import Renderer
from monitor.notify.samples import sample_alert, sample_digest
from monitor.preflight import load_checked
from monitor.store.views import DigestEntry, FailedDelivery, FailingSource

from support import write
from support.notify import HOSTILE_PASSAGE, HOSTILE_TITLE, PUBLISHED, passage
from support.notify import article as article_view

SOURCES = '[[source]]\nid = "s"\nname = "S"\nurl = "https://example.org/feed"\n'
RULES = '[[rule]]\nid = "r"\ntitle = "R"\nquery = "cloud"\n'


def config_dir(tmp_path: Path) -> Path:
    write(tmp_path / "sources.toml", SOURCES)
    write(tmp_path / "alerts" / "rules.toml", RULES)
    return tmp_path


def test_an_operator_override_replaces_the_shipped_template(tmp_path: Path) -> None:
    root = config_dir(tmp_path)
    write(
        root / "alerts" / "templates" / "alert.txt.j2",
        "ALERTE {{ rule.title }} / {{ article.title }} / {{ passages[0]|marked }}\n",
    )
    config = load_checked(root, {})
    rendered = Renderer(config.templates_dir).render("alert", "text", sample_alert())
    assert (
        rendered.body
        == "ALERTE sample / Titre d’exemple / Le *ministère* a signé avec *Microsoft*.\n"
    )
    # The other formats still come from the shipped templates.
    assert (
        "<blockquote" in Renderer(config.templates_dir).render("alert", "html", sample_alert()).body
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "digest.html.j2",
            "alerts/templates: template digest.html.j2: line 2: Unexpected end of template",
        ),
        (
            "alert.md.j2",
            "alerts/templates: template alert (markdown): UndefinedError: ",
        ),
    ],
)
def test_a_broken_override_is_a_configuration_error(
    tmp_path: Path, template: str, expected: str
) -> None:
    root = config_dir(tmp_path)
    broken = "ok\n{% if digest %}" if template.startswith("digest") else "{{ article.nope }}"
    write(root / "alerts" / "templates" / template, broken)
    with pytest.raises(ConfigError) as error:
        load_checked(root, {})
    messages = [str(p) for p in error.value.problems]
    assert any(m.startswith(expected) for m in messages), messages


def hostile_digest() -> dict[str, object]:
    story = passage(HOSTILE_PASSAGE, "cloud", "room")
    entry = DigestEntry(
        "r",
        1,
        HOSTILE_TITLE,
        "javascript:alert(9)",
        PUBLISHED,
        (
            ("Outlet <!here>", "javascript:alert(8)"),
            ("[x](https://evil.example)", "https://e.org/x"),
        ),
        2,
        {"rule_id": "r", "passages": [], "clauses": []},
        True,
    )
    group = DigestGroup("r", "Règle <b>@everyone</b>", "", (DigestStory(entry, story),))
    failing = FailingSource(
        "s", "Source <script>x</script>", PUBLISHED, 3, "http", "<!channel> 500 @room"
    )
    return {
        "digest": DigestContent(
            "d", "Synthèse", PUBLISHED, PUBLISHED, (group,), (failing,), (), PUBLISHED
        )
    }


def test_hostile_text_is_neutralized_in_every_digest_format() -> None:
    renderer = Renderer()
    for fmt in ("html", "markdown", "text"):
        body = renderer.render("digest", fmt, hostile_digest()).body
        for bad in (
            "<!here>",
            "<!channel>",
            "<@U123>",
            "@room",
            "@everyone",
            "\u202e",
            "\x07",
        ):
            assert bad not in body, (fmt, bad)
        # A hostile link stays text: no link is ever made of it.
        assert 'href="javascript' not in body and 'href=""' not in body
        if fmt == "markdown":
            unescaped = re.sub(r"\\.", "", body)  # what is left once escaped characters go
            assert "](javascript" not in unescaped and "](https://evil" not in unescaped
            assert "<script>" not in body and "<b>" not in body
    html = renderer.render("digest", "html", hostile_digest()).body
    # Every tag left is one of the template's own.
    tags = set(re.findall(r"</?([a-z0-9]+)", html))
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "table",
        "tr",
        "td",
        "h1",
        "h2",
        "p",
        "a",
        "div",
        "blockquote",
        "span",
        "strong",
        "ul",
        "li",
    }, tags
    assert "&lt;script&gt;" in html


def test_sample_digest_renders_in_every_format() -> None:
    renderer = Renderer()
    for fmt in ("html", "markdown", "text"):
        rendered = renderer.render("digest", fmt, sample_digest())
        assert "Titre d’exemple" in rendered.body and "Source C" in rendered.body
    assert (
        renderer.render("digest", "text", sample_digest()).subject
        == "Synthèse · 05/01/2026 · 1 sujet"
    )


def styles(html: str, tag: str) -> set[str]:
    return set(re.findall(rf'<{tag}\b[^>]*\bstyle="([^"]*)"', html))


def test_the_alert_wears_the_digests_card_and_styles() -> None:
    renderer = Renderer()
    alert = renderer.render("alert", "html", sample_alert()).body
    digest = renderer.render("digest", "html", sample_digest()).body
    # The digest's page and card (its tables) are the alert's blocks; passages look the same.
    backdrop, card = (
        next(s for s in styles(digest, tag) if mark in s)
        for tag, mark in (("td", "background:#f3f4f6"), ("table", "max-width:640px"))
    )
    assert styles(alert, "div") == {backdrop, f"{card};padding:20px 24px"}
    assert styles(alert, "blockquote") == styles(digest, "blockquote") != set()
    assert styles(alert, "h2") == styles(digest, "h1")  # the article's title, the digest's


def test_health_lines_are_counted_and_no_config_key_is_shown() -> None:
    refused = "SMTP: 550 refused"
    failed = [FailedDelivery(n, "alert", "mail", PUBLISHED, 8, refused) for n in range(12)]
    failed.append(FailedDelivery(99, "digest", "mail", PUBLISHED, 1, "timeout"))
    failing = (FailingSource("s", "Source", PUBLISHED, 1, "http", "HTTP 500"),)
    content = DigestContent(
        "quotidien", "Veille : synthèse", PUBLISHED, PUBLISHED, (), failing, tuple(failed)
    )
    for fmt in ("html", "markdown", "text"):
        body = Renderer().render("digest", fmt, {"digest": content}).body
        assert body.count("SMTP: 550 refused") == 1, fmt
        assert "après 8 essais (12 alertes)\u202f: SMTP: 550 refused" in body, fmt
        assert "après 1 essai (1 synthèse)\u202f: timeout" in body, fmt
        assert "quotidien" not in body, fmt
    text = Renderer().render("digest", "text", {"digest": content}).body
    assert "(1 essai)\u202f: HTTP 500" in text


def test_an_overrides_own_words_are_typeset_and_the_values_it_prints_are_not(
    tmp_path: Path,
) -> None:
    root = config_dir(tmp_path)
    write(
        root / "alerts" / "templates" / "alert.txt.j2",
        "Lien : {{ article.url }} à 10:30 ; l'alerte « {{ article.title }} » !\n",
    )
    context = sample_alert()
    context["article"] = article_view("L'État : « oui »", "https://example.org/l'a?b=1:2")
    body = Renderer(load_checked(root, {}).templates_dir).render("alert", "text", context).body
    assert body == (
        "Lien\u202f: https://example.org/l'a?b=1:2 à 10:30\u202f; "
        "l’alerte «\u00a0L'État : « oui »\u00a0»\u202f!\n"
    )

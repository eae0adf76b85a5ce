"""Escaping of untrusted text, case by case, and what the real Markdown renderer makes of it.

The per-service tests (test_slack, test_matrix, test_email) check
what arrives; these pin the rules themselves, so that a change to one shows which
case it moves.
"""

from __future__ import annotations

import html
import re

import markdown
import pytest

from monitor.notify.escape import (
    escape_markdown,
    markdown_url,
    one_line,
    sanitize,
    sanitize_segments,
)

from support.notify import alert_message, article, passage


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("bell\x07 esc\x1b[31m nul\x00 del\x7f c1\x85\x9b", "bell esc[31m nul del c1"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("crlf\r\nand\rcr and\u2028ls\u2029ps", "crlf\nand\ncr and\nls\nps"),
        (
            "zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffbom\u00adshy",
            "zerowidthnonjoinerwordbomshy",
        ),
        ("bidi \u202eevil\u202c \u2066isolate\u2069 \u200fmark", "bidi evil isolate mark"),
        ("tags \U000e0041\U000e0042 hidden", "tags  hidden"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("@room @Room @here @channel @everyone", "＠room ＠Room ＠here ＠channel ＠everyone"),
        ("@\u200broom", "＠room"),  # the invisible character goes first
        (
            "<!channel> <!here|here> <@U123> <#C042> <!subteam^S1>",
            "‹!channel> ‹!here|here> ‹@U123> ‹#C042> ‹!subteam^S1>",
        ),
        ("a trailing @", "a trailing ＠"),
        (
            "contact@roomservice.fr, @rooms, @heretic, me@example.org",
            "contact@roomservice.fr, @rooms, @heretic, me@example.org",
        ),
        ("a < b > c & d <b>", "a < b > c & d <b>"),
        ("e\u0301t\u0065\u0301", "été"),  # NFC
    ],
)
def test_sanitize(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


def test_one_line() -> None:
    assert one_line("  Titre\r\nBcc: x@example.org\n\n\tfin  ") == "Titre Bcc: x@example.org fin"
    assert one_line(None) == ""


def test_one_line_keeps_french_no_break_spaces() -> None:
    title = "Armées\u00a0: Microsoft reconduit «\u202fjusqu’en 2030\u202f»"
    assert one_line(f" {title}\n") == title
    assert one_line("a\u00a0\n b") == "a\u00a0 b"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        # Running text stays readable.
        (
            "Microsoft-Cloud 2.0 (bêta) ! #souveraineté 3+4=7 a|b {x} ~",
            "Microsoft-Cloud 2.0 (bêta) ! #souveraineté 3+4=7 a|b {x} ~",
        ),
        ("snake_case_name", "snake_case_name"),
        # Inline markup and links.
        ("*gras* _it_ `code` \\", "\\*gras\\* \\_it\\_ \\`code\\` \\\\"),
        (
            "[x](https://evil.example) ![i](https://evil.example/t.png)",
            "\\[x\\](https://evil.example) !\\[i\\](https://evil.example/t.png)",
        ),
        ("[ref][1] [1]: https://evil.example", "\\[ref\\]\\[1\\] \\[1\\]: https://evil.example"),
        ("__init__", "\\_\\_init\\_\\_"),
        # Tags, autolinks, Slack anchors and quotes: look-alikes.
        ("<script> <https://evil.example|x> > quote", "‹script› ‹https://evil.example|x› › quote"),
        # Blocks, at the start of a line only.
        ("# Titre", "\\# Titre"),
        ("  ### deux", "  \\### deux"),
        ("1. un", "1\\. un"),
        ("2026) deux", "2026\\) deux"),
        ("- tiret", "\\- tiret"),
        ("+ plus", "\\+ plus"),
        ("---", "\\---"),
        ("===", "\\==="),
        ("~~~", "\\~~~"),
        ("ligne\n# titre\n- item", "ligne\n\\# titre\n\\- item"),
        (
            "pas # un titre, pas - une liste, 1. non plus",
            "pas # un titre, pas - une liste, 1. non plus",
        ),
    ],
)
def test_escape_markdown(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


def lookalikes(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<script>alert(1)</script><img src=x onerror=alert(2)>", None),
        (
            "[click](javascript:alert(3)) [x](https://evil.example) ![i](https://evil.example/t.png)",
            None,
        ),
        ("<https://evil.example> <evil@example.org> [ref][1]\n\n[1]: https://evil.example", None),
        ("*gras* **fort** _it_ __fort__ `code` ``deux``", None),
        ("# titre\n\n1. liste\n\n- puce\n\n> citation\n\n---\n\n+ plus", None),
        # Python-Markdown has no escape for "=": the backslash shows (a line of "=" only).
        ("texte\n===", "texte\n\\==="),
        ("&lt;b&gt; &amp; AT&T", "<b> & AT&T"),
    ],
)
def test_python_markdown_renders_escaped_text_as_plain_paragraphs(
    text: str, shown: str | None
) -> None:
    # Matrix's "markdown" format goes through Python-Markdown (apprise, no extensions).
    rendered = markdown.markdown(escape_markdown(text))
    assert set(re.findall(r"</?([a-z0-9]+)", rendered)) <= {"p"}
    paragraphs = html.unescape(re.sub(r"</?p>", "", rendered)).replace("\n\n", "\n")
    assert paragraphs == (shown or lookalikes(text).replace("\n\n", "\n"))


def test_indented_text_is_at_worst_a_code_block() -> None:
    rendered = markdown.markdown(escape_markdown("    <b>indenté</b>"))
    assert rendered == "<pre><code>‹b›indenté‹/b›\n</code></pre>"


def test_markdown_url() -> None:
    assert markdown_url('https://ex.org/a b(c)|d<e>"f`g\\h?q=1&r=@room#frag\u200b\n') == (
        "https://ex.org/a%20b%28c%29%7Cd%3Ce%3E%22f%60g%5Ch?q=1&r=@room#frag"
    )
    assert markdown_url("https://ex.org/été?x=%C3%A9") == "https://ex.org/%C3%A9t%C3%A9?x=%C3%A9"


def test_sanitize_segments_defuses_mentions_across_marks() -> None:
    pieces = [("voir @", False), ("room", True), (" et <", False), ("\u200b!here", True)]
    assert sanitize_segments(pieces) == [
        ("voir ＠", False),
        ("room", True),
        (" et ‹", False),
        ("!here", True),
    ]
    assert sanitize_segments([("@ro", False), ("om", True)]) == [("＠ro", False), ("om", True)]


@pytest.mark.parametrize("fmt", ["html", "markdown", "text"])
def test_a_title_cannot_fake_lines_of_the_message(fmt: str) -> None:
    title = "Vrai titre\n\nSource : Agence officielle\nLien   : https://evil.example"
    message = alert_message(fmt, article(title))
    assert "Vrai titre Source : Agence officielle Lien : https://evil.example" in message.body
    assert "\nSource : Agence" not in message.body and "\nLien   : https://evil" not in message.text


@pytest.mark.parametrize("fmt", ["html", "markdown", "text"])
@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x"]
)
def test_only_web_addresses_become_links(fmt: str, url: str) -> None:
    message = alert_message(fmt, article("Titre", url))
    assert url.split(":")[0].lower() not in message.body.lower()
    assert "](" not in message.body and "href=" not in message.body
    assert "Lien" not in message.body  # the text format drops the line


def test_a_mention_cut_inside_a_word_by_a_mark_is_defused() -> None:
    message = alert_message("html", passages=[passage("ping @room now", "oom")])
    assert '＠r<strong style="background:#fff3a8">oom</strong>' in message.body

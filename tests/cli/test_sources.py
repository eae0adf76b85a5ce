"""`monitor sources add | import | export`: feeds into sources.toml without rewriting it,
against real loopback servers."""

from __future__ import annotations

import asyncio
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.cli import main
from monitor.config import load_config
from monitor.config.edit import display_name, same_url, slug_for_site, toml_string, unique_id
from monitor.hygiene import mask
from monitor.parse.feed import advertised_feeds
from monitor.parse.opml import MAX_OPML, OpmlFeed, read_opml, write_opml, xml_text

from support import MICROSOFT_RULE, free_port, write

HAND_WRITTEN = (
    "# My sources, written by hand.   Trailing spaces stay.   \n"
    + """\
[defaults]
interval = "1h"    # slow

[fetch]
contact = "https://example.org/me"

[[source]]
id = "kept"
name = 'Kept "as is"'
url = "https://example.org/kept.xml"
tags = [ "a",   "b" ]
# a comment at the end, and no newline after it"""
)

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Le "Fil" &amp; Co</title>
<item><title>Un</title><link>https://example.org/1</link></item>
<item><title>Deux</title><link>https://example.org/2</link></item>
</channel></rss>"""

PAGE = """<!doctype html><html><head><title>Le Fil</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Tout" href="/feeds/all.xml">
<link rel="alternate" type="application/atom+xml" href="atom.xml?a=1&amp;b=2">
</head><body><p>Bonjour</p></body></html>"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: Any) -> Path:
    monkeypatch.delenv("MONITOR_ALLOW_PRIVATE_NETWORKS", raising=False)
    root = tmp_path / "config"
    root.mkdir()
    (root / "sources.toml").write_bytes(HAND_WRITTEN.encode())
    write(root / "alerts" / "rules.toml", MICROSOFT_RULE)
    return root


def monitor(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def run(capsys: Any, root: Path, *argv: str) -> tuple[int, str, str]:
    return await asyncio.to_thread(monitor, capsys, "--config", str(root), *argv)


def sources_of(root: Path) -> dict[str, Any]:
    return {s.id: s for s in load_config(root, {}).sources}


def serve_site(web_server: Any) -> tuple[str, str]:
    page = web_server.add("/blog/", PAGE)
    feed = web_server.add("/feeds/all.xml", FEED, content_type="application/rss+xml")
    return page, feed


# -- add ---------------------------------------------------------------------------------------


async def test_add_finds_the_feed_of_a_page_and_appends_it_byte_for_byte(
    web_server: Any, config: Path, capsys: Any, monkeypatch: Any
) -> None:
    page, feed = serve_site(web_server)
    before = (config / "sources.toml").read_bytes()

    code, out, err = await run(capsys, config, "sources", "add", page)
    assert code == 1 and err.count("\n") == 1  # loopback is an internal address
    assert "refusing non-public address 127.0.0.1" in err and "ALLOW_PRIVATE" in err, err
    assert (config / "sources.toml").read_bytes() == before

    monkeypatch.setenv("MONITOR_ALLOW_PRIVATE_NETWORKS", "1")
    code, out, err = await run(capsys, config, "sources", "add", page)
    assert (code, err) == (0, "")
    atom = web_server.url("/blog/atom.xml") + "?a=1&b=2"
    assert f"feed found on {page}: {feed} (it also advertises {atom})" in out
    assert 'feed "Le "Fil" & Co", 2 items' in out
    assert "added source '127-0-0-1'" in out

    after = (config / "sources.toml").read_bytes()
    assert after.startswith(before) and len(after) > len(before)
    added = after[len(before) :].decode()
    assert added.startswith("\n\n# Added by `monitor sources add` on ")
    assert '\nname = "Le \\"Fil\\" & Co"\n' in added
    sources = sources_of(config)
    assert list(sources) == ["kept", "127-0-0-1"]
    new = sources["127-0-0-1"]
    assert (new.url, new.name, new.kind) == (feed, 'Le "Fil" & Co', "feed")
    assert new.interval.total_seconds() == 3600  # the file's [defaults] apply
    assert main(["--config", str(config), "check"]) == 0


async def test_add_reads_the_files_fetch_settings_and_guards_the_advertised_feed(
    web_server: Any, config: Path, capsys: Any
) -> None:
    """[fetch] allow_networks opens the loopback site; the cloud metadata address its page
    advertises stays refused, and nothing is written."""
    sources = config / "sources.toml"
    sources.write_text(
        HAND_WRITTEN.replace("[fetch]\n", '[fetch]\nallow_networks = ["127.0.0.1/32"]\n'),
        encoding="utf-8",
    )
    before = sources.read_bytes()
    page = web_server.add(
        "/meta/",
        PAGE.replace("/feeds/all.xml", "http://169.254.169.254/latest/meta-data/feed"),
    )
    code, out, err = await run(capsys, config, "sources", "add", page)
    assert (code, out) == (1, "") and web_server.hits("/meta/")
    assert "169.254.169.254" in err and "ALLOW_PRIVATE_NETWORKS" in err, err
    assert sources.read_bytes() == before


async def test_add_refuses_duplicates_and_derives_unique_ids(
    web_server: Any, config: Path, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("MONITOR_ALLOW_PRIVATE_NETWORKS", "1")
    page, feed = serve_site(web_server)
    other = web_server.add("/other.xml", FEED, content_type="application/rss+xml")
    assert (await run(capsys, config, "sources", "add", feed))[0] == 0
    saved = (config / "sources.toml").read_bytes()

    code, _, err = await run(capsys, config, "sources", "add", page)  # same feed, found again
    assert (
        code == 1
        and err == f"cannot add {page}: {feed} is already configured as source '127-0-0-1'\n"
    )
    hits = len(web_server.hits("/feeds/all.xml"))
    code, _, err = await run(capsys, config, "sources", "add", feed + "#top")
    assert code == 1 and "already configured as source '127-0-0-1'" in err
    assert len(web_server.hits("/feeds/all.xml")) == hits  # refused before any request
    code, _, err = await run(capsys, config, "sources", "add", other, "--id", "kept")
    assert code == 1 and err.endswith("source id 'kept' is already used in sources.toml\n")
    code, _, err = await run(capsys, config, "sources", "add", other, "--id", "Not An Id")
    assert code == 1 and "invalid id 'Not An Id'" in err
    assert not web_server.hits("/other.xml")
    assert (config / "sources.toml").read_bytes() == saved

    assert (await run(capsys, config, "sources", "add", other))[0] == 0
    assert list(sources_of(config)) == ["kept", "127-0-0-1", "127-0-0-1-2"]


async def test_a_feed_that_moved_for_good_is_added_at_its_new_address(
    web_server: Any, config: Path, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("MONITOR_ALLOW_PRIVATE_NETWORKS", "1")
    _, feed = serve_site(web_server)
    moved = web_server.add("/rss", status=301, headers={"Location": "/feeds/all.xml"})
    found = web_server.add("/found", status=302, headers={"Location": "/feeds/all.xml"})
    assert (await run(capsys, config, "sources", "add", moved, "--id", "moved"))[0] == 0
    assert sources_of(config)["moved"].url == feed
    assert (await run(capsys, config, "sources", "add", found, "--id", "found"))[0] == 0
    assert sources_of(config)["found"].url == found  # a temporary move keeps the address


async def test_add_says_why_there_is_no_feed_in_one_line(
    web_server: Any, config: Path, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("MONITOR_ALLOW_PRIVATE_NETWORKS", "1")
    plain = web_server.add("/plain", "<!doctype html><html><head><title>x</title></head></html>")
    text = web_server.add("/notes.txt", "just words", content_type="text/plain")
    broken = web_server.add("/broken/", PAGE)  # advertises /feeds/all.xml, which is a 404
    gone = f"http://reader:s3cret@127.0.0.1:{free_port()}/feed.xml"
    before = (config / "sources.toml").read_bytes()
    expected = {
        plain: "no feed found on",
        text: "not a recognizable RSS, Atom or JSON feed",
        broken: "404",
        gone: "ClientConnectorError",
    }
    for url, reason in expected.items():
        code, out, err = await run(capsys, config, "sources", "add", url)
        assert (code, out) == (1, ""), url
        assert err.startswith(f"cannot add {mask(url)}: ") and reason in err, err
        assert err.count("\n") == 1 and "s3cret" not in err, err
    assert (config / "sources.toml").read_bytes() == before


def test_a_sources_file_that_is_not_toml_is_named_with_its_line(config: Path, capsys: Any) -> None:
    sources = config / "sources.toml"
    sources.write_text(HAND_WRITTEN + '\n[[source]]\nid = "broken\n', encoding="utf-8")
    before = sources.read_bytes()
    code, out, err = monitor(capsys, "--config", str(config), "sources", "add", "https://x.org/")
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert err.startswith("cannot add https://x.org/: cannot add to sources.toml:15:"), err
    assert sources.read_bytes() == before


def test_add_to_a_directory_that_is_not_there_is_one_line(tmp_path: Path, capsys: Any) -> None:
    code, _, err = monitor(
        capsys, "--config", str(tmp_path / "no"), "sources", "add", "https://x.org/"
    )
    assert code == 1 and "configuration directory not found" in err and "monitor init" in err


def test_a_file_with_windows_line_ends_keeps_them(
    config: Path, tmp_path: Path, capsys: Any
) -> None:
    crlf = HAND_WRITTEN.replace("\n", "\r\n").encode()
    (config / "sources.toml").write_bytes(crlf)
    opml = write(
        tmp_path / "one.opml", '<opml><body><outline xmlUrl="https://a.example/f"/></body></opml>'
    )
    assert monitor(capsys, "--config", str(config), "sources", "import", str(opml))[0] == 0
    after = (config / "sources.toml").read_bytes()
    assert after.startswith(crlf) and after.count(b"\n") == after.count(b"\r\n")
    assert sources_of(config)["a"].url == "https://a.example/f"


# -- import and export -------------------------------------------------------------------------

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Mes flux</title></head><body>
  <outline text="Tech">
    <outline text="Cloud">
      <outline type="rss" text="Le Cloud &amp; vous" xmlUrl="https://cloud.example.fr/rss" htmlUrl="https://www.cloud.example.fr/"/>
    </outline>
    <outline type="rss" title="Kept again" text="k" xmlUrl="https://example.org/kept.xml"/>
  </outline>
  <outline type="rss" text="Twice" xmlUrl="https://twice.example.org/feed"/>
  <outline type="rss" text="Twice again" xmlUrl="https://TWICE.example.org/feed/"/>
  <outline type="rss" text="Gopher" xmlUrl="gopher://old.example.org/feed"/>
  <outline text="a folder without feeds"/>
</body></opml>"""


def test_import_adds_new_feeds_and_says_why_others_are_skipped(
    config: Path, tmp_path: Path, capsys: Any
) -> None:
    opml = write(tmp_path / "feeds.opml", OPML)
    before = (config / "sources.toml").read_bytes()
    code, out, err = monitor(capsys, "--config", str(config), "sources", "import", str(opml))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:2] == [
        "added cloud-example: https://cloud.example.fr/rss",
        "added twice-example: https://twice.example.org/feed",
    ]
    assert "skipped: https://example.org/kept.xml is already configured as source 'kept'" in lines
    twice = "https://TWICE.example.org/feed/ is already configured as source 'twice-example'"
    assert f"skipped: {twice}" in lines
    assert any(
        line.startswith("skipped: source 'old-example': invalid URL 'gopher:") for line in lines
    )
    assert lines[-1].startswith("2 added, 3 skipped, appended to ")

    after = (config / "sources.toml").read_bytes()
    assert after.startswith(before)
    assert "# Imported from feeds.opml (Tech/Cloud)\n" in after.decode()
    sources = sources_of(config)
    assert sources["cloud-example"].name == "Le Cloud & vous"
    assert list(sources) == ["kept", "cloud-example", "twice-example"]


async def test_export_then_import_into_an_empty_configuration_gives_the_same_feeds(
    config: Path, tmp_path: Path, capsys: Any
) -> None:
    with (config / "sources.toml").open("a", encoding="utf-8") as sources:
        sources.write(
            '\n[[source]]\nid = "odd"\nname = "<Odd> & \\"quoted\\" \\u0007 name"\n'
            'url = "https://example.org/feed?a=1&b=<2>"\n\n'
            '[[source]]\nid = "listing"\nname = "A page"\nurl = "https://example.org/news"\n'
            'kind = "page"\nselector = "a.news"\n'
        )
    code, opml, _ = monitor(capsys, "--config", str(config), "sources", "export")
    assert code == 0 and opml.startswith(
        "<?xml version='1.0' encoding='UTF-8'?>\n<opml version=\"2.0\">"
    )
    assert 'xmlUrl="https://example.org/feed?a=1&amp;b=&lt;2&gt;"' in opml
    assert 'text="&lt;Odd&gt; &amp; &quot;quoted&quot; name"' in opml
    assert "news" not in opml  # a page source is no feed

    exported = write(tmp_path / "out.opml", opml)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, _ = monitor(capsys, "--config", str(empty), "sources", "import", str(exported))
    assert code == 0 and out.endswith(
        f"\n2 added, 0 skipped, appended to {empty / 'sources.toml'} from line 1\n"
    )
    assert (
        (empty / "sources.toml")
        .read_text(encoding="utf-8")
        .startswith("# Imported from out.opml\n[[source]]\n")
    )
    imported = tomllib.loads((empty / "sources.toml").read_text(encoding="utf-8"))["source"]
    assert [s["url"] for s in imported] == [
        "https://example.org/kept.xml",
        "https://example.org/feed?a=1&b=<2>",
    ]
    assert [s["name"] for s in imported] == ['Kept "as is"', '<Odd> & "quoted" name']

    code, out, _ = monitor(
        capsys, "--config", str(config), "sources", "export", str(tmp_path / "f.opml")
    )
    assert (code, out) == (0, f"2 feeds written to {tmp_path / 'f.opml'}\n")
    # The same document, but for its creation time, which may have passed a second.
    undated = re.compile(r"<dateCreated>[^<]*</dateCreated>")
    written = (tmp_path / "f.opml").read_text(encoding="utf-8")
    assert undated.sub("", written) == undated.sub("", opml) and undated.search(written)


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<opml version="2.0"><body><outline text="&d;" xmlUrl="https://example.org/&d;"/></body></opml>"""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (LAUGHS, "not well-formed XML"),
        ("<html><body>no</body></html>", "not an OPML file (its root element is <html>)"),
        ("<opml><body><outline", "not well-formed XML"),
        ("<opml><body/></opml>", None),
        (" " * MAX_OPML + "<opml/>", f"larger than {MAX_OPML:,} bytes"),
    ],
)
def test_import_refuses_what_is_not_a_readable_opml_in_one_line(
    config: Path, tmp_path: Path, capsys: Any, content: str, reason: str | None
) -> None:
    opml = tmp_path / "bad.opml"
    opml.write_text(content, encoding="utf-8")
    before = (config / "sources.toml").read_bytes()
    code, out, err = monitor(capsys, "--config", str(config), "sources", "import", str(opml))
    assert (code, out) == (1, "") and err.count("\n") == 1, err
    assert reason is None or (err.startswith(f"cannot import {opml}: ") and reason in err), err
    assert reason is not None or err == f"no feed in {opml} (no outline with an xmlUrl)\n"
    assert (config / "sources.toml").read_bytes() == before


# -- the sources group and the helpers ---------------------------------------------------------


def test_sources_alone_still_lists_and_its_help_names_the_actions(
    config: Path, capsys: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    assert monitor(capsys, "--config", str(config), "sources") == (
        0,
        "never polled yet: kept\n",
        "",
    )
    with pytest.raises(SystemExit):
        main(["sources", "--help"])
    out = capsys.readouterr().out
    assert all(f"    {action} " in out for action in ("add", "import", "export"))


def test_advertised_feeds_follow_the_page_base_and_skip_what_is_not_http() -> None:
    page = b"""<html><head><base href="https://cdn.example/x/"><base href="/ignored/">
    <link rel=alternate type=application/rss+xml href=feed.xml>
    <link rel="alternate" type="application/atom+xml" href="javascript:alert(1)">
    <LINK REL="Alternate" TYPE="application/feed+json" HREF="/feed.json#top">
    <link rel="alternate" type="text/html" href="/en/">
    <link rel="alternate" type="application/rss+xml" href="feed.xml"></head></html>"""
    assert advertised_feeds(page, "https://site.example/page") == [
        "https://cdn.example/x/feed.xml",
        "https://cdn.example/feed.json",
    ]


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://www.lemagit.fr/rss/", "lemagit"),
        ("https://next.ink/feed/", "next"),
        ("https://blog.example.org/", "blog-example"),
        ("https://www.usine-digitale.fr/x", "usine-digitale"),
        ("http://127.0.0.1:8080/f", "127-0-0-1"),
        ("http://[::1]/f", "1"),
        ("http://localhost/f", "localhost"),
    ],
)
def test_an_id_comes_from_the_site_host(url: str, slug: str) -> None:
    assert slug_for_site(url) == slug


def test_ids_and_urls_compare_as_the_service_would() -> None:
    assert unique_id("a", ["a", "a-2", "b"]) == "a-3" and unique_id("c", ["a"]) == "c"
    assert same_url("HTTPS://Example.org:443/feed/#x") == same_url("https://example.org/feed")
    assert same_url("https://example.org/feed?a=1") != same_url("https://example.org/feed?a=2")


@given(st.text())
def test_any_text_survives_as_a_toml_string(text: str) -> None:
    assert tomllib.loads(f"x = {toml_string(text)}\n")["x"] == text


@given(st.text(), st.text())
def test_any_title_and_url_survive_an_opml_round_trip(title: str, path: str) -> None:
    url = "https://example.org/" + path
    feeds = read_opml(write_opml([OpmlFeed(url=url, title=title)], title), "x.opml")
    assert feeds == [OpmlFeed(url=xml_text(url).strip(), title=xml_text(title).strip())]


@given(st.text(st.characters(codec=None, exclude_categories=())))
def test_a_name_from_any_title_is_one_line_that_utf8_and_toml_can_hold(title: str) -> None:
    name = display_name(title, "https://example.org/feed")
    assert "\n" not in name and name == name.strip() and name
    line = f"x = {toml_string(name)}\n"
    assert tomllib.loads(line.encode("utf-8").decode("utf-8"))["x"] == name  # as written

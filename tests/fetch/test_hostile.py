"""Hostile input on the fetch side: robots.txt built to make matching explode, addresses
spelled to slip past the guard, a private source whose links lead elsewhere inside, and
who may read the database on disk. Real loopback servers, a real SQLite file."""

from __future__ import annotations

import stat
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.config.sources import FetchSettings, PrivateAccess
from monitor.errors import BlockedAddress
from monitor.fetch import HttpClient
from monitor.fetch.guard import BlockedAddressError, check_literal_host
from monitor.fetch.robots import MAX_RULE_LENGTH, MAX_RULES, parse_robots
from monitor.store.db import create_engine

from support import EVENT, OFF_TOPIC, rss, serve_articles, service, write

LOOPBACK = PrivateAccess("127.0.0.1")  # what a source at http://127.0.0.1:PORT/ is given


def client() -> HttpClient:
    """A client with the guard on, as in production."""
    settings = FetchSettings(host_delay=timedelta(0), timeout=timedelta(seconds=5))
    return HttpClient(settings, allow_private=False)


# -- robots.txt -------------------------------------------------------------------------------


def test_hostile_robots_wildcards_are_matched_in_linear_time() -> None:
    # As a regex, 8 stars against 60 characters took 62 s; against 5,000 it would not end.
    robots = parse_robots("User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*b\n", "veille")
    started = time.perf_counter()
    short = robots.allows("https://example.org/" + "a" * 60)
    long = robots.allows("https://example.org/" + "a" * 5000)
    elapsed = time.perf_counter() - started
    assert (short, long) == (True, True)  # no "b": the rule does not match
    assert robots.allows("https://example.org/" + "a" * 5000 + "b") is False
    assert elapsed < 1.0, f"took {elapsed:.2f}s"


def test_robots_file_is_capped() -> None:
    long_rule = "/" + "x" * MAX_RULE_LENGTH  # one character too many: ignored
    many = "".join(f"Disallow: /r{i}/\n" for i in range(MAX_RULES + 5))
    robots = parse_robots(f"User-agent: *\nDisallow: {long_rule}\n{many}", "veille")
    assert len(robots.rules) == MAX_RULES
    assert robots.allows("https://example.org" + long_rule)
    assert not robots.allows(f"https://example.org/r{MAX_RULES - 1}/a")
    assert robots.allows(f"https://example.org/r{MAX_RULES}/a")  # past the cap: dropped


@pytest.mark.parametrize(
    ("rules", "path", "allowed"),
    [
        ("Disallow: /*.pdf$", "/doc/rapport.pdf", False),
        ("Disallow: /*.pdf$", "/doc/rapport.pdf?page=2", True),  # $: the end, nothing after
        ("Disallow: /fiche$", "/fiche", False),
        ("Disallow: /fiche$", "/fiches", True),
        ("Disallow: /*?xtor=", "/article?xtor=RSS-1", False),
        ("Disallow: /a*b*c", "/a-b-c-d", False),
        ("Disallow: /a*b*c", "/a-c-b", True),
        ("Disallow: /prive/\nAllow: /prive/public/", "/prive/public/x", True),  # longest wins
        ("Allow: /prive/\nDisallow: /prive/secret", "/prive/secret/x", False),  # longest wins
        ("Disallow: /page\nAllow: /page", "/page", True),  # a tie: Allow wins
        ("Disallow: /*x\nAllow: /p*", "/px", True),  # a tie in length: Allow wins
    ],
)
def test_robots_rules_keep_their_meaning(rules: str, path: str, allowed: bool) -> None:
    robots = parse_robots(f"User-agent: *\n{rules}\n", "veille")
    assert robots.allows("https://example.org" + path) is allowed


# -- the address guard ------------------------------------------------------------------------

LEGACY_SPELLINGS = {
    "2130706433": "127.0.0.1",  # one decimal integer
    "127.1": "127.0.0.1",  # short forms
    "10.1": "10.0.0.1",
    "0177.0.0.1": "127.0.0.1",  # octal
    "0x7f.0.0.1": "127.0.0.1",  # hex
    "0x7f000001": "127.0.0.1",
    "0": "0.0.0.0",
    "017700000001": "127.0.0.1",
    "134744072": "8.8.8.8",  # public, but not how an address is written: refused too
}


@pytest.mark.parametrize(("host", "address"), LEGACY_SPELLINGS.items())
def test_guard_refuses_legacy_ipv4_spellings(host: str, address: str) -> None:
    with pytest.raises(
        BlockedAddressError, match=rf"non-canonical .* {host} \(reads as {address}\)"
    ):
        check_literal_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",  # IPv4-compatible
        "[::a9fe:a9fe]",  # IPv4-compatible 169.254.169.254
        "[64:ff9b::7f00:1]",  # NAT64 127.0.0.1
        "[64:ff9b::a00:1]",  # NAT64 10.0.0.1
        "[2002:7f00:1::]",  # 6to4 127.0.0.1
        "[2002:a9fe:a9fe::1]",  # 6to4 169.254.169.254
        "[fec0::1]",  # site-local
        "[::ffff:7f00:1]",  # IPv4-mapped (refused before, kept)
    ],
)
def test_guard_refuses_ipv6_forms_of_private_addresses(host: str) -> None:
    with pytest.raises(BlockedAddressError, match="refusing non-public address"):
        check_literal_host(host)


@pytest.mark.parametrize(
    "host",
    ["8.8.8.8", "[2001:4860:4860::8888]", "[64:ff9b::808:808]", "[2002:808:808::1]", "cafe"],
)
def test_guard_lets_public_addresses_and_names_through(host: str) -> None:
    assert check_literal_host(host) is None  # raises if refused


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f000001", "0177.0.0.1"])
async def test_client_refuses_legacy_spellings_directly_and_after_a_redirect(
    web_server, host: str
) -> None:
    port = web_server.server.port
    web_server.add("/target", "secret")
    hop = web_server.add(
        "/hop", "", status=302, headers={"Location": f"http://{host}:{port}/target"}
    )
    async with client() as http:
        with pytest.raises(BlockedAddress, match=rf"non-canonical IPv4 address {host}"):
            await http.get(f"http://{host}:{port}/target", source_id="s")
        # The first hop is the source's own host, which it may reach; the second is not.
        with pytest.raises(BlockedAddress, match=rf"non-canonical IPv4 address {host}"):
            await http.get(hop, source_id="s", private=LOOPBACK)
    assert len(web_server.hits("/hop")) == 1 and web_server.hits("/target") == []


# -- allow_private_networks: the source's own host, not every link ---------------------------


async def test_private_source_reaches_its_own_host_on_any_port_only(web_server) -> None:
    page = web_server.add("/page", "own host")
    elsewhere = web_server.add("/elsewhere", "another host").replace("127.0.0.1", "localhost")
    web_server.add("/redirect", "", status=302, headers={"Location": elsewhere})
    async with client() as http:
        assert (await http.get(page, source_id="s", private=LOOPBACK)).body == b"own host"
        for url in (elsewhere, web_server.url("/redirect")):
            with pytest.raises(BlockedAddress, match="localhost: resolves to non-public"):
                await http.get(url, source_id="s", private=LOOPBACK)
        links = PrivateAccess("127.0.0.1", any_host=True)  # allow_private_links = true
        assert (await http.get(elsewhere, source_id="s", private=links)).body == b"another host"
    assert len(web_server.hits("/elsewhere")) == 1


async def test_pipeline_keeps_article_links_of_a_private_source_guarded(
    tmp_path: Path, web_server, pool
) -> None:
    served = serve_articles(web_server, EVENT, OFF_TOPIC)
    inside = served[OFF_TOPIC].replace("127.0.0.1", "localhost")  # same server, another host
    feed = web_server.add(
        "/feed.xml", rss([(EVENT, served[EVENT]), (OFF_TOPIC, inside)]), content_type="text/xml"
    )
    source = (
        f'[[source]]\nid = "fil"\nname = "Fil"\nurl = "{feed}"\nallow_private_networks = true\n'
    )
    warnings: dict[str, str] = {}
    for variant, extra in (("guarded", ""), ("links", "allow_private_links = true\n")):
        config_dir = write(tmp_path / variant / "sources.toml", source + extra).parent
        write(
            config_dir / "alerts" / "rules.toml", '[[rule]]\nid = "r"\ntitle = "r"\nquery = "x"\n'
        )
        async with service(tmp_path / variant, config_dir, pool) as svc:
            (outcome,) = (await svc.run_pass()).outcomes
        assert outcome.new_articles == 2
        warnings[variant] = " ".join(outcome.warnings)
    assert "refusing localhost: resolves to non-public address" in warnings["guarded"]
    assert warnings["links"] == ""
    assert len(web_server.hits(f"/articles/{EVENT}")) == 2  # the feed's own host: both times
    assert len(web_server.hits(f"/articles/{OFF_TOPIC}")) == 1  # only with allow_private_links


def test_private_links_need_private_networks(tmp_path: Path) -> None:
    from monitor.errors import ConfigError
    from monitor.preflight import load_checked

    write(
        tmp_path / "sources.toml",
        '[[source]]\nid = "s"\nname = "S"\nurl = "https://example.org/feed"\n'
        "allow_private_links = true\n",
    )
    write(tmp_path / "alerts" / "rules.toml", '[[rule]]\nid = "r"\ntitle = "r"\nquery = "x"\n')
    with pytest.raises(ConfigError) as error:
        load_checked(tmp_path, {})
    (problem,) = [str(p) for p in error.value.problems]
    assert "allow_private_links = true needs allow_private_networks = true" in problem
    assert "sources.toml" in problem


# -- files on disk ----------------------------------------------------------------------------


async def test_database_directory_and_file_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = create_engine(f"sqlite:///{data / 'veille.sqlite3'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        await connection.execute(text("INSERT INTO t VALUES (1)"))
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
    await engine.dispose()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert modes["veille.sqlite3"] == 0o600
    assert modes["veille.sqlite3-wal"] == 0o600  # SQLite copies the database file's mode

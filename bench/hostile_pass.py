"""The memory and time of one pass over a hostile web: about 240 hostile sources and a few
honest feeds, all served from loopback, through `monitor run --once --no-send` with the
shipped rules, on a fresh SQLite database each round.

    python bench/hostile_pass.py [--rounds 3] [--copies 34]

Each attack of tests/system/test_hostile_web.py is served `--copies` times under distinct
URLs and source ids: robots.txt wildcards (read from another host name, localhost), an
entity-bomb feed, a 400,000-character title, a gzip-bomb sitemap, JSON nested 50,000
deep, a 6 MB page trickled out slowly, and links (and a redirect) to private hosts the
sources may not reach. Every source may reach its own host only (allow_private_networks).
The whole process tree of the command is sampled with bench/run.py's `measure`: the pass's
wall time, the tree's peak resident memory and its split by process at that peak, and how
the sources ended (read from the database's `sources` table). Median and minimum over the
rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import MONITOR, REPO, Usage, Web, measure, rss, run_env, write_config

HONEST_FEEDS = 4
SLOW_PAGE = 6_000_000  # bytes, past the 5 MB body limit
SLOW_CHUNK = 64 * 1024
SLOW_PAUSE = 0.01  # seconds between chunks: about a second for the whole page
PRIVATE = "127.0.0.2:9"  # another private host: refused before any connection

# --- the attacks ------------------------------------------------------------------------


def feed(*items: tuple[str, str]) -> str:
    """An RSS feed of (title, link) items, titles written as given (entities included)."""
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>{title}</description></item>"
        for title, link in items
    )
    return f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'


def entity_bomb(link: str) -> bytes:
    prolog = f'<!DOCTYPE rss [\n<!ENTITY a "{"A" * 1000}">\n]>\n'
    return (prolog + feed(("&a;" * 100_000, link))).encode()  # 100 MB once expanded


def gzip_bomb() -> bytes:
    filler = b"<url><loc>http://localhost/x</loc></url>" * 1_000_000  # about 40 MB inflated
    return gzip.compress(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + filler)


DEEP_JSON = ('{"version": "https://jsonfeed.org/version/1.1", "items": ' + "[" * 50_000).encode()
LONG_TITLE = ("ministère Microsoft passer sous logiciel libre accord cadre " * 7_000)[:400_000]
ROBOTS = b"User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*b\n"
PRIVATE_SPELLINGS = (
    "http://127.0.0.2:9/dotted",
    "http://2130706434:9/decimal",
    "http://0x7f000002:9/hex",
    "http://0177.0.0.2:9/octal",
    "http://[::ffff:127.0.0.2]:9/mapped",
)
ARTICLE = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    + "<p>Le ministère des Armées renouvelle son accord-cadre avec Microsoft pour ses"
    " logiciels, selon un document publié cette semaine. {n}</p>" * 6 + "</article></body></html>"
)


class HostileWeb(Web):
    """bench/run.py's loopback server, plus what a fixed body cannot say: a content type
    per path, a page trickled out slowly, a redirect."""

    def __init__(self) -> None:
        self.types: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        super().__init__()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/slow/"):
            return await self._trickle(request)
        if request.path in self.redirects:
            raise web.HTTPFound(self.redirects[request.path])
        if request.path in self.types:
            body, _ = self.routes[request.path]
            return web.Response(body=body, content_type=self.types[request.path])
        return await super()._handle(request)

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        chunk = b"<p>" + b"lent " * (SLOW_CHUNK // 5) + b"</p>"
        try:
            for _ in range(SLOW_PAGE // len(chunk) + 1):
                await response.write(chunk)
                await asyncio.sleep(SLOW_PAUSE)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the reader stopped at its body limit, as it should
        return response

    def add(self, path: str, body: bytes, content_type: str = "text/xml") -> str:
        self.routes[path] = (body, f'"{len(self.routes)}"')
        self.types[path] = content_type
        return self.base + path


def serve_attacks(server: HostileWeb, copies: int) -> list[str]:
    """The [[source]] blocks of `copies` sources of each attack and of the honest feeds."""
    base, other_host = server.base, server.base.replace("127.0.0.1", "localhost")
    server.add("/robots.txt", ROBOTS, "text/plain")
    bomb = gzip_bomb()
    blocks = []
    for n in range(copies):
        page = f"/r{n}/" + "a" * 80
        server.add(page, b"<html><body><p>page</p></body></html>", "text/html")
        url = server.add(f"/robots/{n}.xml", feed(("Page", other_host + page)).encode())
        blocks.append(source(f"robots{n}", url.replace("127.0.0.1", "localhost")))
        url = server.add(f"/bomb/{n}.xml", entity_bomb(f"{base}/bomb/{n}"))
        blocks.append(source(f"entities{n}", url, extract=False))
        url = server.add(f"/long/{n}.xml", feed((LONG_TITLE, f"{base}/long/{n}")).encode())
        blocks.append(source(f"long-title{n}", url, extract=False))
        url = server.add(f"/sitemap/{n}.xml.gz", bomb, "application/x-gzip")
        blocks.append(source(f"sitemap{n}", url, kind="sitemap"))
        url = server.add(f"/deep/{n}.json", DEEP_JSON, "application/feed+json")
        blocks.append(source(f"deep-json{n}", url))
        url = server.add(f"/slow-feed/{n}.xml", feed(("Lent", f"{base}/slow/{n}")).encode())
        blocks.append(source(f"slow{n}", url, robots=False))
        server.redirects[f"/redirect/{n}"] = f"http://{PRIVATE}/redirected/{n}"
        links = [*PRIVATE_SPELLINGS, f"{base}/redirect/{n}"]
        items = [(f"Lien {k}", f"{link}?{n}") for k, link in enumerate(links)]
        url = server.add(f"/links/{n}.xml", feed(*items).encode())
        blocks.append(source(f"links{n}", url, robots=False))
    for n in range(HONEST_FEEDS):
        items = []
        for k in range(5):
            title = f"Armées et Microsoft, accord-cadre {n}-{k}"
            path = f"/honest/{n}/{k}"
            server.add(path, ARTICLE.format(title=title, n=f"{n}-{k}").encode(), "text/html")
            items.append((title, path))
        url = server.add(f"/honest/{n}.xml", rss(base, items))
        blocks.append(source(f"honest{n}", url, robots=False))
    return blocks


def source(sid: str, url: str, **extra: object) -> str:
    lines = ["[[source]]", f'id = "{sid}"', f'name = "{sid}"', f'url = "{url}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def write_hostile_config(folder: Path, blocks: Sequence[str]) -> None:
    """bench/run.py's configuration (shipped rules, no politeness delay, every source
    allowed its own private host), the shipped monitor.toml, and these sources."""
    write_config(folder, [], extract=True)
    shutil.copy(REPO / "monitor.toml", folder / "monitor.toml")
    with (folder / "sources.toml").open("a") as toml:
        toml.write("\n".join(blocks))


# --- a round ----------------------------------------------------------------------------


def outcomes(database: Path) -> dict[str, int]:
    """How the sources ended: read, read with a warning, failed, never attempted."""
    with sqlite3.connect(database) as db:
        rows = db.execute("select last_attempt_at, last_error, warning from sources").fetchall()
    counts = {"ok": 0, "warned": 0, "failed": 0, "not attempted": 0}
    for attempted, error, warning in rows:
        if attempted is None:
            counts["not attempted"] += 1
        elif error:
            counts["failed"] += 1
        elif warning:
            counts["warned"] += 1
        else:
            counts["ok"] += 1
    return counts


def one_round(blocks: Sequence[str]) -> tuple[Usage, dict[str, int]]:
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        folder, database = Path(tmp), Path(tmp) / "hostile.sqlite"
        write_hostile_config(folder, blocks)
        usage = measure([*MONITOR, "run", "--once", "--no-send"], run_env(folder, database))
        return usage, outcomes(database)


def split(usage: Usage) -> str:
    return ", ".join(f"{role} {size / 2**20:.0f}" for role, size in usage.peak_by_role.items())


def _fmt(values: Sequence[float], unit: str) -> str:
    return f"{statistics.median(values):.1f} {unit} (min {min(values):.1f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=34, help="sources of each attack")
    args = parser.parse_args(argv)
    server = HostileWeb()
    blocks = serve_attacks(server, args.copies)
    print(f"{len(blocks)} sources ({HONEST_FEEDS} honest)", file=sys.stderr)
    walls, peaks = [], []
    for round_ in range(args.rounds):
        usage, ended = one_round(blocks)
        walls.append(usage.wall)
        peaks.append(usage.peak_rss / 2**20)
        print(
            f"round {round_ + 1}: wall {usage.wall:.1f} s, CPU {usage.cpu:.1f} s,"
            f" peak {usage.peak_rss / 2**20:.0f} MB ({split(usage)});"
            f" sources {', '.join(f'{k} {v}' for k, v in ended.items())}"
        )
    print(f"wall: {_fmt(walls, 's')}; peak of the process tree: {_fmt(peaks, 'MB')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

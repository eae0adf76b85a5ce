"""The benchmark table: each row against a reference measured in the same run.

    python bench/run.py [--rounds 3] [--rows pass,repoll,startup,backtest] [--feeds 1000]
        [--articles 10000] [--tree DIR]

`--tree DIR` runs the `monitor` of another checkout (an older commit, for a before/after),
with this environment's packages.

Rows (median and minimum over the rounds; ratios of medians):
  pass     `monitor run --once --no-send` over the corpus pages (MONITOR_CORPUS_DIR, default
           ../shared/corpus) behind 11 loopback feeds, fresh SQLite database each round,
           against `trafilatura.extract` alone over the same pages in 2 processes:
           articles/s, CPU per article and peak memory of the whole process tree. Each
           round also says where its wall time went: the main process alone before the
           workers first used CPU (start-up, migrations, worker spawn), with them (fetch,
           extraction, matching), and alone after their last CPU (the writes).
  repoll   a second `run --once` over N feeds that all answer 304, after a first pass that
           stored them: wall and CPU seconds (start-up included, and shown apart), against
           lemon24's reader (`pip install reader sgmllib3k`) updating the same feeds a
           second time, 16 threads, its own database, and against rss2email (`pip install
           rss2email`: its `r2e` on PATH) running them a second time, `--no-send`, its own
           data file. A reference that is not installed is skipped, and said.
  backtest `backtest --since all` of one rule over N stored articles (`--articles`,
           default 10,000; bench/backtest.py): CPU seconds of a replay that reads the
           stored vocabularies, against the first replay, which analyses every text.
  startup  `monitor --help`, `sources`, `alerts`, `health`, `feedback export` (all under
           0.5 s wall) and `check` (which compiles the rules), on a migrated database: wall
           and CPU seconds, against `python -c pass`.

The measured package is compiled to bytecode first, as an installed one is (`pip install`
compiles it; an editable checkout under PYTHONDONTWRITEBYTECODE never would).
CPU is that of the command and all its descendants, from the kernel's accounting of
reaped children (the bench reaps every orphan). Memory is sampled from /proc every 20 ms
over the process tree (Linux only): the largest sum of resident sets seen at once.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import ctypes
import gzip
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("MONITOR_CORPUS_DIR") or REPO.parent / "shared" / "corpus")
MONITOR = [sys.executable, "-m", "monitor"]
TREE = REPO  # the checkout whose `monitor` runs (--tree)
FEEDS_FOR_PAGES = 11
TICK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# --- measuring a process tree -----------------------------------------------------------


@dataclass
class Usage:
    wall: float = 0.0
    cpu: float = 0.0
    peak_rss: int = 0  # bytes
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    peak_by_role: dict[str, int] = field(default_factory=dict)  # at the tree's peak, bytes
    own_cpu: float = 0.0  # the command's process alone, its last sample
    # (seconds from the start, the largest CPU time of the pool's workers summed so far)
    workers_cpu: list[tuple[float, float]] = field(default_factory=list)

    def phases(self) -> str:
        """Where the wall time went: the command alone before its workers worked (start-up:
        imports, configuration, database, worker spawn), with them, and alone after them
        (for a pass: the writes). The workers' time ends when they had done 98 % of their
        CPU: exiting at the end of the command costs them a little more."""
        done = self.workers_cpu[-1][1] if self.workers_cpu else 0.0
        if not done:
            return f"no worker used CPU in {self.wall:.1f} s"
        start = next(t for t, cpu in self.workers_cpu if cpu > 0)
        end = next(t for t, cpu in self.workers_cpu if cpu >= 0.98 * done)
        return (
            f"alone {start:.1f} s, with workers {end - start:.1f} s,"
            f" alone after {self.wall - end:.1f} s"
        )


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _tree(root: int) -> list[int]:
    children, found, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _role(pid: int, root: int) -> str:
    """What a process of the measured tree is: the command itself, or one of the helpers
    multiprocessing starts (a worker is a fork of the forkserver, so it has its command
    line: its parent tells them apart)."""
    if pid == root:
        return "main"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return "gone"
    if b"resource_tracker" in command:
        return "resource tracker"
    if b"forkserver" in command and parent == root:
        return "forkserver"
    return f"worker {pid}"


def _sample(pid: int) -> tuple[float, int] | None:
    """(CPU seconds, resident bytes) of one process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK, rss_pages * PAGE_SIZE


def measure(
    command: Sequence[str], env: dict[str, str] | None = None, ok: Sequence[int] = (0, 3)
) -> Usage:
    """Run a command to its end, sampling its process tree; fails loudly on an exit status
    not in `ok`."""
    usage = Usage()
    cpu_before = _children_cpu()
    started = time.perf_counter()
    # From the measured checkout: `python -m` puts the working directory first on sys.path.
    proc = subprocess.Popen(
        command, env=env, cwd=TREE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    while True:
        rss, by_role, workers_cpu = 0, {}, 0.0
        for pid in _tree(proc.pid):
            sample = _sample(pid)
            if sample:
                role = _role(pid, proc.pid)
                usage.cpu_by_pid[pid] = sample[0]
                rss += sample[1]
                by_role[role] = sample[1]
                workers_cpu += sample[0] if role.startswith("worker") else 0.0
        _note_workers(usage, workers_cpu, time.perf_counter() - started)
        if rss > usage.peak_rss:
            usage.peak_rss, usage.peak_by_role = rss, by_role
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    usage.wall = time.perf_counter() - started
    _reap_orphans()
    usage.own_cpu = usage.cpu_by_pid.get(proc.pid, 0.0)
    usage.cpu = _children_cpu() - cpu_before
    if proc.returncode not in ok:
        raise SystemExit(
            f"{' '.join(command)} exited {proc.returncode}:\n{''.join(stderr)[-3000:]}"
        )
    return usage


def become_subreaper() -> None:
    """Make this process the reaper of every orphan of the commands it measures (Linux
    prctl PR_SET_CHILD_SUBREAPER). Then the CPU time of all their descendants reaches
    this process's children's usage once and exactly, whichever process waited for which;
    summing per-process samples instead misses short processes, and adding them to the
    command's own rusage counts the reaped ones twice."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # 36: PR_SET_CHILD_SUBREAPER
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def _reap_orphans(timeout: float = 30.0) -> None:
    """Wait for the measured command's descendants that outlived it (reparented here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            time.sleep(0.01)
    raise SystemExit(f"descendants of a measured command still run after {timeout:.0f} s")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _note_workers(usage: Usage, workers_cpu: float, now: float) -> None:
    """Keep the workers' CPU time at this sample. It is summed over the workers alive at
    the sample (one that ends takes its time out of the sum): the largest sum so far is
    kept."""
    seen = usage.workers_cpu[-1][1] if usage.workers_cpu else 0.0
    usage.workers_cpu.append((now, max(seen, workers_cpu)))


# --- loopback web ---------------------------------------------------------------------


def corpus_pages() -> list[tuple[str, bytes]]:
    """(title, html) of every corpus page."""
    folder = CORPUS / "articles"
    if not (folder / "index.json").is_file():
        raise SystemExit(f"no corpus at {folder}: set MONITOR_CORPUS_DIR")
    pages = []
    for record in json.loads((folder / "index.json").read_text()):
        body = (folder / record["file"]).read_bytes()
        if record["file"].endswith(".gz"):
            body = gzip.decompress(body)
        pages.append((Path(record["file"]).name.split(".")[0], body))
    return pages


def rss(base: str, items: Sequence[tuple[str, str]]) -> bytes:
    now = format_datetime(datetime.now(UTC))
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{base}{path}</link>"
        f"<guid>{base}{path}</guid><pubDate>{now}</pubDate>"
        f"<description>{escape(title)}</description></item>"
        for title, path in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>bench</title><link>{base}/</link>{entries}</channel></rss>"
    ).encode()


class Web:
    """An aiohttp server on loopback, in a thread; routes are (path -> body, etag)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.hits = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.port = 0
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        found = self.routes.get(request.path)
        if found is None:
            raise web.HTTPNotFound()
        body, etag = found
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        kind = "application/rss+xml" if request.path.endswith(".xml") else "text/html"
        return web.Response(body=body, content_type=kind, headers={"ETag": etag})

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()


def write_config(folder: Path, feeds: Sequence[tuple[str, str]], extract: bool) -> None:
    """A configuration directory: the shipped rules, these feeds, no politeness delay."""
    shutil.copytree(TREE / "alerts", folder / "alerts")
    lines = [
        "[defaults]",
        'interval = "30m"',
        "allow_private_networks = true",
        f"extract = {'true' if extract else 'false'}",
        "max_items = 500",
        "",
        "[fetch]",
        "per_host = 8",
        'host_delay = "0s"',
        "concurrency = 16",
        "",
    ]
    for source_id, url in feeds:
        lines += [
            "[[source]]",
            f'id = "{source_id}"',
            f'name = "{source_id}"',
            f'url = "{url}"',
            "",
        ]
    (folder / "sources.toml").write_text("\n".join(lines))


def compile_tree() -> None:
    """The measured package's modules compiled to bytecode, as `pip install` leaves an
    installed package (and the references' packages): with PYTHONDONTWRITEBYTECODE set,
    an editable checkout would otherwise compile every module in every process it starts
    (0.3 s of CPU for the main process of a pass here)."""
    compileall.compile_dir(TREE / "monitor", quiet=1)


def tree_env() -> dict[str, str]:
    """This environment, importing `monitor` from the measured checkout (--tree)."""
    env = dict(os.environ)
    if TREE != REPO:
        env["PYTHONPATH"] = str(TREE)
    return env


def run_env(folder: Path, database: Path) -> dict[str, str]:
    env = tree_env()
    env.update(
        MONITOR_CONFIG_DIR=str(folder),
        MONITOR_DATA_DIR=str(folder / "data"),
        MONITOR_DATABASE_URL=f"sqlite:///{database}",
        MONITOR_LOG_LEVEL="WARNING",
    )
    return env


def count_articles(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute("select count(*) from articles").fetchone()[0])


# --- rows -------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    unit: str
    ours: list[float]
    reference: list[float] | None = None
    reference_name: str = ""
    lower_is_better: bool = True


def serve_corpus(server: Web, pages: Sequence[tuple[str, bytes]]) -> list[tuple[str, str]]:
    per_feed = -(-len(pages) // FEEDS_FOR_PAGES)
    feeds = []
    for k in range(FEEDS_FOR_PAGES):
        chunk = list(enumerate(pages))[k * per_feed : (k + 1) * per_feed]
        for n, (_, body) in chunk:
            server.routes[f"/a/{n}"] = (body, f'"a{n}"')
        items = [(title, f"/a/{n}") for n, (title, _) in chunk]
        server.routes[f"/feed/{k}.xml"] = (rss(server.base, items), f'"f{k}"')
        feeds.append((f"corpus{k}", f"{server.base}/feed/{k}.xml"))
    return feeds


def row_pass(rounds: int, server: Web) -> list[Row]:
    pages = corpus_pages()
    feeds = serve_corpus(server, pages)
    rates, cpus, peaks, ref_rates, ref_cpus, ref_peaks = [], [], [], [], [], []
    for round_ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="bench-pass-") as tmp:
            folder, database = Path(tmp), Path(tmp) / "pass.sqlite"
            write_config(folder, feeds, extract=True)
            usage = measure([*MONITOR, "run", "--once", "--no-send"], run_env(folder, database))
            stored = count_articles(database)
        reference = measure([sys.executable, __file__, "--reference-extract"])
        rates.append(stored / usage.wall)
        cpus.append(usage.cpu / stored * 1000)
        peaks.append(usage.peak_rss / 2**20)
        ref_rates.append(len(pages) / reference.wall)
        ref_cpus.append(reference.cpu / len(pages) * 1000)
        ref_peaks.append(reference.peak_rss / 2**20)
        split = ", ".join(f"{role} {size / 2**20:.0f}" for role, size in usage.peak_by_role.items())
        print(
            f"  pass round {round_ + 1}: {stored} articles, {stored / usage.wall:.1f} art/s,"
            f" {usage.cpu / stored * 1000:.0f} ms CPU/art"
            f" (main process {usage.own_cpu / stored * 1000:.0f}),"
            f" peak {usage.peak_rss / 2**20:.0f} MB"
            f" ({split}); wall {usage.wall:.1f} s: {usage.phases()}",
            file=sys.stderr,
        )
    ref = "trafilatura.extract, 2 processes"
    return [
        Row("pass: articles per second", "art/s", rates, ref_rates, ref, lower_is_better=False),
        Row("pass: CPU per article, process tree", "ms", cpus, ref_cpus, ref),
        Row("pass: peak memory, process tree", "MB", peaks, ref_peaks, ref),
    ]


def reference_extract() -> None:
    """The reference of the pass row: the extractor alone, 2 processes, same pages."""
    from concurrent.futures import ProcessPoolExecutor

    pages = [body for _, body in corpus_pages()]
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_extract_one, pages, chunksize=4))


def _extract_one(body: bytes) -> int:
    import trafilatura

    return len(trafilatura.extract(body) or "")


def row_repoll(rounds: int, server: Web, feeds_count: int) -> list[Row]:
    feeds = []
    for k in range(feeds_count):
        items = [(f"unchanged {k}-{i}", f"/u/{k}/{i}") for i in range(5)]
        server.routes[f"/repoll/{k}.xml"] = (rss(server.base, items), f'"r{k}"')
        feeds.append((f"feed{k}", f"{server.base}/repoll/{k}.xml"))
    walls, cpus, startup, ref_walls, ref_cpus = [], [], [], [], []
    r2e_walls: list[float] = []
    r2e_cpus: list[float] = []
    has_reader, r2e = reader_usable(), rss2email_command()
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="bench-repoll-") as tmp:
            folder, database = Path(tmp), Path(tmp) / "repoll.sqlite"
            write_config(folder, feeds, extract=False)
            env = run_env(folder, database)
            measure([*MONITOR, "run", "--once", "--no-send"], env)  # stores them
            usage = measure([*MONITOR, "run", "--once", "--no-send"], env)
            idle = measure([*MONITOR, "check"], env)
            if has_reader:
                urls = folder / "urls.txt"
                urls.write_text("\n".join(url for _, url in feeds))
                reader_db = str(folder / "reader.sqlite")
                update = [sys.executable, __file__, "--reference-reader", reader_db, str(urls)]
                measure(update)  # adds and stores them
                reference = measure(update)
                ref_walls.append(reference.wall)
                ref_cpus.append(reference.cpu)
            if r2e:
                config = write_rss2email_config(folder, feeds)
                run = [r2e, "-c", str(config), "-d", str(folder / "r2e.json"), "run", "--no-send"]
                measure(run)  # stores them
                reference = measure(run)
                r2e_walls.append(reference.wall)
                r2e_cpus.append(reference.cpu)
        walls.append(usage.wall)
        cpus.append(usage.cpu)
        startup.append(idle.cpu)
    ref = "lemon24's reader, 16 threads"
    rows = [
        Row(f"repoll: {feeds_count} unchanged feeds, wall", "s", walls, ref_walls, ref),
        Row(f"repoll: {feeds_count} unchanged feeds, CPU", "s", cpus, ref_cpus, ref),
    ]
    if r2e_walls:
        rows += [
            Row(f"repoll: {feeds_count} unchanged feeds, wall", "s", walls, r2e_walls, "rss2email"),
            Row(f"repoll: {feeds_count} unchanged feeds, CPU", "s", cpus, r2e_cpus, "rss2email"),
        ]
    return [*rows, Row("repoll: of which start-up and config (CPU of `check`)", "s", startup)]


def rss2email_command() -> str | None:
    """rss2email's `r2e` on PATH; if there is none, says so on stderr."""
    found = shutil.which("r2e")
    if found is None:
        print("  repoll: no rss2email reference, `r2e` is not on PATH", file=sys.stderr)
    return found


def write_rss2email_config(folder: Path, feeds: Sequence[tuple[str, str]]) -> Path:
    """rss2email's configuration for the feeds: one section per feed, nothing sent."""
    sections = "".join(f"[feed.{name}]\nurl = {url}\n\n" for name, url in feeds)
    config = folder / "r2e.cfg"
    config.write_text(
        "[DEFAULT]\nfrom = bench@example.invalid\nto = bench@example.invalid\n\n" + sections
    )
    return config


def reader_usable() -> bool:
    """Whether lemon24's reader imports here; if not, says why on stderr."""
    try:
        # Its feed parser too, which it imports only when it first parses: reader 3.26
        # needs sgmllib3k there without depending on it.
        import reader._parser.feedparser  # noqa: F401
    except ImportError as exc:
        print(f"  repoll: no reference, lemon24's reader does not import: {exc}", file=sys.stderr)
        return False
    return True


def reference_reader(database: str, urls: str) -> None:
    """The repoll row's reference: lemon24's reader updating the feeds listed in `urls`
    (added on its first run, against an empty database), every one of them each time."""
    from reader import make_reader

    reader = make_reader(database)
    if not any(True for _ in reader.get_feeds(limit=1)):
        for url in Path(urls).read_text().split():
            reader.add_feed(url)
    reader.update_feeds(scheduled=False, workers=16)  # every feed, due or not
    reader.close()


def row_backtest(rounds: int, articles: int) -> list[Row]:
    """bench/backtest.py, once a round, with the measured tree's `monitor`."""
    env = dict(tree_env(), MONITOR_CORPUS_DIR=str(CORPUS / "articles"))
    stored, analysed = [], []
    for _ in range(rounds):
        done = subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "backtest.py"),
                "--json",
                "--articles",
                str(articles),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.splitlines()[-1])
        stored.append(result["stored_vocabularies_cpu"])
        analysed.append(result["first_replay_cpu"])
    return [
        Row(
            f"backtest: one rule, {articles:,} stored articles",
            "CPU-s",
            stored,
            analysed,
            "first replay, every text analysed",
        )
    ]


# The commands that match nothing and extract nothing, which must start in under 0.5 s;
# `check` compiles the rules, for comparison. `health` exits 1: nothing is running.
STARTUP_COMMANDS = (
    ["--help"],
    ["sources"],
    ["alerts"],
    ["health"],
    ["feedback", "export"],
    ["check"],
)


def row_startup(rounds: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        folder = Path(tmp)
        write_config(folder, [("one", "http://127.0.0.1:9/feed.xml")], extract=False)
        env = run_env(folder, folder / "startup.sqlite")
        measure([*MONITOR, "db", "upgrade"], env)  # the listings read a database
        baseline = [measure([sys.executable, "-c", "pass"]) for _ in range(rounds)]
        rows = []
        for args in STARTUP_COMMANDS:
            measure([*MONITOR, *args], env, ok=(0, 1))  # warm-up: the files in the OS's cache
            runs = [measure([*MONITOR, *args], env, ok=(0, 1)) for _ in range(rounds)]
            for what in ("wall", "cpu"):
                rows.append(
                    Row(
                        f"start-up: monitor {' '.join(args)} ({what})",
                        "s",
                        [getattr(u, what) for u in runs],
                        [getattr(u, what) for u in baseline],
                        "python -c pass",
                    )
                )
    return rows


# --- table ------------------------------------------------------------------------------


def _fmt(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3g} (min {min(values):.3g})"


def print_table(rows: Sequence[Row]) -> None:
    print("| row | veille: median (min) | reference: median (min) | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        ours = f"{_fmt(row.ours)} {row.unit}"
        if row.reference:
            ref = f"{row.reference_name}: {_fmt(row.reference)} {row.unit}"
            ratio = f"{statistics.median(row.ours) / statistics.median(row.reference):.2f}×"
        else:
            ref, ratio = "—", "—"
        print(f"| {row.name} | {ours} | {ref} | {ratio} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", default="pass,repoll,startup,backtest")
    parser.add_argument("--feeds", type=int, default=1000, help="feeds of the repoll row")
    parser.add_argument(
        "--articles", type=int, default=10_000, help="stored articles of the backtest row"
    )
    parser.add_argument("--tree", type=Path, default=REPO, help="checkout to measure")
    parser.add_argument("--reference-extract", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reference-reader", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global TREE
    TREE = args.tree.resolve()
    if args.reference_extract:
        reference_extract()
        return 0
    if args.reference_reader:
        reference_reader(*args.reference_reader)
        return 0
    become_subreaper()
    compile_tree()
    server = Web()
    wanted = args.rows.split(",")
    makers: dict[str, Callable[[], list[Row]]] = {
        "pass": lambda: row_pass(args.rounds, server),
        "repoll": lambda: row_repoll(args.rounds, server, args.feeds),
        "startup": lambda: row_startup(args.rounds),
        "backtest": lambda: row_backtest(args.rounds, args.articles),
    }
    rows: list[Row] = []
    for name in wanted:
        if name not in makers:
            parser.error(f"unknown row {name!r}: choose among {', '.join(makers)}")
        print(f"{name}...", file=sys.stderr)
        rows += makers[name]()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

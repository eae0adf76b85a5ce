"""The write phase of a pass alone: the main process's CPU from the first article written
to the last, over the corpus pages behind 11 loopback feeds, on a fresh database.

    MONITOR_CORPUS_DIR=../shared/corpus python bench/writes.py [--rounds 3] [--profile FILE]
        [--database URL]

Each round runs one `run --once --no-send` pass through the Python API in a child
process. Once every source is read, the pass writes its articles (`Pipeline.write`) while
nothing else runs in that process: the process's CPU time (its threads included, such as
aiosqlite's) from the start of the first write to the end of the last is the write phase's.
With `--profile`, py-spy (`pip install py-spy`) samples the last round's write phase into
FILE (py-spy's raw format, for flame graphs): the thread that holds the GIL, so Python's
own work (SQLite's C code runs without it, and is only in the CPU total). The samples are
summed by where they were: story decisions, the store, the index refresh, the rest
(matching happens in the worker pool, while the pass reads).
`--database` runs on PostgreSQL (a database this bench may empty) instead of SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from repoll import empty_postgres, run_pass
from run import Web, corpus_pages, serve_corpus, write_config

RATE = 250  # py-spy samples a second


async def write_phase(folder: Path, database: str, profile: str | None) -> dict[str, float]:
    from monitor import open_monitor
    from monitor.pipeline import Pipeline

    marks: dict[str, tuple[float, float]] = {}
    spy: list[subprocess.Popen[bytes]] = []
    write = Pipeline.write

    async def timed(self: Pipeline, *args: Any) -> None:
        if "start" not in marks:
            if profile:
                spy.append(sample_me(profile))
            marks["start"] = (time.process_time(), time.perf_counter())
        try:
            await write(self, *args)
        finally:
            marks["end"] = (time.process_time(), time.perf_counter())

    Pipeline.write = timed  # type: ignore[method-assign]
    async with open_monitor(folder, database, allow_private=True, send=False) as monitor:
        summary = await monitor.poll()
        for sampler in spy:  # stopped at the end of the write phase
            sampler.send_signal(signal.SIGINT)
            sampler.wait()
    (cpu0, wall0), (cpu1, wall1) = marks["start"], marks["end"]
    written = sum(o.new_articles + o.updated_articles for o in summary.outcomes)
    return {"articles": written, "cpu": cpu1 - cpu0, "wall": wall1 - wall0}


def sample_me(output: str) -> subprocess.Popen[bytes]:
    """py-spy sampling this process, every thread, until SIGINT."""
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(os.getpid()), "--rate", str(RATE)]
    sampler = subprocess.Popen(
        [*command, "--gil", "--threads", "--format", "raw", "--output", output],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # attached before the first write
    return sampler


# Where a sample was, by the first of these functions found in its stack.
PLACES = (
    ("story decisions", "decide (monitor/cluster/stories.py"),
    ("story index refresh", "load_story_index (monitor/pipeline.py"),
    ("store: statements and driver", "write (monitor/pipeline.py"),
    ("SQLite's thread (aiosqlite)", "aiosqlite/core.py"),
)


# Innermost frames of a thread that waits (py-spy's idle detection misses them): the event
# loop's select, aiosqlite's and the thread pools' queues, a condition.
WAITING = (
    "select (selectors.py",
    "_read_from_self (asyncio/selector_events.py",
    "Condition.wait (threading.py",
    "_connection_worker_thread (aiosqlite/core.py",
    "_worker (concurrent/futures/thread.py",
)


def places(profile: str, articles: float) -> list[tuple[str, float]]:
    """(where, CPU ms per article) of py-spy's raw samples, waits left out: a sample is
    1/RATE s."""
    found: dict[str, int] = {}
    for line in Path(profile).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        innermost = stack.rpartition(";")[2]
        if ";" not in stack or any(frame in innermost for frame in WAITING):
            continue
        place = next((name for name, frame in PLACES if frame in stack), "event loop, other")
        found[place] = found.get(place, 0) + int(count)
    order = [name for name, _ in PLACES] + ["event loop, other"]
    return [(name, found[name] * 1000 / RATE / articles) for name in order if name in found]


def child(argv: list[str]) -> None:
    folder, database, profile = argv
    print(json.dumps(asyncio.run(write_phase(Path(folder), database, profile or None))))


def run_round(feeds: list[tuple[str, str]], database: str, profile: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-writes-") as tmp:
        folder = Path(tmp)
        write_config(folder, feeds, extract=True)
        if database:
            asyncio.run(empty_postgres(database))
        url = database or f"sqlite:///{folder / 'writes.sqlite'}"
        return run_pass(folder, url, profile, script=__file__)


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default="", help="py-spy samples of the last round")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (emptied first)")
    args = parser.parse_args()
    server = Web()
    feeds = serve_corpus(server, corpus_pages())
    rounds = []
    for n in range(args.rounds):
        profile = args.profile if n == args.rounds - 1 else ""
        rounds.append(run_round(feeds, args.database, profile))
        print(f"  round {n + 1}: {rounds[-1]}", file=sys.stderr)
    per_article = [r["cpu"] / r["articles"] * 1000 for r in rounds]
    walls = [r["wall"] for r in rounds]
    print(
        f"write phase, {rounds[-1]['articles']:.0f} articles: main-process CPU per article"
        f" median {statistics.median(per_article):.2f} ms (min {min(per_article):.2f} ms);"
        f" wall median {statistics.median(walls):.2f} s (min {min(walls):.2f} s)"
    )
    if args.profile:
        print(f"where the last round's write phase went (py-spy, {RATE} samples/s):")
        for name, ms in places(args.profile, rounds[-1]["articles"]):
            print(f"  {name}: {ms:.2f} ms per article")
    return 0


if __name__ == "__main__":
    sys.exit(main())

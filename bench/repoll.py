"""The re-poll pass alone: N loopback feeds that all answer 304, timed without start-up.

    python bench/repoll.py [--feeds 1000] [--rounds 3] [--profile FILE] [--database URL]

A first pass stores the feeds' items; each round then runs one more pass through the
Python API in a child process (the loopback server's CPU is not counted) and reports the
wall and CPU seconds of `poll()` alone: configuration, migrations and imports are left
out. With `--profile`, the last round's pass is written as a cProfile file (read it with
`python -m pstats FILE`). `--database` runs on PostgreSQL (a database this bench may
empty) instead of a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Web, rss, write_config


def serve_feeds(server: Web, count: int) -> list[tuple[str, str]]:
    feeds = []
    for k in range(count):
        items = [(f"unchanged {k}-{i}", f"/u/{k}/{i}") for i in range(5)]
        server.routes[f"/repoll/{k}.xml"] = (rss(server.base, items), f'"r{k}"')
        feeds.append((f"feed{k}", f"{server.base}/repoll/{k}.xml"))
    return feeds


async def timed_pass(folder: Path, database: str, profile: str | None) -> dict[str, float]:
    """One pass over every source, as `run --once` makes it, timed alone."""
    from monitor import open_monitor

    async with open_monitor(folder, database, allow_private=True, send=False) as monitor:
        profiler = cProfile.Profile() if profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        summary = await monitor.poll()
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    unchanged = sum(1 for o in summary.outcomes if o.not_modified)
    return {"wall": wall, "cpu": cpu, "unchanged": unchanged}


def child(argv: list[str]) -> None:
    folder, database, profile = argv
    print(json.dumps(asyncio.run(timed_pass(Path(folder), database, profile or None))))


def run_pass(
    folder: Path, database: str, profile: str = "", script: str = __file__
) -> dict[str, float]:
    """The JSON line that `script --child` prints after its timed pass."""
    done = subprocess.run(
        [sys.executable, script, "--child", str(folder), database, profile],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the pass failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


async def empty_postgres(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default="", help="cProfile output of the last round")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (emptied first)")
    args = parser.parse_args()
    server = Web()
    feeds = serve_feeds(server, args.feeds)
    with tempfile.TemporaryDirectory(prefix="bench-repoll-") as tmp:
        folder = Path(tmp)
        write_config(folder, feeds, extract=False)
        if args.database:
            asyncio.run(empty_postgres(args.database))
        database = args.database or f"sqlite:///{folder / 'repoll.sqlite'}"
        run_pass(folder, database)  # stores the items; every feed answers 304 from now on
        rounds = []
        for n in range(args.rounds):
            last = n == args.rounds - 1
            rounds.append(run_pass(folder, database, args.profile if last else ""))
            print(f"  round {n + 1}: {rounds[-1]}", file=sys.stderr)
    for key in ("wall", "cpu"):
        values = [r[key] for r in rounds]
        print(
            f"repoll pass, {args.feeds} feeds: {key} median {statistics.median(values):.3f} s"
            f" (min {min(values):.3f} s)"
        )
    if any(r["unchanged"] != args.feeds for r in rounds):
        print("warning: not every feed answered 304", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

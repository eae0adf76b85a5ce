"""Backtest of one rule over N generated stored articles: first replay (no stored
vocabularies: every text analysed, as before migration 0005, and vocabularies stored)
against the next one (stored vocabularies read), in the same run.

    MONITOR_CORPUS_DIR=../shared/corpus/articles python bench/backtest.py [--articles 10000 100000]

Articles are sentences of the corpus's gold texts drawn with a fixed seed (same input,
same database), written straight into a fresh SQLite file migrated to head.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_match import corpus_dir, load_corpus

from monitor.backtest import run_backtest
from monitor.config import load_config
from monitor.match.normalize import split_sentences
from monitor.store import Store, upgrade

REPO = Path(__file__).resolve().parents[1]
RULE = "secnumcloud-qualification"
SEED = 20261204


def sentence_pool() -> list[str]:
    directory = corpus_dir()
    if directory is None:
        raise SystemExit("corpus not found: set MONITOR_CORPUS_DIR")
    docs = load_corpus(directory, extract=False)
    return [d.text[s:e] for d in docs for s, e in split_sentences(d.text)]


def fill(database: Path, count: int, pool: list[str]) -> None:
    draw = random.Random(SEED)
    now = datetime(2026, 12, 1, tzinfo=UTC).isoformat(sep=" ")
    with sqlite3.connect(database) as db:
        db.execute(
            "insert into sources (id, url, name, kind, first_seen_at, consecutive_failures,"
            " items_seen) values ('gen', 'http://gen.example/', 'Generated', 'feed', ?, 0, 0)",
            (now,),
        )
        rows = []
        for n in range(count):
            text = "\n".join(draw.choice(pool) for _ in range(draw.randint(10, 40)))
            title = draw.choice(pool)[:200]
            url = f"http://gen.example/{n}"
            rows.append((url, url, "gen", title, "fr", now, now, text, f"{n:064d}", "page", ""))
        db.executemany(
            "insert into articles (canonical_url, url, source_id, title, lang, first_seen_at,"
            " updated_at, text, content_hash, extraction, flags, summary)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
            rows,
        )


async def replay(url: str) -> tuple[float, int]:
    config = load_config(REPO, os.environ)
    store = Store.open(url)
    try:
        started = time.process_time()
        result = await run_backtest(store, config, [RULE], None)
        return time.process_time() - started, len(result.reports[RULE].hits)
    finally:
        await store.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[10_000])
    parser.add_argument("--json", action="store_true", help="one JSON line per size (run.py)")
    args = parser.parse_args()
    pool = sentence_pool()
    if not args.json:
        print("| articles | first replay (analyses all) | stored vocabularies | ratio | hits |")
        print("|---|---|---|---|---|")
    for count in args.articles:
        with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
            database = Path(tmp) / "b.sqlite3"
            url = f"sqlite:///{database}"
            upgrade(url)
            fill(database, count, pool)
            before, hits_before = asyncio.run(replay(url))
            after, hits_after = asyncio.run(replay(url))
            assert hits_before == hits_after
            if args.json:
                cpu = {"first_replay_cpu": before, "stored_vocabularies_cpu": after}
                print(json.dumps({"articles": count, "hits": hits_after, **cpu}))
                continue
            cells = [f"{count:,}", f"{before:.1f} CPU-s", f"{after:.2f} CPU-s"]
            cells += [f"{before / after:.1f}x", str(hits_after)]
            print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

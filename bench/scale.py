"""What 1,000 sources and 100,000 stored articles cost: one `run --once --no-send` over
1,000 loopback feeds, 1 % of them with a new item and the rest answering 304, on a
SQLite database that already holds 100,000 articles; peak memory, CPU and wall time of the
process tree (sampled as in `run.py`), and the database's size on disk.

    MONITOR_CORPUS_DIR=../shared/corpus python bench/scale.py [--feeds 1000]
        [--articles 100000] [--changed 0.01] [--rounds 3]

The database is built once. A first pass stores the feeds' items (5 each), then the
archive goes straight in with sqlite3: articles made of corpus sentences drawn with a
fixed seed, 100 a source, one story each, first seen over the 100 days before now, each
with its sighting. Those of the story window (the last 4 days) carry a fingerprint, as
the pipeline leaves them, so that the story index read at start-up has its full size.
Matches and vocabularies are left out: the vocabulary's share of the file is estimated
from a sample and printed apart. Each round runs the pass on a copy of that database, with
new items in other feeds (`--changed`); `check` on the same copy, which reads the
configuration and compiles the rules, gives the start-up's share.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_match import load_corpus
from repoll import serve_feeds
from run import CORPUS, MONITOR, REPO, Web, count_articles, measure, rss, run_env, write_config

from monitor.cluster import fingerprint
from monitor.cluster.stories import TEXT_WINDOW
from monitor.config import load_config
from monitor.match import Document, vocabulary
from monitor.match.normalize import split_sentences

SEED = 20261205
PER_SOURCE = 100  # archived articles per source, at 1,000 sources: 100,000
DAYS = 100  # the archive's span: 1,000 articles a day


def sentence_pool() -> list[str]:
    documents = load_corpus(CORPUS / "articles", extract=False)
    if not documents:
        raise SystemExit(f"no corpus at {CORPUS}: set MONITOR_CORPUS_DIR")
    return [d.text[s:e] for d in documents for s, e in split_sentences(d.text)]


def _sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy stores an aware UTC datetime in SQLite (compared as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def fill_archive(database: Path, sources: list[str], count: int, pool: list[str]) -> None:
    """`count` articles of drawn sentences, each its story and sighting, oldest first."""
    draw = random.Random(SEED)
    now = datetime.now(UTC)
    window_start = now - TEXT_WINDOW + timedelta(hours=1)
    with sqlite3.connect(database) as db:
        story = db.execute("select coalesce(max(id), 0) from stories").fetchone()[0]
        for n in range(count):
            seen = now - timedelta(days=DAYS) * (1 - n / count)
            text = "\n".join(draw.choice(pool) for _ in range(draw.randint(10, 40)))
            title = draw.choice(pool)[:200]
            when, url = _sqlite_time(seen), f"http://archive.example/{n}"
            source = sources[n % len(sources)]
            print_ = fingerprint(title, text, "fr").to_bytes() if seen >= window_start else None
            story += 1
            db.execute(
                "insert into stories (id, title, first_seen_at, last_seen_at) values (?, ?, ?, ?)",
                (story, title, when, when),
            )
            article = db.execute(
                "insert into articles (canonical_url, url, source_id, story_id, title, lang,"
                " published_at, first_seen_at, updated_at, summary, text, content_hash,"
                " extraction, flags, fingerprint) values (?, ?, ?, ?, ?, 'fr', ?, ?, ?, '', ?, ?,"
                " 'page', '', ?)",
                (url, url, source, story, title, when, when, when, text, f"{n:064x}", print_),
            ).lastrowid
            db.execute(
                "insert into sightings (source_id, entry_key, item_hash, article_id, seen_at)"
                " values (?, ?, ?, ?, ?)",
                (source, f"{n:064x}", f"{n:064x}", article, when),
            )


def vocabulary_bytes(pool: list[str], sample: int = 200) -> float:
    """The mean size of a stored vocabulary, over `sample` articles drawn like the archive."""
    ruleset = load_config(REPO, os.environ).ruleset  # the shipped rules
    draw = random.Random(SEED)
    sizes = []
    for _ in range(sample):
        text = "\n".join(draw.choice(pool) for _ in range(draw.randint(10, 40)))
        analysis = ruleset.analysis_of(
            Document(title=draw.choice(pool)[:200], text=text, lang="fr")
        )
        sizes.append(len(vocabulary.encode(vocabulary.vocabulary_of(analysis))))
    return statistics.mean(sizes)


def on_disk(database: Path) -> int:
    """The database's bytes: the file and its write-ahead log."""
    return sum(p.stat().st_size for p in database.parent.glob(database.name + "*"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of feeds with news")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pool = sentence_pool()
    server = Web()
    feeds = serve_feeds(server, args.feeds)
    walls, cpus, peaks, startups = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder, built = Path(tmp), Path(tmp) / "built.sqlite"
        write_config(folder, feeds, extract=False)
        measure([*MONITOR, "run", "--once", "--no-send"], run_env(folder, built))
        fill_archive(built, [source_id for source_id, _ in feeds], args.articles, pool)
        with sqlite3.connect(built) as db:
            db.execute("pragma wal_checkpoint(truncate)")
        size = on_disk(built)
        print(
            f"  built: {args.articles:,} archived articles, {size / 2**20:.0f} MB", file=sys.stderr
        )
        changed = max(1, round(args.feeds * args.changed))
        for round_ in range(args.rounds):
            database = folder / f"round{round_}.sqlite"
            shutil.copyfile(built, database)
            for k in range(changed):
                items = [(f"unchanged {k}-{i}", f"/u/{k}/{i}") for i in range(5)]
                items.append((f"news {k} of round {round_}", f"/n/{round_}/{k}"))
                server.routes[f"/repoll/{k}.xml"] = (rss(server.base, items), f'"n{round_}-{k}"')
            env = run_env(folder, database)
            usage = measure([*MONITOR, "run", "--once", "--no-send"], env)
            startups.append(measure([*MONITOR, "check"], env).cpu)
            walls.append(usage.wall)
            cpus.append(usage.cpu)
            peaks.append(usage.peak_rss / 2**20)
            after = on_disk(database)
            written = count_articles(database) - count_articles(built)
            if written != changed:
                raise SystemExit(f"round {round_ + 1}: {written} new articles, {changed} expected")
            print(
                f"  round {round_ + 1}: {usage.wall:.1f} s, {usage.cpu:.1f} CPU-s", file=sys.stderr
            )
            database.unlink()
    vocabularies = vocabulary_bytes(pool) * args.articles
    print(
        f"| {args.feeds:,} feeds ({changed} with news), {args.articles:,} stored articles |"
        " median (min) |"
    )
    print("|---|---|")
    for name, values, unit in (
        ("`run --once` wall", walls, "s"),
        ("`run --once` CPU, process tree", cpus, "s"),
        ("of which start-up and configuration (CPU of `check`)", startups, "s"),
        ("peak memory, process tree", peaks, "MB"),
    ):
        print(f"| {name} | {statistics.median(values):.3g} (min {min(values):.3g}) {unit} |")
    print(f"| database on disk, before the pass | {size / 2**20:.0f} MB |")
    print(f"| database on disk, after it (with its WAL) | {after / 2**20:.0f} MB |")
    print(f"| stored vocabularies would add (estimated) | {vocabularies / 2**20:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

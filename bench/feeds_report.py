"""Every feed file of the shared corpus through `parse_feed`: what parses, what warns, what fails.

    python bench/feeds_report.py [CORPUS_FEEDS_DIR] [--max-items N]

Walks the folder recursively (skipping feed-rs's `*.serde.json` gold files and
`index.json`), parses each file as the pipeline would (no HTTP charset: the
bytes and their own declaration only), and prints one line per file, then a
summary: how many parsed, how many items, and the warnings grouped by kind.
When the corpus's `index.json` gives an expected entry count, a file whose
item count differs (before the item limit) is marked.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from monitor.errors import ParseError
from monitor.parse.feed import parse_feed

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"
_DETAIL = re.compile(r"\(.*\)$|\d+")


def feed_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.name != "index.json" and not path.name.endswith(".serde.json")
    )


def expected_entries(root: Path) -> dict[str, int]:
    index = root / "index.json"
    if not index.exists():
        return {}
    records = json.loads(index.read_text(encoding="utf-8"))
    return {r["file"]: r["entries"] for r in records if isinstance(r.get("entries"), int)}


def warning_kind(warning: str) -> str:
    """A warning without its specifics (counts, exception text), to group alike ones."""
    return _DETAIL.sub("N", warning.split(" (", 1)[0]).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--max-items", type=int, default=5000)
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"no corpus at {args.folder}", file=sys.stderr)
        return 2
    expected = expected_entries(args.folder)
    parsed = failed = items = mismatched = 0
    warned: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    started = time.perf_counter()
    for path in feed_files(args.folder):
        name = path.relative_to(args.folder).as_posix()
        content_type = "application/feed+json" if path.suffix == ".json" else ""
        try:
            feed = parse_feed(
                path.read_bytes(),
                url=f"https://corpus.example/{name}",
                content_type=content_type,
                max_items=args.max_items,
                source_id=name,
            )
        except ParseError as exc:
            failed += 1
            failures[
                warning_kind(exc.message.replace(f"https://corpus.example/{name}", "URL"))
            ] += 1
            print(f"FAIL  {name}: {exc.message}")
            continue
        parsed += 1
        items += len(feed.items)
        want = expected.get(name)
        mark = ""
        if want is not None and want != len(feed.items):
            mismatched += 1
            mark = f"  (index.json says {want})"
        print(f"ok    {name}: {len(feed.items)} items{mark}")
        for warning in feed.warnings:
            warned[warning_kind(warning)] += 1
            print(f"      warning: {warning}")
    total = parsed + failed
    print()
    print(f"{parsed}/{total} files parsed, {failed} failed, {items} items in all")
    print(f"{mismatched} parsed files with an item count other than index.json's")
    print(f"took {time.perf_counter() - started:.1f}s")
    for kind, count in warned.most_common():
        print(f"  {count:3d} x warning: {kind}")
    for kind, count in failures.most_common():
        print(f"  {count:3d} x failure: {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

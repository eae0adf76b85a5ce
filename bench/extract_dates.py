"""Extraction CPU with and without htmldate's extensive date search, each in a fresh
process (the search's first use loads and warms dateparser), over the corpus pages.

    python bench/extract_dates.py [--rounds 3]

Prints the median and minimum CPU seconds of each mode and their ratio, measured in the
same run; the quick mode is what `extract_page` does when the feed dated the item.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "articles"


def pages() -> list[tuple[str, bytes]]:
    found = []
    for record in json.loads((CORPUS / "index.json").read_text()):
        path = CORPUS / record["file"]
        body = path.read_bytes()
        found.append(
            (
                record.get("url") or "http://x/",
                gzip.decompress(body) if path.suffix == ".gz" else body,
            )
        )
    return found


def extract_all(date_known: bool) -> None:
    from monitor.extract.article import extract_page

    loaded = pages()
    started = time.process_time()
    dated = sum(
        bool((page := extract_page(body, url=url, date_known=date_known)) and page.published)
        for url, body in loaded
    )
    print(json.dumps({"cpu": time.process_time() - started, "pages": len(loaded), "dated": dated}))


def run(date_known: bool) -> dict[str, float]:
    mode = "quick" if date_known else "extensive"
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("quick", "extensive"))
    args = parser.parse_args()
    if args.child:
        extract_all(args.child == "quick")
        return
    if not CORPUS.is_dir():
        sys.exit(f"corpus not found at {CORPUS}")
    results: dict[str, list[dict[str, float]]] = {"extensive": [], "quick": []}
    for _ in range(args.rounds):  # interleaved, so that machine noise hits both alike
        results["extensive"].append(run(False))
        results["quick"].append(run(True))
    print(f"{'mode':10} {'median CPU s':>12} {'min CPU s':>10} {'dated pages':>12}")
    medians = {}
    for mode, rounds in results.items():
        cpu = [r["cpu"] for r in rounds]
        medians[mode] = statistics.median(cpu)
        dated = f"{int(rounds[0]['dated'])}/{int(rounds[0]['pages'])}"
        print(f"{mode:10} {medians[mode]:12.2f} {min(cpu):10.2f} {dated:>12}")
    print(f"quick / extensive: {medians['quick'] / medians['extensive']:.2f}")


if __name__ == "__main__":
    main()

"""The hostile-input fuzz targets of tests/parse/test_hostile.py, run for minutes, not 200 examples.

    FUZZ_MINUTES=3 python bench/fuzz_parse.py [TARGET ...]

Targets: feed, sitemap, json, listing (all by default). Each runs for
FUZZ_MINUTES (default 3) on hypothesis's generator (no example database, no
shrinking: a finding is printed as drawn), and the script prints, per target,
how many inputs ran, how many were ParseErrors, and any other exception found.
Exit status 1 when a target found one.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy

# The fuzz strategy and parsers are imported from the tests package of the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.errors import ParseError
from tests.parse.test_hostile import (
    BODIES,
    JSON_BODIES,
    parse_a_listing,
    parse_a_sitemap,
    parse_api,
    parse_jsonfeed,
    parse_xml_feed,
)

TARGETS: dict[str, tuple[SearchStrategy[bytes], list[Callable[[bytes], object]]]] = {
    "feed": (BODIES, [parse_xml_feed]),
    "sitemap": (BODIES, [parse_a_sitemap]),
    "json": (JSON_BODIES, [parse_jsonfeed, parse_api]),
    "listing": (BODIES, [parse_a_listing]),
}


class TimeUp(Exception):
    """Raised from inside the test once the target's minutes are spent."""


def fuzz(name: str, minutes: float) -> bool:
    """Run target `name` for `minutes`; print its counts; whether it found nothing."""
    bodies, parsers = TARGETS[name]
    stop = time.monotonic() + minutes * 60
    counts = {"inputs": 0, "parse_errors": 0}
    findings: list[str] = []

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(body=bodies)
    def run(body: bytes) -> None:
        if time.monotonic() > stop:
            raise TimeUp
        counts["inputs"] += 1
        for parse in parsers:
            try:
                parse(body)
            except ParseError:
                counts["parse_errors"] += 1
            except Exception as exc:
                findings.append(f"{parse.__name__}({body[:200]!r}): {type(exc).__name__}: {exc}")

    with contextlib.suppress(TimeUp):
        run()
    print(
        f"{name}: {counts['inputs']:,} inputs in {minutes:g} min, "
        f"{counts['parse_errors']:,} ParseErrors, {len(findings)} other exceptions",
        flush=True,
    )
    for finding in findings[:20]:
        print("  " + finding, flush=True)
    return not findings


def main() -> int:
    minutes = float(os.environ.get("FUZZ_MINUTES", "3"))
    names = sys.argv[1:] or list(TARGETS)
    results = [fuzz(name, minutes) for name in names]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Hostile input against matching and clustering: costs stay bounded, nothing raises.

NEAR is checked against the nested-loop definition it replaced; matching and story
decisions on crafted inputs are timed with generous bounds (the measured figures are
in bench/hostile_match.py and the change's report).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match.evaluate import Hit, near_pairs


def reference_near(lefts: list[Hit], rights: list[Hit], distance: int, ordered: bool) -> list[Hit]:
    """NEAR as first written: every pair of hits of a sentence, the first pair per span."""
    found: dict[tuple[int, int], Hit] = {}
    for left in lefts:
        for right in rights:
            if right.sent != left.sent:
                continue
            if right.start >= left.end:
                gap = right.start - left.end
            elif not ordered and left.start >= right.end:
                gap = left.start - right.end
            else:
                continue
            if gap > distance:
                continue
            start, end = min(left.start, right.start), max(left.end, right.end)
            if (start, end) not in found:
                found[(start, end)] = Hit(start, end, left.sent, left.marks + right.marks)
    return sorted(found.values())


@st.composite
def hit_lists(draw: st.DrawFn) -> list[Hit]:
    """Hits as term lookups and nested operators give them: any order, any overlap."""
    hits = []
    for _ in range(draw(st.integers(0, 25))):
        sent = draw(st.integers(0, 2))
        start = draw(st.integers(0, 40))
        end = start + draw(st.integers(1, 4))
        marks = tuple((s, s + 1) for s in draw(st.lists(st.integers(start, end - 1), max_size=2)))
        hits.append(Hit(start, end, sent, marks or ((start, end),)))
    return hits


@settings(max_examples=400, deadline=None)
@given(hit_lists(), hit_lists(), st.integers(0, 8), st.booleans())
def test_near_sweep_equals_the_nested_loop(
    lefts: list[Hit], rights: list[Hit], distance: int, ordered: bool
) -> None:
    assert near_pairs(lefts, rights, distance, ordered) == reference_near(
        lefts, rights, distance, ordered
    )

"""Event-level stories: the same rule about the same actors is the same event.

Text similarity joins reprints and rewrites; it cannot join four outlets that tell
the same decision in their own words ("cède aux sirènes de Microsoft", "opte pour
Microsoft", "deux millions d'euros pour Microsoft Office"). They do share what the
event is about: the rule that fired and the actors named where it fired (the public
body and the vendor; the provider). An article whose match names every kind of actor
its rule declares joins the story of an earlier match of that rule whose actors
intersect its own, kind by kind, within the window.

When several stories qualify, the one nearest in time wins (by publication dates when
both are known, else by first sightings), then the most recent, then the lowest story
id: the decision depends on what is in the index, never on the order of a dict. An
undated article is as near to every story seen with it; the most recent is the likeliest
news (an excerpt about the Education ministry's 2025 contract is no late report of its
2003 agreement).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.match.actors import names_meet
from monitor.match.types import Actors

EVENT_WINDOW = timedelta(days=10)


@dataclass(frozen=True)
class When:
    """When an article came out: when it was first seen, and its publication date if any."""

    seen: datetime
    published: datetime | None = None

    def apart(self, other: When) -> timedelta:
        """Between publication dates when both are known; else between first sightings,
        the best guess for an undated article (it is seen when it comes out)."""
        if self.published is not None and other.published is not None:
            return abs(_aware(self.published) - _aware(other.published))
        return abs(_aware(self.seen) - _aware(other.seen))

    @property
    def order(self) -> datetime:
        return _aware(self.published or self.seen)


@dataclass(frozen=True)
class EventMention:
    """A match that identified its event, as the index keeps it."""

    rule_id: str
    actors: Actors
    when: When
    story_id: int


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def same_actors(left: Actors, right: Actors) -> bool:
    """Every kind present in both, with names that meet for each (see ``names_meet``)."""
    theirs = dict(right)
    if {kind for kind, _ in left} != set(theirs):
        return False
    return all(names_meet(names, theirs[kind]) for kind, names in left)


class EventIndex:
    """Matches of the last ``window`` that named their actors, by rule; rules that
    ``keys`` maps to one key (``same_event_as``) share their events, and rules that
    ``windows`` names keep their stories open for their own window instead."""

    def __init__(
        self,
        window: timedelta = EVENT_WINDOW,
        keys: Mapping[str, str] | None = None,
        windows: Mapping[str, timedelta] | None = None,
    ) -> None:
        self._default = window
        self._keys = dict(keys or {})
        self._windows = dict(windows or {})
        self._by_rule: dict[str, list[EventMention]] = defaultdict(list)
        # The first sighting of the oldest mention: `prune`, called for every article
        # written, scans the mentions only when one of them is past the window.
        self._oldest: datetime | None = None

    @property
    def window(self) -> timedelta:
        """The longest window of any rule: how far back the index must remember."""
        return max([self._default, *self._windows.values()])

    def window_of(self, rule_id: str) -> timedelta:
        return self._windows.get(rule_id, self._default)

    def __len__(self) -> int:
        return sum(len(mentions) for mentions in self._by_rule.values())

    def add(self, mention: EventMention) -> None:
        self._by_rule[self._keys.get(mention.rule_id, mention.rule_id)].append(mention)
        seen = _aware(mention.when.seen)
        if self._oldest is None or seen < self._oldest:
            self._oldest = seen

    def find(self, rule_id: str, actors: Actors, when: When) -> int | None:
        """The story of the same event, or None; of several, the nearest in time, then
        the most recent, then the lowest id."""
        window = self.window_of(rule_id)
        found = [
            m
            for m in self._by_rule.get(self._keys.get(rule_id, rule_id), ())
            if m.when.apart(when) <= window and same_actors(actors, m.actors)
        ]
        if not found:
            return None
        return min(
            found, key=lambda m: (m.when.apart(when), -m.when.order.timestamp(), m.story_id)
        ).story_id

    def tells_another_event(self, rule_id: str, actors: Actors, story_id: int) -> bool:
        """Story ``story_id`` holds an event of this rule about other actors: an article
        of this rule and these actors is another event, whatever text it shares with the
        story (« Le CHU de Nantes passe à Microsoft 365 », « Le CHU de Rennes choisit
        Azure »)."""
        return any(
            m.story_id == story_id and not same_actors(actors, m.actors)
            for m in self._by_rule.get(self._keys.get(rule_id, rule_id), ())
        )

    def prune(self, now: datetime) -> None:
        """Forget matches first seen before ``now - window``: what comes out from now on
        is too late to join them."""
        cutoff = _aware(now) - self.window
        if self._oldest is None or self._oldest >= cutoff:
            return
        self._oldest = None
        for rule_id, mentions in list(self._by_rule.items()):
            kept = [m for m in mentions if _aware(m.when.seen) >= cutoff]
            if kept:
                self._by_rule[rule_id] = kept
                oldest = min(_aware(m.when.seen) for m in kept)
                self._oldest = oldest if self._oldest is None else min(self._oldest, oldest)
            else:
                del self._by_rule[rule_id]

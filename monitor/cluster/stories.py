"""Which story an article belongs to: the event it reports first, then its text.

``Stories`` holds both indexes of the recent window. An article that fired a rule and
named the rule's actors joins the story of the same event (``events``); otherwise its
text decides (``index``: near-duplicates and rewrites), unless the story it would join
tells the same rule's event about other actors (two hospitals' deals told alike are two
events); otherwise it starts a story.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.cluster.events import EVENT_WINDOW, EventIndex, EventMention, When
from monitor.cluster.fingerprint import Fingerprint
from monitor.cluster.index import StoryCandidate, StoryDecision, StoryIndex
from monitor.match.types import EVENT, Actors, RuleMatch

TEXT_WINDOW = timedelta(days=4)


@dataclass(frozen=True)
class Event:
    """A rule that fired with every kind of actor it declares named."""

    rule_id: str
    actors: Actors


def events_of(matches: Iterable[RuleMatch]) -> list[Event]:
    """The events that ``matches`` identify: rules whose query fired and named every
    kind of actor they declare, in rule order (so that the first found is stable)."""
    found = [m for m in matches if m.tier == EVENT and m.identifies_event]
    return [Event(m.rule_id, m.actors) for m in sorted(found, key=lambda m: m.rule_id)]


class Stories:
    def __init__(
        self,
        text_window: timedelta = TEXT_WINDOW,
        event_window: timedelta = EVENT_WINDOW,
        event_keys: Mapping[str, str] | None = None,
        event_windows: Mapping[str, timedelta] | None = None,
    ) -> None:
        self.index = StoryIndex(window=text_window)
        self.events = EventIndex(window=event_window, keys=event_keys, windows=event_windows)

    def __len__(self) -> int:
        """Articles in the text index (every recent article is there)."""
        return len(self.index)

    def decide(
        self, fp: Fingerprint, when: When, source_id: str, events: Sequence[Event]
    ) -> StoryDecision:
        """The story the article joins (None: a new one). Does not modify the indexes."""
        for event in events:
            story_id = self.events.find(event.rule_id, event.actors, when)
            if story_id is not None:
                names = "; ".join(f"{kind}: {', '.join(n)}" for kind, n in event.actors)
                return StoryDecision(story_id, 1.0, f"same event for {event.rule_id} ({names})")
        decision = self.index.decide(fp, when.order, source_id)
        if decision.story_id is None:
            return decision
        for event in events:
            if self.events.tells_another_event(event.rule_id, event.actors, decision.story_id):
                why = f"its text is near story {decision.story_id}'s, another {event.rule_id} event"
                return StoryDecision(None, decision.score, f"new story: {why}")
        return decision

    def add(self, candidate: StoryCandidate, when: When, events: Sequence[Event]) -> None:
        self.index.add(candidate)
        for event in events:
            self.add_event(event, when, candidate.story_id)

    def add_event(self, event: Event, when: When, story_id: int) -> None:
        """An event of a story (also used to rebuild the index at start-up)."""
        self.events.add(EventMention(event.rule_id, event.actors, when, story_id))

    def prune(self, now: datetime) -> None:
        self.index.prune(now)
        self.events.prune(now)

"""What the store hands out: plain records, never ORM rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.records import Article, CacheValidators
from monitor.schedule.polling import Health

# (version of the analysis that made it, encoded vocabulary): see monitor.match.vocabulary.
StoredVocabulary = tuple[int, bytes]


@dataclass(frozen=True)
class SourceState:
    id: str
    name: str
    url: str
    kind: str
    validators: CacheValidators
    first_seen_at: datetime
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    next_check_at: datetime | None
    failing_since: datetime | None
    consecutive_failures: int
    last_error_kind: str | None
    last_error: str | None
    warning: str | None
    items_seen: int
    moved_to: str | None
    notice_sent_at: datetime | None
    state: str | None

    def health(self, hold: str | None) -> Health:
        """Its polls' health; `hold` is kept in the `state` memo."""
        return Health(
            next_check_at=self.next_check_at,
            hold=hold,
            consecutive_failures=self.consecutive_failures,
            failing_since=self.failing_since,
            last_attempt_at=self.last_attempt_at,
            last_success_at=self.last_success_at,
            last_error_kind=self.last_error_kind,
            last_error=self.last_error,
            validators=self.validators,
            moved_to=self.moved_to,
            warning=self.warning,
        )


@dataclass(frozen=True)
class HealthWrite:
    """A source's new health after a poll, the items it stored, and its memo."""

    source_id: str
    health: Health
    items: int
    state: str


@dataclass(frozen=True)
class SourceClaim:
    """A source leased to this instance; `taken_from` the instance whose lease lapsed."""

    source_id: str
    taken_from: str | None = None


@dataclass(frozen=True)
class KnownArticle:
    id: int
    source_id: str
    story_id: int | None
    content_hash: str
    rules: frozenset[str]  # rules whose query already fired on it (they alerted)
    related: frozenset[str] = frozenset()  # rules only its related query matched so far


EVENT = "event"  # a match's tier: the rule's query fired (the other tier is "related")


@dataclass(frozen=True)
class RuleHit:
    rule_id: str
    details: dict[str, Any]  # RuleMatch.to_dict()
    channels: tuple[str, ...]  # immediate channels; empty when digest-only
    tier: str = EVENT  # "related": shown in digests, never alerted
    rule_version: str | None = None  # RuleConfig.version: recorded on the alert it raises


@dataclass(frozen=True)
class FeedbackRecord:
    """A recipient's verdict, with the article it is about as it was then."""

    id: int
    created_at: datetime
    rule_id: str
    verdict: str  # right | wrong | missed
    alert_id: int | None
    url: str
    title: str
    text: str
    lang: str | None
    published_at: datetime | None
    note: str | None


@dataclass(frozen=True)
class ArticleWrite:
    """Everything about one article that must be stored in one transaction (the outbox rule)."""

    article: Article
    entry_key: str
    item_hash: str
    seen_at: datetime
    hits: tuple[RuleHit, ...] = ()
    story_id: int | None = None  # join this story; None: a new one
    fingerprint: bytes | None = None
    vocabulary: StoredVocabulary | None = None
    existing: KnownArticle | None = None  # an update of this article


@dataclass(frozen=True)
class WriteOutcome:
    article_id: int
    story_id: int
    created: bool
    new_rules: tuple[str, ...]
    new_alerts: tuple[int, ...]
    deliveries: int


@dataclass(frozen=True)
class ArticleView:
    id: int
    url: str
    title: str
    source_id: str
    source_name: str
    published: datetime | None
    first_seen_at: datetime
    lang: str | None
    summary: str
    extraction: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertView:
    alert_id: int
    rule_id: str
    story_id: int
    created_at: datetime
    article: ArticleView
    details: dict[str, Any]
    also: tuple[ArticleView, ...] = field(default=())  # other articles of the story


@dataclass(frozen=True)
class StoryArticle:
    """One outlet's article of a story, as the console lists it."""

    title: str
    url: str
    source_name: str
    first_seen_at: datetime
    published: datetime | None


@dataclass(frozen=True)
class StoryView:
    """A story: the articles that report one event or one text, oldest first, and the
    rules that alerted on it."""

    story_id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime
    rules: tuple[str, ...]
    articles: tuple[StoryArticle, ...]  # the first ones, at most STORY_ARTICLES_SHOWN
    article_count: int  # all of them
    outlets: int  # the sources they came from


@dataclass(frozen=True)
class PendingDelivery:
    id: int
    kind: str
    channel: str
    alert_id: int | None
    digest_run_id: int | None
    payload: str | None
    attempts: int
    message_id: str
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    kind: str
    channel: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    subject: str  # rule and article title, or digest name, for listings


@dataclass(frozen=True)
class StoredArticle:
    """An archived article as the rules see it again (backtests)."""

    id: int
    url: str
    title: str
    text: str
    source_id: str
    source_name: str
    lang: str | None
    date: datetime
    story_id: int | None
    published: datetime | None = None  # as the feed or page dated it (`date` falls back)


@dataclass(frozen=True)
class DigestRun:
    id: int
    digest: str
    period_start: datetime
    period_end: datetime
    created_at: datetime
    items: int


@dataclass(frozen=True)
class DigestEntry:
    """One story that a rule alerted on, as a digest lists it."""

    rule_id: str
    story_id: int
    title: str
    url: str
    date: datetime
    outlet_links: tuple[tuple[str, str], ...]  # (outlet, URL of its first article), in order
    articles: int
    details: dict[str, Any]  # the alert's RuleMatch.to_dict()
    new: bool  # alerted in the period (else: an earlier story that grew)

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.outlet_links)


@dataclass(frozen=True)
class FailingSource:
    id: str
    name: str
    failing_since: datetime
    failures: int
    error_kind: str | None
    error: str | None


@dataclass(frozen=True)
class FailedDelivery:
    id: int
    kind: str
    channel: str
    created_at: datetime
    attempts: int
    error: str | None


@dataclass(frozen=True)
class PruneResult:
    before: datetime
    articles: int  # whose text was dropped (or would be, in a dry run)
    characters: int  # of text and summary dropped


# Records made from rows: the ORM's, or those `SqliteReads` reads with sqlite3 for the
# listings, which have the same attributes. One function each, so that both read alike.


def source_state(row: Any) -> SourceState:
    """A `sources` row's state."""
    return SourceState(
        id=row.id,
        name=row.name,
        url=row.url,
        kind=row.kind,
        validators=CacheValidators(row.etag, row.last_modified),
        first_seen_at=row.first_seen_at,
        last_attempt_at=row.last_attempt_at,
        last_success_at=row.last_success_at,
        next_check_at=row.next_check_at,
        failing_since=row.failing_since,
        consecutive_failures=row.consecutive_failures,
        last_error_kind=row.last_error_kind,
        last_error=row.last_error,
        warning=row.warning,
        items_seen=row.items_seen,
        moved_to=row.moved_to,
        notice_sent_at=row.notice_sent_at,
        state=row.state,
    )


def feedback_record(row: Any) -> FeedbackRecord:
    """A `feedback` row's verdict."""
    return FeedbackRecord(
        id=row.id,
        created_at=row.created_at,
        rule_id=row.rule_id,
        verdict=row.verdict,
        alert_id=row.alert_id,
        url=row.url,
        title=row.title,
        text=row.text,
        lang=row.lang,
        published_at=row.published_at,
        note=row.note,
    )


def latest_verdicts(rows: Iterable[Any]) -> list[FeedbackRecord]:
    """The last of `rows` (`feedback` rows in id order) on each alert, and on each missed
    URL, per rule: a verdict given again replaces the first."""
    latest: dict[tuple[str, object], FeedbackRecord] = {}
    for row in rows:
        latest[(row.rule_id, row.alert_id or row.url)] = feedback_record(row)
    return sorted(latest.values(), key=lambda r: r.id)


def delivery_record(
    row: Any, rule_id: str | None, title: str | None, digest: str | None
) -> DeliveryRecord:
    """A `deliveries` row, with the rule and article title of its alert or the name of its
    digest (None when it has none) for its subject."""
    subject = f"{rule_id}: {title}" if rule_id else (f"digest {digest}" if digest else row.kind)
    return DeliveryRecord(
        row.id,
        row.kind,
        row.channel,
        row.status,
        row.attempts,
        row.created_at,
        row.sent_at,
        row.last_error,
        subject,
    )

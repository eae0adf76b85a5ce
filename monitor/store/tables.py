"""The database schema. Changing it means adding an alembic migration (alembic/versions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from monitor.store.sqlite_reads import utc

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite too (which keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class SourceRow(Base):
    """A configured source and its health: the scheduler's and the operator's view of it."""

    __tablename__ = "sources"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error_kind: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    moved_to: Mapped[str | None] = mapped_column(Text)
    notice_sent_at: Mapped[datetime | None]
    state: Mapped[str | None] = mapped_column(
        Text
    )  # kind-specific JSON (a watched region's snapshot)
    # Which instance polls it now, and until when: a lease that lapses (a dead instance)
    # lets another take the source over.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]


class PoisonPageRow(Base):
    """An article page whose extraction overran its deadline or crashed its worker.

    Kept across restarts: a page that failed POISON_AFTER times is not fetched again
    (the feed's summary stands in), and `monitor sources` counts them per source."""

    __tablename__ = "poison_pages"
    url_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    last_failed_at: Mapped[datetime]


class StoryRow(Base):
    """Articles that report the same story; alerts are per story, not per article."""

    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class ArticleRow(Base):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_first_seen_at", "first_seen_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    url: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    extraction: Mapped[str] = mapped_column(String(16))
    flags: Mapped[str] = mapped_column(String(255), default="")
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The words the rules look up (monitor.match.vocabulary), tagged with the version of
    # the analysis that made them: a backtest reads them instead of the text.
    vocabulary: Mapped[bytes | None] = mapped_column(LargeBinary)
    vocabulary_version: Mapped[int | None] = mapped_column(Integer)


class SightingRow(Base):
    """A source's entry that pointed at an article: one article may come from many feeds."""

    __tablename__ = "sightings"
    __table_args__ = (UniqueConstraint("source_id", "entry_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    entry_key: Mapped[str] = mapped_column(String(64))  # sha256 of the feed entry's identity
    item_hash: Mapped[str] = mapped_column(String(64))  # title and summary as the feed gave them
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    seen_at: Mapped[datetime]


class MatchRow(Base):
    """A rule that fired on an article, with why (clauses and passages, as JSON)."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("article_id", "rule_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    matched_at: Mapped[datetime] = mapped_column(index=True)
    details: Mapped[str] = mapped_column(Text)
    # "event": the rule's query fired (an alert); "related": only its related query did
    # (a line in the digest's related coverage, never an alert).
    tier: Mapped[str] = mapped_column(String(16), default="event", server_default="event")


class AlertRow(Base):
    """One alert per (story, rule): later articles of the story attach to it."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("story_id", "rule_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    rule_id: Mapped[str] = mapped_column(String(64))
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"))  # the match that raised it
    created_at: Mapped[datetime] = mapped_column(index=True)
    # A short hash of the rule's table as it was when it fired: which version alerted.
    rule_version: Mapped[str | None] = mapped_column(String(16))


class DigestRunRow(Base):
    """One digest period; unique so that a period is never digested twice."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("digest", "period_end"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    created_at: Mapped[datetime]
    items: Mapped[int] = mapped_column(Integer, default=0)


class DeliveryRow(Base):
    """The outbox: one message to one channel, written in the same transaction as its cause."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # alert | digest | notice
    channel: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    digest_run_id: Mapped[int | None] = mapped_column(ForeignKey("digest_runs.id"))
    payload: Mapped[str | None] = mapped_column(Text)  # JSON for notices
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    # Set while a dispatcher attempts it; a lapsed claim (a dead instance) frees it again.
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))


class AttemptRow(Base):
    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    attempted_at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)


class FeedbackRow(Base):
    """A recipient's verdict: an alert was right or wrong, or a rule missed an article.

    The article's title and text are copied at the time of the verdict, so that the
    verdict stays usable as labeled data after retention blanks old texts.
    """

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    verdict: Mapped[str] = mapped_column(String(8))  # right | wrong | missed
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


metadata = Base.metadata

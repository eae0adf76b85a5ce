"""Articles, where they were seen, the rules they matched, and the alerts they raised."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from monitor.store.outbox import conflict_insert, enqueue
from monitor.store.retention import is_pruned
from monitor.store.tables import (
    AlertRow,
    ArticleRow,
    Base,
    MatchRow,
    SightingRow,
    SourceRow,
    StoryRow,
)
from monitor.store.views import (
    EVENT,
    ArticleWrite,
    KnownArticle,
    RuleHit,
    StoredArticle,
    StoredVocabulary,
    WriteOutcome,
)


async def seen_entries(
    session: AsyncSession, source_id: str, keys: Iterable[str]
) -> dict[str, tuple[str, int]]:
    """For entry keys this source already gave: (item hash, article id)."""
    keys = list(keys)
    found: dict[str, tuple[str, int]] = {}
    for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
        chunk = keys[start : start + 500]
        query = select(SightingRow.entry_key, SightingRow.item_hash, SightingRow.article_id).where(
            SightingRow.source_id == source_id, SightingRow.entry_key.in_(chunk)
        )
        found.update(
            {
                key: (item_hash, article)
                for key, item_hash, article in (await session.execute(query)).all()
            }
        )
    return found


async def article_sources(session: AsyncSession, canonical_urls: Iterable[str]) -> dict[str, str]:
    """The source of each stored article among ``canonical_urls``, by canonical URL."""
    found: dict[str, str] = {}
    for chunk in _chunks(canonical_urls):
        query = select(ArticleRow.canonical_url, ArticleRow.source_id).where(
            ArticleRow.canonical_url.in_(chunk)
        )
        found.update({url: source for url, source in (await session.execute(query)).all()})
    return found


def known_articles(session: Session, canonical_urls: Iterable[str]) -> dict[str, KnownArticle]:
    """What an update needs of each stored article among ``canonical_urls``, by canonical
    URL: a query for the rows and one for their matches per 500 addresses."""
    found: dict[str, KnownArticle] = {}
    for chunk in _chunks(canonical_urls):
        rows = session.execute(
            select(
                ArticleRow.canonical_url,
                ArticleRow.id,
                ArticleRow.source_id,
                ArticleRow.story_id,
                ArticleRow.content_hash,
            ).where(ArticleRow.canonical_url.in_(chunk))
        ).all()
        tiers: dict[int, list[tuple[str, str]]] = {row.id: [] for row in rows}
        if tiers:
            matches = select(MatchRow.article_id, MatchRow.rule_id, MatchRow.tier).where(
                MatchRow.article_id.in_(list(tiers))
            )
            for article_id, rule_id, tier in session.execute(matches).all():
                tiers[article_id].append((rule_id, tier))
        for url, article_id, source_id, story_id, content_hash in rows:
            found[url] = KnownArticle(
                article_id,
                source_id,
                story_id,
                content_hash,
                frozenset(rule for rule, tier in tiers[article_id] if tier == EVENT),
                frozenset(rule for rule, tier in tiers[article_id] if tier != EVENT),
            )
    return found


def _chunks(values: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    """``values`` sorted and deduplicated, in lists of ``size``: one query each stays under
    SQLite's bound-parameter limit."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def add_sighting(
    session: Session,
    source_id: str,
    entry_key: str,
    item_hash: str,
    article_id: int,
    now: datetime,
) -> None:
    """Record that this source's entry pointed at the article (again): one statement,
    whether the entry is new or seen before."""
    session.execute(
        _sighting_upsert(session.get_bind().dialect.name),
        {
            "source_id": source_id,
            "entry_key": entry_key,
            "item_hash": item_hash,
            "article_id": article_id,
            "seen_at": now,
        },
    )


@cache
def _sighting_upsert(dialect: str) -> Any:
    """The sighting's INSERT ... ON CONFLICT, built once per dialect: built for each
    article (the ORM's bulk path, its values inlined) it cost ten times its execution,
    about 0.8 of the 5.6 CPU-ms an article's write took (bench/writes.py)."""
    table = SightingRow.__table__
    insert = conflict_insert(dialect)(table)
    seen = insert.excluded  # the row proposed: what a sighting of the entry becomes
    return insert.on_conflict_do_update(
        index_elements=[table.c.source_id, table.c.entry_key],
        set_={"item_hash": seen.item_hash, "article_id": seen.article_id, "seen_at": seen.seen_at},
    )


def write_article(session: Session, write: ArticleWrite, *, domain: str) -> WriteOutcome:
    """Store an article with its matches, alerts and deliveries, inside the caller's transaction.

    Plain statements, not ORM objects: a pass writes thousands of articles in a row, and
    the ORM's unit of work (an object, a flush, a read-back a row) cost a fifth of their
    storing in a first pass over 1,000 feeds."""
    # The story first: the article's row is written once, with its story.
    story_id = _story_for(session, write)
    article_id = _save_article(session, write, story_id)
    add_sighting(
        session,
        write.article.source_id,
        write.entry_key,
        write.item_hash,
        article_id,
        write.seen_at,
    )
    already = write.existing.rules if write.existing else frozenset()
    related = write.existing.related if write.existing else frozenset()
    new_hits = [
        hit
        for hit in write.hits
        if hit.rule_id not in already and (hit.rule_id not in related or hit.tier == EVENT)
    ]
    alerts: list[int] = []
    deliveries = 0
    for hit in new_hits:
        match_id = _save_match(session, article_id, hit, write.seen_at, hit.rule_id in related)
        if hit.tier != EVENT:
            continue  # related coverage: in the digest, never an alert
        alert_id = _raise_alert(session, story_id, hit, match_id, write.seen_at)
        if alert_id is not None:
            alerts.append(alert_id)
            for channel in hit.channels:
                deliveries += enqueue(
                    session,
                    kind="alert",
                    channel=channel,
                    now=write.seen_at,
                    domain=domain,
                    alert_id=alert_id,
                )
    return WriteOutcome(
        article_id,
        story_id,
        write.existing is None,
        tuple(h.rule_id for h in new_hits),
        tuple(alerts),
        deliveries,
    )


_STORIES, _ARTICLES, _MATCHES, _ALERTS = (
    Base.metadata.tables[row.__tablename__] for row in (StoryRow, ArticleRow, MatchRow, AlertRow)
)


def _save_match(
    session: Session, article_id: int, hit: RuleHit, now: datetime, replace: bool
) -> int:
    """A new match, or (``replace``) the related match of an article whose updated text
    now fires the rule's query: its id."""
    values = {
        "matched_at": now,
        "details": json.dumps(hit.details, ensure_ascii=False),
        "tier": hit.tier,
    }
    if replace:
        replaced = session.scalar(
            update(_MATCHES)
            .where(_MATCHES.c.article_id == article_id, _MATCHES.c.rule_id == hit.rule_id)
            .values(values)
            .returning(_MATCHES.c.id)
        )
        if replaced is not None:
            return int(replaced)
    return _inserted(
        session, _MATCHES, {"article_id": article_id, "rule_id": hit.rule_id, **values}
    )


def _save_article(session: Session, write: ArticleWrite, story_id: int) -> int:
    """The article's row, new or updated (``write.existing``): its id."""
    article = write.article
    values: dict[str, Any] = {
        "url": article.url,
        "guid": article.guid,
        "title": article.title,
        "author": article.author,
        "site_name": article.site_name,
        "lang": article.lang,
        "published_at": article.published,
        "summary": article.summary,
        "text": article.text,
        "content_hash": article.content_hash,
        "extraction": article.extraction.value,
        "flags": ",".join(article.flags),
        "updated_at": write.seen_at,
        "story_id": story_id,
    }
    if write.fingerprint is not None:
        values["fingerprint"] = write.fingerprint
    if write.vocabulary is not None:
        values["vocabulary_version"], values["vocabulary"] = write.vocabulary
    if write.existing is not None:
        session.execute(update(_ARTICLES).where(_ARTICLES.c.id == write.existing.id).values(values))
        return write.existing.id
    values.update(
        canonical_url=article.canonical_url,
        source_id=article.source_id,
        first_seen_at=write.seen_at,
    )
    return _inserted(session, _ARTICLES, values)


def _story_for(session: Session, write: ArticleWrite) -> int:
    """The story the article is in: the one it was in, the one it joins, or a new one."""
    story_id = (write.existing.story_id if write.existing else None) or write.story_id
    if story_id is None:
        return _inserted(
            session,
            _STORIES,
            {
                "title": write.article.title,
                "first_seen_at": write.seen_at,
                "last_seen_at": write.seen_at,
            },
        )
    session.execute(
        update(_STORIES)
        .where(_STORIES.c.id == story_id, _STORIES.c.last_seen_at < write.seen_at)
        .values(last_seen_at=write.seen_at)
    )
    return story_id


def _raise_alert(
    session: Session, story_id: int, hit: RuleHit, match_id: int, now: datetime
) -> int | None:
    """A new alert for (story, rule), or None when the story already alerted for this rule."""
    exists = session.scalar(
        select(_ALERTS.c.id).where(_ALERTS.c.story_id == story_id, _ALERTS.c.rule_id == hit.rule_id)
    )
    if exists is not None:
        return None
    return _inserted(
        session,
        _ALERTS,
        {
            "story_id": story_id,
            "rule_id": hit.rule_id,
            "match_id": match_id,
            "created_at": now,
            "rule_version": hit.rule_version,
        },
    )


def _inserted(session: Session, table: Table, values: dict[str, Any]) -> int:
    """The id of a new row of ``table``."""
    return int(session.execute(insert(table).values(values).returning(table.c.id)).scalar_one())


async def recent_fingerprints(
    session: AsyncSession, since: datetime, after_id: int = 0
) -> Sequence[tuple[int, int, bytes, datetime, str]]:
    """(article id, story id, fingerprint, date, source) of recent articles, for the story
    index: those first seen since `since`, with an id above `after_id`."""
    query = select(
        ArticleRow.id,
        ArticleRow.story_id,
        ArticleRow.fingerprint,
        ArticleRow.published_at,
        ArticleRow.first_seen_at,
        ArticleRow.source_id,
    ).where(
        ArticleRow.id > after_id,
        ArticleRow.first_seen_at >= since,
        ArticleRow.fingerprint.is_not(None),
        ArticleRow.story_id.is_not(None),
    )
    rows = (await session.execute(query)).all()
    return [
        (r.id, r.story_id, r.fingerprint, r.published_at or r.first_seen_at, r.source_id)
        for r in rows
    ]


async def newest_ids(session: AsyncSession) -> tuple[int, int]:
    """The highest article id and match id written so far (0 when none)."""
    article = await session.scalar(select(func.max(ArticleRow.id)))
    match = await session.scalar(select(func.max(MatchRow.id)))
    return int(article or 0), int(match or 0)


async def recent_events(
    session: AsyncSession, since: datetime, after_id: int = 0
) -> Sequence[tuple[int, int, str, datetime, datetime | None]]:
    """(match id, story id, match details, first seen, published) of the recent matches
    whose rule's query fired, with a match id above `after_id`: the event index is
    rebuilt from them at start-up, and kept up with what other instances write."""
    query = (
        select(
            MatchRow.id,
            ArticleRow.story_id,
            MatchRow.details,
            ArticleRow.first_seen_at,
            ArticleRow.published_at,
        )
        .join(MatchRow, MatchRow.article_id == ArticleRow.id)
        .where(
            MatchRow.id > after_id,
            ArticleRow.first_seen_at >= since,
            ArticleRow.story_id.is_not(None),
            MatchRow.tier == EVENT,
        )
        .order_by(MatchRow.id)
    )
    return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def matched_rules(session: AsyncSession) -> dict[str, set[str]]:
    """Rule ids whose event query matched each article, by article URL (the demo's
    report and tests); related-only matches are not counted."""
    query = select(ArticleRow.url, MatchRow.rule_id).outerjoin(
        MatchRow, (MatchRow.article_id == ArticleRow.id) & (MatchRow.tier == EVENT)
    )
    result: dict[str, set[str]] = {}
    for url, rule_id in (await session.execute(query)).all():
        result.setdefault(url, set())
        if rule_id:
            result[url].add(rule_id)
    return result


def _replayed(since: datetime | None) -> Select[ArticleRow, str]:
    """Articles first seen since `since` that still have their text, with their source's
    name, in id order."""
    query = (
        select(ArticleRow, SourceRow.name)
        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        .where(~is_pruned())
        .order_by(ArticleRow.id)
    )
    return query if since is None else query.where(ArticleRow.first_seen_at >= since)


async def stored_vocabularies(
    session: AsyncSession, since: datetime | None, after_id: int, limit: int
) -> list[tuple[int, StoredVocabulary | None]]:
    """(id, stored vocabulary) of the articles a backtest replays, after `after_id`
    (keyset pages): their texts stay in the database unless a rule may fire on them."""
    query = (
        _replayed(since)
        .with_only_columns(ArticleRow.id, ArticleRow.vocabulary_version, ArticleRow.vocabulary)
        .where(ArticleRow.id > after_id)
        .limit(limit)
    )
    return [
        (id_, None if version is None or blob is None else (version, blob))
        for id_, version, blob in (await session.execute(query)).all()
    ]


async def stored_articles(session: AsyncSession, ids: Sequence[int]) -> list[StoredArticle]:
    """The articles of `ids` as a backtest replays them, in id order."""
    if not ids:
        return []
    return await _stored(session, _replayed(None).where(ArticleRow.id.in_(ids)))


async def newest_articles(
    session: AsyncSession, since: datetime | None, limit: int
) -> list[StoredArticle]:
    """The `limit` articles seen last since `since` that still have their text, in id order."""
    query = _replayed(since).order_by(None).order_by(ArticleRow.id.desc()).limit(limit)
    return (await _stored(session, query))[::-1]


async def _stored(session: AsyncSession, query: Select[ArticleRow, str]) -> list[StoredArticle]:
    return [
        StoredArticle(
            row.id,
            row.url,
            row.title,
            row.text,
            row.source_id,
            name,
            row.lang,
            row.published_at or row.first_seen_at,
            row.story_id,
            row.published_at,
        )
        for row, name in (await session.execute(query)).all()
    ]


async def save_vocabularies(session: AsyncSession, found: dict[int, StoredVocabulary]) -> None:
    """Store vocabularies computed again (rows of an older analysis, or of none)."""
    if found:
        rows = [
            {"id": article_id, "vocabulary_version": version, "vocabulary": blob}
            for article_id, (version, blob) in sorted(found.items())
        ]
        await session.execute(update(ArticleRow), rows)  # by primary key, in one batch


async def count_articles(session: AsyncSession, since: datetime | None, pruned: bool) -> int:
    """Articles first seen since `since` with their text, or (`pruned`) without it."""
    query = select(func.count(ArticleRow.id)).where(is_pruned() if pruned else ~is_pruned())
    if since is not None:
        query = query.where(ArticleRow.first_seen_at >= since)
    return int(await session.scalar(query) or 0)


async def stored_matches(session: AsyncSession, since: datetime | None) -> dict[int, set[str]]:
    query = select(MatchRow.article_id, MatchRow.rule_id).join(
        ArticleRow, ArticleRow.id == MatchRow.article_id
    )
    if since is not None:
        query = query.where(ArticleRow.first_seen_at >= since)
    found: dict[int, set[str]] = {}
    for article_id, rule_id in (await session.execute(query)).all():
        found.setdefault(article_id, set()).add(rule_id)
    return found

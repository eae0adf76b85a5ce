"""What the console reads from the store: the recent stories, bounded per story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.store import Store
from monitor.store.console import STORY_ARTICLES_SHOWN
from monitor.store.tables import ArticleRow, StoryRow

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
OUTLETS = ("s0", "s1", "s2")


async def add_story(store: Store, title: str, articles: int) -> None:
    """A story of ``articles`` near-copies, spread over the outlets, one a minute."""
    async with store.transaction() as session:
        story = StoryRow(title=title, first_seen_at=NOW, last_seen_at=NOW)
        session.add(story)
        await session.flush()
        for number in range(articles):
            seen = NOW + timedelta(minutes=number)
            url = f"https://example.org/{title}/{number}"
            session.add(
                ArticleRow(
                    canonical_url=url, url=url, guid=None, source_id=OUTLETS[number % 3],
                    story_id=story.id, title=f"{title} {number}", author=None,
                    site_name=None, lang="fr", published_at=None, first_seen_at=seen,
                    updated_at=seen, content_hash=f"{title}{number}", extraction="feed",
                )
            )  # fmt: skip


async def test_a_flooded_story_lists_its_first_articles_and_counts_them_all(store: Store) -> None:
    await add_story(store, "flood", STORY_ARTICLES_SHOWN + 5)
    await add_story(store, "small", 2)
    views = {view.title: view for view in await store.recent_stories()}
    flood, small = views["flood"], views["small"]
    assert len(flood.articles) == STORY_ARTICLES_SHOWN
    assert [a.title for a in flood.articles[:2]] == ["flood 0", "flood 1"]  # oldest first
    assert flood.article_count == STORY_ARTICLES_SHOWN + 5
    assert flood.outlets == 3
    assert (len(small.articles), small.article_count, small.outlets) == (2, 2, 2)

"""From a feed item to an `Article`: the page fetched and extracted, or why not.

The page is read when the source wants it (`extract = true`) and robots.txt
allows it; trafilatura runs in the worker pool. When the page cannot be used,
the feed's summary stands in, and the article is flagged so that alerts say
so; a passing failure (a 429, a timeout, a 5xx) is marked worth another try.

A page whose extraction overran the pool's deadline or killed its worker is
a poison URL: after POISON_AFTER such failures it is no longer fetched. The reader
counts them; the pipeline keeps the count in the store, so that it outlives a restart.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.config import SourceConfig
from monitor.errors import FetchTimeout, HTTPStatusError, RateLimited, SourceError
from monitor.extract.article import MIN_TEXT, extract_page, with_lead
from monitor.extract.pool import WorkerPool, WorkerTaskFailed
from monitor.fetch import PAGE_ACCEPT, HttpClient
from monitor.parse.dates import sane_date
from monitor.parse.identity import content_hash, is_http
from monitor.parse.limits import MAX_TEXT, POISON_AFTER
from monitor.records import Article, ExtractedPage, Extraction, FeedItem


@dataclass(frozen=True)
class PageProblem:
    flag: str  # "extract-failed", "robots" or "rate-limited"
    message: str
    transient: bool = False  # worth another try on a later pass
    retry_after: float | None = None
    poisoned: bool = False  # its extraction overran or crashed a worker: counted against it


class ArticleReader:
    def __init__(
        self, http: HttpClient, pool: WorkerPool, concurrency: int, clock: Callable[[], datetime]
    ) -> None:
        self.http = http
        self.pool = pool
        self.clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self.poisoned: Counter[str] = Counter()  # URL -> extractions that overran or crashed

    async def read(
        self, source: SourceConfig, item: FeedItem, canonical: str
    ) -> tuple[Article, PageProblem | None]:
        """The article for a feed item: its page extracted, else the item's own text."""
        page: ExtractedPage | None = None
        problem: PageProblem | None = None
        if source.extract and is_http(item.url):
            assert item.url is not None
            dated = (item.published or item.updated) is not None
            page, problem = await self._page(source, item.url, dated)
        flags: list[str] = []
        if problem is not None:
            flags += sorted({"extract-failed", problem.flag})
        text, extraction = item.summary or item.title, Extraction.SUMMARY
        if page is not None and len(page.text) < MIN_TEXT < len(item.summary):
            flags.append("extract-failed")  # the page gave a scrap; the feed has the article
        elif page is not None:
            text, extraction = page.text[:MAX_TEXT], Extraction.PAGE
            lead = with_lead(text, item.summary) or with_lead(text, page.description)
            if lead is not None:
                text = lead
                flags.append("lead-added")
        if page is not None and page.paywalled:
            flags.append("paywall")
        if len(text) < MIN_TEXT:
            flags.append("short")
        title = item.title or (page.title if page else None) or "(sans titre)"
        now = self.clock()
        # The feed's date, else the page's own (htmldate, through trafilatura); a date in
        # the future is dropped. None: the store's first-seen time stands for it.
        published = sane_date(item.published or item.updated, now) or sane_date(
            page.published if page else None, now
        )
        return Article(
            url=item.url or canonical,
            canonical_url=canonical,
            source_id=source.id,
            source_name=source.name,
            title=title,
            text=text,
            summary=item.summary,
            content_hash=content_hash(title, text),
            extraction=extraction,
            guid=item.guid,
            author=item.author or (page.author if page else None),
            published=published,
            # Else told from the text in the worker pool (`prepare_article`), off the loop.
            lang=(page.lang if page else None) or source.lang,
            site_name=page.site_name if page else None,
            tags=source.tags,
            flags=tuple(dict.fromkeys(flags)),
            fields=item.fields,
        ), problem

    async def _page(
        self, source: SourceConfig, url: str, dated: bool
    ) -> tuple[ExtractedPage | None, PageProblem | None]:
        """The article page, extracted (its own date searched hard only when the feed
        gave none); or why not."""
        private = source.private_access
        if self.poisoned[url] >= POISON_AFTER:
            return None, PageProblem(
                "extract-failed",
                f"{url}: not extracted, its extraction failed {self.poisoned[url]} times "
                "(too slow or crashed its worker)",
            )
        try:
            if source.robots and not await self.http.allowed_by_robots(
                url, source_id=source.id, private=private
            ):
                return None, PageProblem("robots", f"{url}: robots.txt disallows it")
            # A page keeps its slot until extracted: pages fetched faster than the workers
            # extract them wait in bounded number, not all of a pass's bodies at once.
            async with self._slots:
                fetched = await self.http.get(
                    url, source_id=source.id, accept=PAGE_ACCEPT, private=private
                )
                page = await self.pool.run(
                    extract_page,
                    fetched.body,
                    url=fetched.url,
                    charset=fetched.charset,
                    date_known=dated,
                )
        except RateLimited as exc:
            return None, PageProblem(
                "rate-limited", exc.message, transient=True, retry_after=exc.retry_after
            )
        except (FetchTimeout, HTTPStatusError) as exc:
            transient = isinstance(exc, FetchTimeout) or exc.status >= 500
            return None, PageProblem("extract-failed", exc.message, transient=transient)
        except WorkerTaskFailed as exc:
            self.poisoned[url] += 1
            message = f"{url}: {_extraction_failure(exc)}"
            return None, PageProblem("extract-failed", message, poisoned=True)
        except SourceError as exc:
            return None, PageProblem("extract-failed", exc.message)
        if page is None:
            return None, PageProblem("extract-failed", f"{url}: no article text found")
        return page, None


def _extraction_failure(exc: WorkerTaskFailed) -> str:
    if exc.seconds is not None:
        return f"extraction took longer than {exc.seconds:g} s"
    return "extraction crashed its worker twice"

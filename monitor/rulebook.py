"""Rules at work on what needs no database: explained on a text, a file or a page, scored
on labeled articles, and tried with an edited query.

`Monitor` (monitor.api) is a `Rulebook` too; `open_rulebook` gives one alone, for what
must not open, let alone create, the database (`monitor rules explain`, `rules eval`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from monitor.config import Config
from monitor.config import rule_spec as spec_of
from monitor.errors import MonitorError
from monitor.extract import WorkerPool
from monitor.labels import LabeledArticle, RuleScore, read_labeled
from monitor.labels.evaluate import evaluate, label_keys
from monitor.match import Document, RuleSetError, compile_rules
from monitor.match.explain import Explanation
from monitor.names import enabled_rule
from monitor.records import ExtractedPage
from monitor.settings import Settings

if TYPE_CHECKING:
    from monitor.fetch import HttpClient
    from monitor.labels.files import LabelProblem

LanguageFrom = Literal["given", "page", "detected"]


class BadQuery(MonitorError):
    """A query that does not compile; the message ends with the query and a caret."""


class NoArticle(MonitorError):
    """A page to explain whose article text cannot be found or fetched."""


class BadLabels(MonitorError):
    """A labeled file that cannot be read or holds no usable article."""


@dataclass(frozen=True)
class Reading:
    """A document to explain a rule on, and where its language came from."""

    document: Document
    language_from: LanguageFrom


@dataclass(frozen=True)
class QueryScores:
    """The deployed and the edited query of a rule scored on the same labeled articles
    (a labeled file, or the verdicts recorded for the rule: right, wrong, missed)."""

    articles: int
    deployed: RuleScore
    edited: RuleScore


class Rulebook:
    """The configured rules, with the HTTP client and the extraction workers that read
    the pages they are explained on."""

    def __init__(self, config: Config, http: HttpClient, pool: WorkerPool) -> None:
        self.config = config
        self.http = http
        self.pool = pool

    async def explain(
        self,
        rule_id: str,
        text: str | None = None,
        *,
        url: str | None = None,
        file: Path | None = None,
        title: str = "",
        lang: str | None = None,
        published: date | None = None,
    ) -> Explanation:
        """Why `rule_id` matches a text, a file (text, or an HTML page) or the article at
        `url`, or why not. The language is `lang`, else the page's, else the detected one
        (as the pipeline does); the date is `published`, else the page's."""
        self.rule(rule_id)
        reading = await self.read_document(
            text, url=url, file=file, title=title, lang=lang, published=published
        )
        return self.explain_document(rule_id, reading.document)

    def explain_document(self, rule_id: str, document: Document) -> Explanation:
        return self.config.ruleset.explain(self.rule(rule_id), document)

    async def read_document(
        self,
        text: str | None = None,
        *,
        url: str | None = None,
        file: Path | None = None,
        title: str = "",
        lang: str | None = None,
        published: date | None = None,
    ) -> Reading:
        """The document `explain` reads: a text, a file or a page (`NoArticle` when it has
        no article text or cannot be read)."""
        from monitor.extract.article import detect_language

        if sum(given is not None for given in (text, url, file)) != 1:
            raise ValueError("give one of a text, a url or a file")
        page_lang = None
        if text is None:
            page_title, text, page_lang, page_date = await self._read_page_or_file(url, file)
            title = title or page_title
            published = published or page_date
        language_from: LanguageFrom = "given" if lang else ("page" if page_lang else "detected")
        language = lang or page_lang or detect_language(f"{title}\n{text}")
        document = Document(title=title, text=text, lang=language, published=published)
        return Reading(document, language_from)

    async def _read_page_or_file(
        self, url: str | None, file: Path | None
    ) -> tuple[str, str, str | None, date | None]:
        if file is None:
            assert url is not None
            page = await self.fetch_page(url)
        else:
            try:
                raw, file_url = await asyncio.to_thread(_read_file, file)
            except OSError as exc:
                raise NoArticle(f"cannot read {file}: {exc.strerror or exc}") from None
            if b"<html" not in raw[:5000].lower():
                return "", raw.decode("utf-8", errors="replace"), None, None
            page = await self._extract(raw, file_url)
        return page.title or "", page.text, page.lang, page.published

    async def fetch_page(self, url: str) -> ExtractedPage:
        from monitor.fetch import PAGE_ACCEPT

        result = await self.http.get(url, source_id="explain", accept=PAGE_ACCEPT)
        return await self._extract(result.body, result.url)

    async def _extract(self, body: bytes, url: str) -> ExtractedPage:
        from monitor.extract.article import extract_page

        # In the pool, under its deadline: a page from outside could hold the loop (and
        # the whole console) for as long as its extraction takes.
        page = await self.pool.run(extract_page, body, url=url)
        if page is None:
            raise NoArticle(f"no article text found in {url}")
        return page

    def score_query(
        self, rule_id: str, query: str, labeled: Path | Sequence[LabeledArticle]
    ) -> QueryScores:
        """`query` in place of `rule_id`'s, and the deployed query, scored on labeled
        articles (a JSON Lines file, or the articles); `BadLabels` when none is labeled
        for the rule."""
        edited = self.with_query(self.rule(rule_id), query)
        articles = labeled_articles(labeled) if isinstance(labeled, Path) else list(labeled)
        keys = label_keys(self.config, rule_id)
        if not any(a.label(*keys) is not None for a in articles):
            raise BadLabels(f"no article is labeled for {rule_id!r} (a column {keys[0]!r})")
        return self.scores(rule_id, edited, articles)

    def scores(
        self, rule_id: str, edited: Config, articles: Sequence[LabeledArticle]
    ) -> QueryScores:
        from monitor.extract.article import detect_language

        (deployed,) = evaluate(self.config, articles, [rule_id], detect_language)
        (trial,) = evaluate(edited, articles, [rule_id], detect_language)
        return QueryScores(len(articles), deployed, trial)

    def with_query(self, rule_id: str, query: str) -> Config:
        """The configuration with `rule_id`'s query replaced (that rule alone compiled)."""
        spec = dataclasses.replace(spec_of(self.config.rule(rule_id)), query=query)
        ruleset = self.config.ruleset
        try:
            compiled = compile_rules(
                [spec],
                self.config.lists,
                lead_sentences=ruleset.lead_sentences,
                actor_kinds=ruleset.actor_kinds,
            )
        except RuleSetError as exc:
            (_, error), *_ = exc.errors
            raise BadQuery(f"{error.message}\n{error.caret()}") from None
        return self.config.with_ruleset(compiled)

    def evaluate(
        self, labeled: Path | Sequence[LabeledArticle], rule_ids: Sequence[str] | None = None
    ) -> list[RuleScore]:
        """Score rules on labeled articles (a JSON Lines file, or the articles): by default
        the rules the articles are labeled for."""
        articles = labeled_articles(labeled) if isinstance(labeled, Path) else list(labeled)
        ids = [self.rule(r) for r in rule_ids] if rule_ids else None
        return evaluate_rules(self.config, articles, ids)

    def rule(self, rule_id: str) -> str:
        return enabled_rule(self.config, rule_id)


def evaluate_rules(
    config: Config, articles: Sequence[LabeledArticle], rule_ids: Sequence[str] | None = None
) -> list[RuleScore]:
    """Score enabled rules on labeled articles, as the pipeline would match them; without
    `rule_ids`, the rules the articles are labeled for (the others would score nothing)."""
    from monitor.extract.article import detect_language

    ids = rule_ids or [
        r.id
        for r in config.rules
        if any(a.label(*label_keys(config, r.id)) is not None for a in articles)
    ]
    if not ids:
        raise BadLabels("no article is labeled for an enabled rule")
    return evaluate(config, articles, ids, detect_language)


@asynccontextmanager
async def open_rulebook(settings: Settings, config: Config) -> AsyncIterator[Rulebook]:
    """A `Rulebook` with its own HTTP client and workers, closed on exit; no database."""
    from monitor.fetch import HttpClient

    http = HttpClient(config.fetch, allow_private=settings.allow_private_networks)
    pool = WorkerPool(settings.workers)
    try:
        yield Rulebook(config, http, pool)
    finally:
        await http.close()
        pool.close()


def _read_file(path: Path) -> tuple[bytes, str]:
    """A file's bytes and its file:// URL (what a page read from it is known by)."""
    return path.read_bytes(), path.resolve().as_uri()


def labeled_articles(path: Path, name: str | None = None) -> list[LabeledArticle]:
    """The articles of a labeled JSON Lines file (`BadLabels` when it has none); `name`
    is how messages call the file (an upload's own name, not where it was saved)."""
    articles, problems = read_labeled_file(path, name)
    if not articles:
        first = f": line {problems[0].line}: {problems[0].message}" if problems else ""
        raise BadLabels(f"{name or path}: no labeled article{first}")
    return articles


def read_labeled_file(
    path: Path, name: str | None = None
) -> tuple[list[LabeledArticle], list[LabelProblem]]:
    """The articles of a labeled JSON Lines file and its lines that could not be read
    (`BadLabels` when the file cannot be read at all)."""
    try:
        return read_labeled(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadLabels(f"cannot read {name or path}: {exc}") from None

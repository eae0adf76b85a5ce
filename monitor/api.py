"""The public Python API: one `Monitor` wires configuration, store, fetch client, pipeline,
dispatcher and scheduler, and answers what the commands and the web console ask.

    async with open_monitor("~/veille") as monitor:
        summary = await monitor.poll()
        for alert in await monitor.alerts(limit=10):
            print(alert.view.rule_id, alert.view.article.title)

Nothing here installs signal handlers unless asked (`serve(signals=True)`), and nothing
writes the configuration files. Expected failures raise `MonitorError` subclasses whose
message is one line naming what and where.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from monitor.app import Control, PassSummary, Service
from monitor.backtest import Backtest, Hit, run_backtest
from monitor.config import Config, SourceConfig
from monitor.config import rule_spec as spec_of
from monitor.config.edit import toml_string
from monitor.errors import ConfigError, ConfigProblem, MonitorError
from monitor.extract import WorkerPool
from monitor.labels import LabeledArticle, RuleScore, evaluate, read_labeled
from monitor.labels.evaluate import label_keys
from monitor.match import Document, RuleSetError, compile_rules
from monitor.match.explain import Explanation
from monitor.notify.render import Rendered
from monitor.preflight import load_checked
from monitor.report import per_day, source_status
from monitor.settings import Settings
from monitor.store import AlertView, DeliveryRecord, FeedbackRecord, SourceState, StoredArticle

Verdict = Literal["right", "wrong"]
VERDICTS: tuple[Verdict, ...] = ("right", "wrong")
DeliveryStatus = Literal["pending", "failed", "sent"]


class UnknownName(MonitorError):
    """A rule, source, digest or channel that the configuration does not have."""


class BadQuery(MonitorError):
    """A query that does not compile; the message ends with the query and a caret."""


class NoArticle(MonitorError):
    """A page to explain whose article text cannot be found or fetched."""


class BadLabels(MonitorError):
    """A labeled file that cannot be read or holds no usable article."""


@dataclass(frozen=True)
class SourceHealth:
    """A configured source and what polling it has shown so far."""

    config: SourceConfig
    state: SourceState | None  # None: never polled yet
    status: str  # never | ok | warning | error | failing | disabled
    items_per_day: str  # since the source was first seen ("" before its first poll)
    poisoned: int  # its pages that overran or crashed an extraction worker


@dataclass(frozen=True)
class AlertItem:
    """An alert with its article, its story's other outlets, and the latest verdict on it."""

    view: AlertView
    verdict: str | None


@dataclass(frozen=True)
class Trial:
    """An edited query of a rule run over the archive next to the deployed one."""

    rule_id: str
    query: str
    deployed_query: str
    since: datetime
    articles: int  # stored articles replayed
    hits: tuple[Hit, ...]  # what the edited query fires on (hit.new: the deployed one does not)
    lost: tuple[StoredArticle, ...]  # what the deployed query fires on and the edited one not
    toml: str  # the rule's table with the edited query, to paste into its file
    feedback: QueryScores | None = None  # on the recorded verdicts; None: there are none

    @property
    def new(self) -> tuple[Hit, ...]:
        return tuple(h for h in self.hits if h.new)


@dataclass(frozen=True)
class QueryScores:
    """The deployed and the edited query of a rule scored on the same labeled articles
    (a labeled file, or the verdicts recorded for the rule: right, wrong, missed)."""

    articles: int
    deployed: RuleScore
    edited: RuleScore


def open_monitor(
    config_dir: str | Path,
    database_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    allow_private: bool | None = None,
    send: bool = True,
    pool: WorkerPool | None = None,
) -> Monitor:
    """A `Monitor` on the configuration in `config_dir`, to use as an async context manager.

    `database_url` overrides MONITOR_DATABASE_URL and monitor.toml; `environ` (default: the
    process environment) gives the MONITOR_* settings and the secrets the configuration
    interpolates. The configuration is read and checked here: a `ConfigError` lists every
    problem with its file and line. The database is migrated on entering the context."""
    settings = Settings.from_env(environ, config_dir=Path(config_dir).expanduser())
    if database_url is not None:
        settings = dataclasses.replace(settings, database_url=database_url)
    config = _load(settings)
    return Monitor(settings, config, allow_private=allow_private, send=send, pool=pool)


def _load(settings: Settings) -> Config:
    root = settings.config_dir
    if not root.is_dir():
        problem = "configuration directory not found: it must hold sources.toml and alerts/"
        raise ConfigError([ConfigProblem(str(root.resolve()), problem)])
    return load_checked(root, settings.environ)


class Monitor:
    """veille as a library: every part built once, closed in reverse order on exit."""

    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        allow_private: bool | None = None,
        send: bool = True,
        pool: WorkerPool | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.service = Service(settings, config, allow_private=allow_private, send=send, pool=pool)
        self._polling = asyncio.Lock()  # one pass at a time: two clicks on "poll now"

    async def __aenter__(self) -> Monitor:
        try:
            await self.service.__aenter__()
        except BaseException:
            await self.service.__aexit__()  # the engine, client and pool it opened
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.service.__aexit__(*exc)

    def _now(self) -> datetime:
        return self.service.clock()

    # -- polling and the service ---------------------------------------------------------------

    async def poll(self, source_id: str | None = None, *, force: bool = False) -> PassSummary:
        """One pass over every enabled source, or over one (by id), then send what is due.

        Sources that back off or whose cache is fresh wait their turn unless `force`."""
        sources = None if source_id is None else [self._source(source_id)]
        async with self._polling:
            return await self.service.run_pass(sources, force=force)

    async def serve(self, control: Control | None = None, *, signals: bool = False) -> None:
        """Poll every source at its interval and send alerts and digests, until
        `control.stop` is set (or SIGINT/SIGTERM with `signals=True`). A reload request
        (`control.reload`, SIGHUP) stops too: reloading is the caller's choice."""
        if control is None:
            control = Control.from_signals() if signals else Control()
        await self.service.serve(control)

    # -- reading -------------------------------------------------------------------------------

    async def sources(self) -> list[SourceHealth]:
        """Every configured source, in configuration order, with its health."""
        store = self.service.store
        states = {s.id: s for s in await store.source_states()}
        poisoned = await store.poison_counts()
        now = self._now()
        return [
            self._health(s, states.get(s.id), poisoned.get(s.id, 0), now)
            for s in self.config.sources
        ]

    def _health(
        self, source: SourceConfig, state: SourceState | None, poisoned: int, now: datetime
    ) -> SourceHealth:
        if not source.enabled:
            status = "disabled"
        else:
            status = source_status(state, self.config, now) if state else "never"
        rate = per_day(state, now) if state and state.last_attempt_at else ""
        return SourceHealth(source, state, status, rate, poisoned)

    async def alerts(self, limit: int = 50, rule_id: str | None = None) -> list[AlertItem]:
        """The latest alerts, newest first (of one rule with `rule_id`)."""
        rule_ids = None if rule_id is None else [self._rule(rule_id)]
        views = await self.service.store.recent_alerts(limit, rule_ids)
        verdicts = await self.service.store.alert_verdicts([v.alert_id for v in views])
        return [AlertItem(view, verdicts.get(view.alert_id)) for view in views]

    async def wrong_counts(self, days: int = 30) -> dict[str, int]:
        """Rule id -> alerts marked wrong in the last `days` days."""
        return await self.service.store.wrong_counts(self._now() - timedelta(days=days))

    async def deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 50
    ) -> list[DeliveryRecord]:
        """Alerts, digests and notices sent or to send, newest first."""
        return await self.service.store.deliveries(status, limit)

    # -- acting ---------------------------------------------------------------------------------

    async def feedback(
        self, alert_id: int, verdict: Verdict, note: str | None = None
    ) -> FeedbackRecord:
        """Record a verdict on an alert (`UnknownAlert` when there is no such alert)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        return await self.service.store.judge_alert(alert_id, verdict, note, self._now())

    async def retry(self, delivery_ids: Sequence[int] | None = None) -> list[int]:
        """Queue failed deliveries again (all, or these ids); returns those queued."""
        ids = None if delivery_ids is None else list(delivery_ids)
        return await self.service.store.requeue_failed(ids, self._now())

    # -- rules ------------------------------------------------------------------------------------

    async def explain(
        self,
        rule_id: str,
        text: str | None = None,
        *,
        url: str | None = None,
        title: str = "",
        lang: str | None = None,
    ) -> Explanation:
        """Why `rule_id` matches a text, or the article at `url`, or why not. Without
        `lang`, the page's language, else the detected one (as the pipeline does)."""
        from monitor.extract.article import detect_language

        self._rule(rule_id)
        if (text is None) == (url is None):
            raise ValueError("give a text or a url, not both")
        page_lang = None
        if url is not None:
            title_found, text, page_lang = await self._read_page(url)
            title = title or title_found
        assert text is not None
        language = lang or page_lang or detect_language(f"{title}\n{text}")
        document = Document(title=title, text=text, lang=language)
        return self.config.ruleset.explain(rule_id, document)

    async def _read_page(self, url: str) -> tuple[str, str, str | None]:
        from monitor.extract import extract_page
        from monitor.fetch import PAGE_ACCEPT

        result = await self.service.http.get(url, source_id="explain", accept=PAGE_ACCEPT)
        # In the pool, under its deadline: a page from outside could hold the loop (and
        # the whole console) for as long as its extraction takes.
        page = await self.service.pool.run(extract_page, result.body, url=result.url)
        if page is None:
            raise NoArticle(f"no article text found in {result.url}")
        return page.title or "", page.text, page.lang

    async def backtest(
        self, rule_ids: Sequence[str] | None = None, since: timedelta | None = timedelta(days=30)
    ) -> Backtest:
        """The rules (default: all) over the stored articles of the last `since` (None:
        all of them): what would fire now, what fired then and would not now. Sends nothing."""
        ids = [self._rule(r) for r in rule_ids] if rule_ids else [r.id for r in self.config.rules]
        start = None if since is None else self._now() - since
        return await run_backtest(self.service.store, self.config, ids, start)

    async def try_query(self, rule_id: str, query: str, days: int = 30) -> Trial:
        """Run `query` in place of `rule_id`'s over the archive of the last `days` days,
        next to the deployed query. Nothing is written, neither to the database nor to
        the configuration; `BadQuery` when the query does not compile."""
        rule = self.config.rule(self._rule(rule_id))
        edited = self._with_query(rule_id, query)
        since = self._now() - timedelta(days=days)
        store = self.service.store
        deployed = (await run_backtest(store, self.config, [rule_id], since)).reports[rule_id]
        trial = await run_backtest(store, edited, [rule_id], since)
        report = trial.reports[rule_id]
        before = {h.article.id for h in deployed.hits}
        now = {h.article.id for h in report.hits}
        hits = tuple(dataclasses.replace(h, new=h.article.id not in before) for h in report.hits)
        lost = tuple(h.article for h in deployed.hits if h.article.id not in now)
        scores = await self._feedback_scores(rule_id, edited)
        toml = self._toml(rule_id, query)
        return Trial(rule_id, query, rule.query, since, trial.articles, hits, lost, toml, scores)

    async def _feedback_scores(self, rule_id: str, edited: Config) -> QueryScores | None:
        from monitor.labels.feedback import labeled_from_feedback

        records = await self.service.store.feedback([rule_id])
        if not records:
            return None
        return self._scores(rule_id, edited, [labeled_from_feedback(r) for r in records])

    def score_query(
        self, rule_id: str, query: str, labeled: Path | Sequence[LabeledArticle]
    ) -> QueryScores:
        """`query` in place of `rule_id`'s, and the deployed query, scored on labeled
        articles (a JSON Lines file, or the articles); `BadLabels` when none is labeled
        for the rule."""
        edited = self._with_query(self._rule(rule_id), query)
        articles = labeled_articles(labeled) if isinstance(labeled, Path) else list(labeled)
        keys = label_keys(self.config, rule_id)
        if not any(a.label(*keys) is not None for a in articles):
            raise BadLabels(f"no article is labeled for {rule_id!r} (a column {keys[0]!r})")
        return self._scores(rule_id, edited, articles)

    def _scores(
        self, rule_id: str, edited: Config, articles: Sequence[LabeledArticle]
    ) -> QueryScores:
        from monitor.extract.article import detect_language

        (deployed,) = evaluate(self.config, articles, [rule_id], detect_language)
        (trial,) = evaluate(edited, articles, [rule_id], detect_language)
        return QueryScores(len(articles), deployed, trial)

    def _with_query(self, rule_id: str, query: str) -> Config:
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

    def _toml(self, rule_id: str, query: str) -> str:
        origin = self.config.origins.get(f"rule:{rule_id}")
        where = f" in {origin}" if origin else ""
        return (
            f"# the rule {rule_id!r}{where}: its query becomes\n"
            f"[[rule]]\nid = {toml_string(rule_id)}\nquery = {_toml_query(query)}\n"
        )

    def evaluate(
        self, labeled: Path | Sequence[LabeledArticle], rule_ids: Sequence[str] | None = None
    ) -> list[RuleScore]:
        """Score rules on labeled articles (a JSON Lines file, or the articles): by default
        the rules the articles are labeled for."""
        from monitor.extract.article import detect_language

        articles = labeled_articles(labeled) if isinstance(labeled, Path) else list(labeled)
        ids = (
            [self._rule(r) for r in rule_ids]
            if rule_ids
            else [
                r.id
                for r in self.config.rules
                if any(a.label(*label_keys(self.config, r.id)) is not None for a in articles)
            ]
        )
        if not ids:
            raise BadLabels("no article is labeled for an enabled rule")
        return evaluate(self.config, articles, ids, detect_language)

    # -- digests ----------------------------------------------------------------------------------

    async def digest_preview(self, name: str | None = None, fmt: str = "html") -> Rendered:
        """What the next digest (`name`, or the only one) would hold if sent now, rendered
        in `fmt` (html, markdown or text). Nothing is sent or recorded."""
        digests = self.config.digests
        if name is None and len(digests) == 1:
            name = next(iter(digests))
        if name is None or name not in digests:
            known = ", ".join(sorted(digests)) or "none configured"
            raise UnknownName(f"which digest? {name!r} is not one of: {known}")
        content = await self.service.digests.preview(name)
        return self.service.digests.render(content, fmt)

    # -- names ----------------------------------------------------------------------------

    def _rule(self, rule_id: str) -> str:
        if rule_id not in {r.id for r in self.config.rules}:
            raise UnknownName(f"unknown or disabled rule {rule_id!r}")
        return rule_id

    def _source(self, source_id: str) -> SourceConfig:
        for source in self.config.sources:
            if source.id == source_id:
                return source
        raise UnknownName(f"unknown source {source_id!r}")


def _toml_query(query: str) -> str:
    """A TOML string for a query: literal (as rules are written) when it allows it."""
    if "'" not in query and "\n" not in query:
        return f"'{query}'"
    if "'''" not in query and not query.endswith("'"):
        return f"'''\n{query}'''"
    return toml_string(query)


def labeled_articles(path: Path, name: str | None = None) -> list[LabeledArticle]:
    """The articles of a labeled JSON Lines file (`BadLabels` when it has none); `name`
    is how messages call the file (an upload's own name, not where it was saved)."""
    shown = name or str(path)
    try:
        articles, problems = read_labeled(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadLabels(f"cannot read {shown}: {exc}") from None
    if not articles:
        first = f": line {problems[0].line}: {problems[0].message}" if problems else ""
        raise BadLabels(f"{shown}: no labeled article{first}")
    return articles

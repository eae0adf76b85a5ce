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
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from monitor.app import Control, PassSummary, Service
from monitor.backtest import Backtest, Hit, RuleReport, replay, run_backtest
from monitor.backtest import render as render_backtest
from monitor.config import Config, RuleConfig, SourceConfig, example_document
from monitor.config.edit import EditRefused, NewSource, SourcesFile, toml_string
from monitor.config.example import ExampleRefused
from monitor.config.service import BindAddress
from monitor.config.validation import known_names
from monitor.configdir import OpmlExport, OpmlImport, export_opml, import_opml, write_example_config
from monitor.digest import DigestContent
from monitor.errors import BlockedAddress, CannotListen, ConfigError, SourceError
from monitor.extract import WorkerPool
from monitor.extract.pool import freeze_startup_objects, return_freed_memory
from monitor.labels import LabeledArticle, render_scores
from monitor.listings import (
    AlertItem,
    DeliveryStatus,
    Listings,
    SourceHealth,
    open_listings,
    settings_for,
)
from monitor.match import ExampleResult, Explanation, check_examples
from monitor.match.lemmas import use_frugal_dictionaries
from monitor.names import UnknownName
from monitor.notify.channels import SendResult
from monitor.notify.dispatch import DispatchSummary
from monitor.notify.probe import send_test
from monitor.notify.render import Rendered
from monitor.observe import instance_id
from monitor.observe.recorder import Recorder
from monitor.parse.opml import OpmlError
from monitor.pipeline import SOURCE_FAILURE
from monitor.pipeline import log as pipeline_log
from monitor.records import PassProgress
from monitor.rulebook import (
    BadLabels,
    BadQuery,
    NoArticle,
    QueryScores,
    Reading,
    Rulebook,
    labeled_articles,
)
from monitor.schedule.heartbeat import service_health
from monitor.settings import Settings, database_url, default_url, read_config
from monitor.store import DeliveryRecord, FeedbackRecord, PruneResult, StoredArticle
from monitor.store.feedback import UnknownAlert
from monitor.subscribe import FoundFeed, ImportReport, find_feed_at, new_source

__all__ = [
    "AddedSource",
    "AlertItem",
    "Backtest",
    "BadLabels",
    "BadQuery",
    "BlockedAddress",
    "CannotListen",
    "Control",
    "DeliveryRecord",
    "DeliveryStatus",
    "EditRefused",
    "ExampleRefused",
    "ExampleResult",
    "Explanation",
    "FoundFeed",
    "ImportReport",
    "LabeledArticle",
    "Listings",
    "Monitor",
    "NoArticle",
    "OpmlError",
    "OpmlExport",
    "OpmlImport",
    "QueryScores",
    "Reading",
    "SendResult",
    "SourceError",
    "SourceHealth",
    "Trial",
    "UnknownAlert",
    "UnknownName",
    "add_source",
    "check_rule_examples",
    "export_opml",
    "import_opml",
    "instance_id",
    "labeled_articles",
    "open_listings",
    "open_monitor",
    "prepare_service_process",
    "probe_channel",
    "quiet_source_failures",
    "render_backtest",
    "render_scores",
    "run_demo",
    "service_health",
    "write_example_config",
]

Verdict = Literal["right", "wrong"]
VERDICTS: tuple[Verdict, ...] = ("right", "wrong")
# The rule playground replays at most this many of the most recent stored articles: its
# answer comes in seconds, however large the archive has grown.
PLAYGROUND_ARTICLES = 5_000
log = logging.getLogger("monitor")


@dataclass(frozen=True)
class Trial:
    """An edited query of a rule run over the archive next to the deployed one."""

    rule_id: str
    query: str
    deployed_query: str
    since: datetime
    articles: int  # stored articles replayed (at most the playground's cap)
    hits: tuple[Hit, ...]  # what the edited query fires on (hit.new: the deployed one does not)
    lost: tuple[StoredArticle, ...]  # what the deployed query fires on and the edited one not
    toml: str  # the rule's table with the edited query, to paste into its file
    feedback: QueryScores | None = None  # on the recorded verdicts; None: there are none
    capped: bool = False  # older articles of the period were left out (the `limit`)

    @property
    def new(self) -> tuple[Hit, ...]:
        return tuple(h for h in self.hits if h.new)


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
    settings = settings_for(config_dir, database_url, environ)
    config = read_config(settings)
    return Monitor(settings, config, allow_private=allow_private, send=send, pool=pool)


def upgrade_database(settings: Settings) -> str:
    """Migrate the database schema to the latest version; the database's address, shown
    without its password. A configuration with errors still names where the data is."""
    from monitor.store import display_url, upgrade

    url = settings.database_url
    if url is None:
        try:
            url = database_url(settings, read_config(settings, checked=False))
        except ConfigError:
            url = default_url(settings.data_dir)
    upgrade(url)
    return display_url(url)


@dataclass(frozen=True)
class AddedSource:
    """A feed appended to sources.toml: what was found at the address, and where it went."""

    source: NewSource
    feed: FoundFeed
    path: Path  # the sources.toml written
    line: int  # where the new source's block starts in it


async def add_source(
    config_dir: str | Path, url: str, source_id: str | None = None, *, allow_private: bool = False
) -> AddedSource:
    """Append the feed at `url` (or the first one the HTML page there advertises) to
    sources.toml as a commented block, the rest of the file kept as it is. `EditRefused`
    when the address or the id is configured already, before anything is fetched;
    `SourceError` (`BlockedAddress` for a private address) when no feed can be read there."""
    sources = SourcesFile.read(Path(config_dir))
    if source_id:  # refused now rather than after reading the site
        sources.check(NewSource(source_id, source_id, url))
    else:
        sources.check_free(None, url)
    found = await find_feed_at(url, sources.fetch, allow_private=allow_private)
    new = new_source(found, sources, source_id, datetime.now(UTC))
    sources.add(new)
    return AddedSource(new, found, sources.path, sources.save())


async def probe_channel(config: Config, channel: str) -> SendResult:
    """The sample alert sent through a configured channel now: whether it went through, or
    the channel's exact error. `UnknownName` when the configuration has no such channel."""
    if channel not in config.channels:
        raise UnknownName(f"unknown channel {channel!r}{known_names(channel, config.channels)}")
    return await send_test(config, channel)


def check_rule_examples(config: Config, rule: RuleConfig) -> list[ExampleResult]:
    """The rule's `should_match` and `should_not_match` examples run through it, each with
    its explanation: positives first, in the order written."""
    return check_examples(
        config.ruleset,
        rule.id,
        [example_document(e) for e in rule.should_match],
        [example_document(e) for e in rule.should_not_match],
    )


async def run_demo(settings: Settings, keep: Path | None = None) -> int:
    """`monitor demo`: the real pipeline on bundled articles, offline; the exit status.
    Its module (a loopback server, the bundled pages) is imported when it runs."""
    from monitor.demo import run_demo as demo

    return await demo(settings, keep)


def prepare_service_process() -> None:
    """Set up a process that runs passes or the service. It compiles the rules and
    matches nothing (its workers do): the small lemma dictionaries are enough for the few
    words it looks up; the article pages it fetches are large blocks, to give back; and
    what start-up made lives as long as the process, out of the collector's way."""
    use_frugal_dictionaries()
    return_freed_memory()
    freeze_startup_objects()


@contextmanager
def quiet_source_failures() -> Iterator[None]:
    """One pass ends with its grouped failures: the same failures logged one by one
    before it would say everything twice. Only for that pass: the pipeline's logger is
    shared with whatever runs next in the process."""
    pipeline_log.addFilter(_not_a_source_failure)
    try:
        yield
    finally:
        pipeline_log.removeFilter(_not_a_source_failure)


def _not_a_source_failure(record: logging.LogRecord) -> bool:
    return not getattr(record, SOURCE_FAILURE, False)


async def run_service(
    settings: Settings, config: Config, bind: BindAddress | None, pool: WorkerPool | None = None
) -> None:
    """The service until SIGINT/SIGTERM; a SIGHUP with a valid configuration starts it anew.
    Every service it starts shares `pool`, when given (else each starts its own).

    With `bind`, /healthz, /readyz and /metrics are served there (`CannotListen` when the
    address is taken). They open once the first service has migrated the database, so that
    a second instance waiting for this one to be healthy never migrates at the same time;
    they stay open across reloads, showing each service in turn."""
    from monitor.observe.http import ObserveServer
    from monitor.observe.metrics import Metrics

    instance = instance_id(config.service.service.instance)
    server = ObserveServer(bind, Metrics(), instance) if bind else None
    control = Control.from_signals()
    running: Config | None = config
    try:
        while running is not None:
            log_start(settings, running, instance)
            if running.service.service != config.service.service:
                log.warning("[service] changed in monitor.toml: it applies at the next start")
            recorder = server.metrics if server else None
            async with Monitor(settings, running, pool=pool, recorder=recorder) as monitor:
                if server is not None:
                    monitor.service.health_url = server.health_url
                    if not server.listening:
                        await server.start()
                with server.watching(monitor.service) if server else nullcontext():
                    running = await monitor.serve(control)
    finally:
        if server is not None:
            await server.stop()


def log_start(settings: Settings, config: Config, instance: str) -> None:
    """The lines a service or a pass starts with: who, on which configuration and data.
    `instance` is the one the process started as: `[service]` applies at the next start."""
    from monitor.store import display_url

    log.info("instance %s, configuration version %s", instance, config.version)
    log.info("database %s", display_url(database_url(settings, config)))


class Monitor(Listings, Rulebook):
    """veille as a library: every part built once, closed in reverse order on exit. The
    listings (`sources`, `alerts`, `deliveries`, `verdicts`...) read its service's store."""

    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        allow_private: bool | None = None,
        send: bool = True,
        pool: WorkerPool | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.service = Service(
            settings,
            config,
            allow_private=allow_private,
            send=send,
            pool=pool,
            recorder=recorder,
        )
        Listings.__init__(self, config, self.service.store, self.service.clock)
        Rulebook.__init__(self, config, self.service.http, self.service.pool)
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

    # -- polling and the service ---------------------------------------------------------------

    async def poll(
        self,
        source_id: str | Sequence[str] | None = None,
        *,
        force: bool = False,
        progress: Callable[[PassProgress], None] | None = None,
    ) -> PassSummary:
        """One pass over every enabled source, or over some (by id), then send what is due.

        Sources that back off or whose cache is fresh wait their turn unless `force`.
        `progress` hears of each source read and each article written."""
        ids = [source_id] if isinstance(source_id, str) else source_id
        sources = None if ids is None else [self._source(i) for i in ids]
        async with self._polling:
            return await self.service.run_pass(sources, force=force, progress=progress)

    async def serve(
        self, control: Control | None = None, *, signals: bool = False
    ) -> Config | None:
        """Poll every source at its interval and send alerts and digests, until
        `control.stop` is set (or SIGINT/SIGTERM with `signals=True`). A reload request
        (`control.reload`, SIGHUP) stops too, returning the configuration read again when
        it is valid: reloading is the caller's choice."""
        if control is None:
            control = Control.from_signals() if signals else Control()
        return await self.service.serve(control)

    async def prune(
        self, older_than: timedelta | None = None, *, dry_run: bool = False
    ) -> PruneResult | None:
        """Drop the text of articles first seen more than `older_than` ago (default:
        `[retention] keep_text`) that matched no rule; None when neither is set."""
        keep = older_than or self.config.service.retention.keep_text
        if keep is None:
            return None
        return await self.service.store.prune_texts(self.clock() - keep, dry_run=dry_run)

    # -- acting ---------------------------------------------------------------------------------

    async def feedback(
        self, alert_id: int, verdict: Verdict, note: str | None = None
    ) -> FeedbackRecord:
        """Record a verdict on an alert (`UnknownAlert` when there is no such alert)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        return await self.service.store.judge_alert(alert_id, verdict, note, self.clock())

    async def retry(self, delivery_ids: Sequence[int] | None = None) -> list[int]:
        """Queue failed deliveries again (all, or these ids); returns those queued."""
        ids = None if delivery_ids is None else list(delivery_ids)
        return await self.service.store.requeue_failed(ids, self.clock())

    async def missed(self, rule_id: str, url: str, note: str | None = None) -> str:
        """Record the article at `url` as one `rule_id` should have alerted on; returns its
        title. Its stored text is used, else the page is read now (`NoArticle`)."""
        from monitor.cluster import canonical_url

        self.rule(rule_id)
        store = self.service.store
        article = await store.stored_article(canonical_url(url))
        if article is None:  # not stored (or its text pruned)
            page = await self.fetch_page(url)
            article = (page.title or "", page.text, page.lang, page.published)
        await store.add_missed(rule_id, url, article, note, self.clock())
        return article[0]

    # -- rules ------------------------------------------------------------------------------------

    async def backtest(
        self,
        rule_ids: Sequence[str] | None = None,
        since: timedelta | None = timedelta(days=30),
        progress: Callable[[int], None] | None = None,
    ) -> Backtest:
        """The rules (default: all) over the stored articles of the last `since` (None:
        all of them): what would fire now, what fired then and would not now. Sends nothing.
        `progress` hears of each article replayed."""
        ids = [self.rule(r) for r in rule_ids] if rule_ids else [r.id for r in self.config.rules]
        return await run_backtest(
            self.service.store, self.config, ids, self._start(since), progress
        )

    async def try_query(
        self, rule_id: str, query: str, days: int = 30, limit: int = PLAYGROUND_ARTICLES
    ) -> Trial:
        """Run `query` in place of `rule_id`'s over the `limit` most recent stored articles
        of the last `days` days, next to the deployed query. Nothing is written, neither to
        the database nor to the configuration; `BadQuery` when the query does not compile.
        The replay runs in a thread: the loop (the console) keeps serving meanwhile."""
        rule = self.config.rule(self.rule(rule_id))
        edited = self.with_query(rule_id, query)
        since = self.clock() - timedelta(days=days)
        # One more than the cap: whether older articles of the period were left out.
        newest = await self.service.store.newest_articles(since, limit + 1)
        articles = newest[-limit:] if limit else []
        labeled = await self.verdicts(rule_id)
        deployed, report, scores = await asyncio.to_thread(
            self._replay_trial, rule_id, edited, articles, labeled
        )
        before = {h.article.id for h in deployed.hits}
        now = {h.article.id for h in report.hits}
        hits = tuple(dataclasses.replace(h, new=h.article.id not in before) for h in report.hits)
        lost = tuple(h.article for h in deployed.hits if h.article.id not in now)
        toml = self._toml(rule_id, query)
        return Trial(
            rule_id,
            query,
            rule.query,
            since,
            len(articles),
            hits,
            lost,
            toml,
            scores,
            capped=len(newest) > limit,
        )

    def _replay_trial(
        self,
        rule_id: str,
        edited: Config,
        articles: Sequence[StoredArticle],
        labeled: Sequence[LabeledArticle],
    ) -> tuple[RuleReport, RuleReport, QueryScores | None]:
        """The deployed and the edited query over the same articles, and both scored on
        the recorded verdicts (None: there are none). CPU work, run in a thread."""
        deployed, trial = RuleReport(rule_id), RuleReport(rule_id)
        replay(self.config, articles, {}, {rule_id: deployed})
        replay(edited, articles, {}, {rule_id: trial})
        scores = self.scores(rule_id, edited, labeled) if labeled else None
        return deployed, trial, scores

    def _toml(self, rule_id: str, query: str) -> str:
        origin = self.config.origins.get(f"rule:{rule_id}")
        where = f" in {origin}" if origin else ""
        return (
            f"# the rule {rule_id!r}{where}: its query becomes\n"
            f"[[rule]]\nid = {toml_string(rule_id)}\nquery = {_toml_query(query)}\n"
        )

    # -- digests ----------------------------------------------------------------------------------

    async def digest_preview(self, name: str | None = None, fmt: str = "html") -> Rendered:
        """What the next digest (`name`, or the only one) would hold if sent now, rendered
        in `fmt` (html, markdown or text). Nothing is sent or recorded."""
        return self.render_digest(await self.digest_content(name), fmt)

    async def digest_content(self, name: str | None = None) -> DigestContent:
        """What the next digest (`name`, or the only one) would hold if sent now, with the
        period it covers. Nothing is sent or recorded."""
        return await self.service.digests.preview(self._digest(name))

    def render_digest(self, content: DigestContent, fmt: str = "html") -> Rendered:
        return self.service.digests.render(content, fmt)

    async def send_digest(self, name: str | None = None) -> tuple[int | None, DispatchSummary]:
        """Send the digest (`name`, or the only one) now: the next scheduled one starts
        from here. Its run id (None: nothing to send) and what the outbox drain did."""
        run = await self.service.digests.send_now(self._digest(name))
        return run, await self.service.dispatcher.drain()

    # -- names ----------------------------------------------------------------------------

    def _digest(self, name: str | None) -> str:
        digests = self.config.digests
        if name is None and len(digests) == 1:
            name = next(iter(digests))
        if name is None or name not in digests:
            known = ", ".join(sorted(digests)) or "none configured"
            raise UnknownName(f"which digest? {name!r} is not one of: {known}")
        return name

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

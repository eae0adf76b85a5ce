"""The `monitor` command. Thin: parse arguments, load config, call the service."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from monitor import __version__
from monitor.config import Config, load_config
from monitor.config.service import LOG_FORMATS, BindAddress, check_keep_text, parse_bind
from monitor.config.units import parse_duration
from monitor.config.validation import did_you_mean, known_names
from monitor.display import local_time, progress_line, shorten
from monitor.errors import ConfigError, ConfigProblem, DatabaseUnusable, MonitorError
from monitor.log import setup_logging, use_log_format
from monitor.settings import Settings, database_url, default_url

if TYPE_CHECKING:
    from monitor.observe.http import ObserveServer
    from monitor.store import SourceState, Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_ALL_SOURCES_FAILED = 3  # `run --once`: not one source could be read (offline?)
T = TypeVar("T")
log = logging.getLogger("monitor")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        # `monitor rules` alone: that group's help, not the top-level one.
        getattr(args, "group_parser", parser).print_help()
        return EXIT_USAGE
    settings = Settings.from_env(config_dir=args.config)
    setup_logging("WARNING" if args.quiet else ("DEBUG" if args.verbose else settings.log_level))
    try:
        code = int(args.handler(args, settings))
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
        return code
    except ConfigError as exc:
        print_config_error(exc)
        return EXIT_FAILED
    except DatabaseUnusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `monitor sources | head`: the reader has all it wanted. Point stdout at
        # /dev/null so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="veille: watch French digital-policy news and alert on the events that matter.",
    )
    parser.add_argument("--version", action="version", version=f"veille {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        metavar="DIR",
        help="configuration directory holding sources.toml and alerts/ "
        "(default: $MONITOR_CONFIG_DIR, else the current directory)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in _COMMANDS:
        register(commands)
    return parser


def print_config_error(exc: ConfigError) -> None:
    count = len(exc.problems)
    print(f"configuration error{'s' if count > 1 else ''} ({count}):", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def load(settings: Settings, *, checked: bool = True) -> Config:
    """The configuration; `checked`: through every check (`monitor.preflight`)."""
    root = Path(settings.config_dir)
    if not root.is_dir():
        raise ConfigError(
            [
                ConfigProblem(
                    str(root.resolve()),
                    "configuration directory not found: give the directory holding "
                    "sources.toml and alerts/ with --config DIR (or MONITOR_CONFIG_DIR)",
                )
            ]
        )
    if not checked:
        return load_config(root, settings.environ)
    from monitor.preflight import load_checked

    return load_checked(root, settings.environ)


def duration_argument(check: Callable[[timedelta], timedelta] = lambda d: d) -> Any:
    """An argparse `type` for "30d", "2m"...: a bad value is a usage error naming it."""

    def parse(text: str) -> timedelta:
        try:
            return check(parse_duration(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def count_argument(minimum: int) -> Callable[[str], int]:
    """An argparse `type` for a whole number of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


# -- run -------------------------------------------------------------------------------------


def _register_run(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = commands.add_parser(
        "run",
        help="poll the sources and send alerts (until stopped)",
        description="Start the service: every source is polled at its "
        "interval, alerts are sent as they come, until SIGINT or SIGTERM. "
        "SIGHUP reads the configuration again (kept as it is when the new one has "
        "errors, which are logged). The database schema is upgraded first.",
    )
    run.add_argument(
        "--once", action="store_true", help="one pass over all sources, print a summary and exit"
    )
    run.add_argument(
        "--source", action="append", metavar="ID", help="with --once: only this source (repeatable)"
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="with --once: poll sources that are backing off or whose cache is still fresh",
    )
    run.add_argument(
        "--no-send",
        action="store_true",
        help="with --once: store and match everything, send nothing and queue nothing "
        "(a first pass that marks the backlog as seen)",
    )
    run.add_argument(
        "--http",
        metavar="HOST:PORT",
        type=bind_argument,
        help="serve /healthz, /readyz and /metrics there, e.g. 127.0.0.1:9108 "
        "(default: [service] http in monitor.toml, else off)",
    )
    run.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="human lines or JSON lines (default: $MONITOR_LOG_FORMAT, "
        "else [service] log_format, else human)",
    )
    run.set_defaults(handler=cmd_run)


def bind_argument(text: str) -> BindAddress:
    try:
        return parse_bind(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.app import Service
    from monitor.observe import instance_id
    from monitor.observe.http import CannotListen, ObserveServer
    from monitor.observe.metrics import Metrics

    if not args.once and (args.source or args.force or args.no_send):
        print("--source, --force and --no-send go with --once (one pass)", file=sys.stderr)
        return EXIT_USAGE
    if args.once and args.http:
        print("--http goes with the service, not with --once", file=sys.stderr)
        return EXIT_USAGE
    if settings.log_format not in (None, *LOG_FORMATS):
        print(f"MONITOR_LOG_FORMAT is {settings.log_format!r}: use human or json", file=sys.stderr)
        return EXIT_USAGE
    config = load(settings)
    service_table = config.service.service
    instance = instance_id(service_table.instance)
    use_log_format(args.log_format or settings.log_format or service_table.log_format, instance)
    sources = config.sources
    if args.source:
        if _unknown_names("unknown source id", args.source, [s.id for s in sources]):
            return EXIT_USAGE
        sources = tuple(s for s in sources if s.id in args.source)

    async def once() -> int:
        log_start(instance, config)
        with quiet_source_failures(), progress_line(sys.stderr) as progress:
            async with Service(settings, config, send=not args.no_send) as service:
                summary = await service.run_pass(sources, force=args.force, progress=progress)
        print("\n".join(summary.lines()))
        return EXIT_ALL_SOURCES_FAILED if summary.all_failed else EXIT_OK

    async def forever() -> int:
        bind = args.http or service_table.http
        server = ObserveServer(bind, Metrics(), instance) if bind else None
        try:
            await serve(settings, config, instance, server)
        except CannotListen as exc:
            print(exc, file=sys.stderr)
            return EXIT_FAILED
        finally:
            if server is not None:
                await server.stop()
        return EXIT_OK

    return asyncio.run(once() if args.once else forever())


def log_start(instance: str, config: Config) -> None:
    log.info("instance %s, configuration version %s", instance, config.version)


async def serve(
    settings: Settings, config: Config, instance: str, server: ObserveServer | None
) -> None:
    """The service until SIGINT/SIGTERM; a SIGHUP with a valid configuration starts it anew.

    The HTTP endpoints open once the first service has migrated the database, so that a
    second instance waiting for this one to be healthy never migrates at the same time;
    they stay open across reloads, showing each service in turn."""
    from monitor.app import Control, Service

    control = Control.from_signals()
    running: Config | None = config
    while running is not None:
        log_start(instance, running)
        if running.service.service != config.service.service:
            log.warning("[service] changed in monitor.toml: it applies at the next start")
        recorder = server.metrics if server else None
        async with Service(settings, running, recorder=recorder) as service:
            if server is not None:
                service.health_url = server.health_url
            if server is not None and not server.listening:
                await server.start()
            with server.watching(service) if server else nullcontext():
                running = await service.serve(control)


# -- check -----------------------------------------------------------------------------------


@contextmanager
def quiet_source_failures() -> Iterator[None]:
    """One pass ends with its grouped failures: the same failures logged one by one
    before it would say everything twice. Only for that pass: the pipeline's logger is
    shared with whatever runs next in the process."""
    from monitor.pipeline import log

    log.addFilter(_not_a_source_failure)
    try:
        yield
    finally:
        log.removeFilter(_not_a_source_failure)


def _not_a_source_failure(record: logging.LogRecord) -> bool:
    from monitor.pipeline import SOURCE_FAILURE

    return not getattr(record, SOURCE_FAILURE, False)


def _register_check(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = commands.add_parser(
        "check",
        help="validate the configuration",
        description="Load sources.toml and alerts/ as the service would; "
        "report every problem with its file and line. Exit 1 on error.",
    )
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    config = load(settings)
    enabled = sum(s.enabled for s in config.sources)
    print(f"configuration OK ({config.root.resolve()})")
    print(f"  sources:  {len(config.sources)} ({enabled} enabled)")
    print(f"  rules:    {len(config.rules)} enabled, {len(config.lists)} term lists")
    print(f"  channels: {', '.join(sorted(config.channels))}")
    print(f"  digests:  {', '.join(sorted(config.digests)) or 'none'}")
    if not config.rules:
        print(
            "warning: no enabled rule: nothing will ever alert (add [[rule]] tables in alerts/)",
            file=sys.stderr,
        )
    return EXIT_OK


# -- db --------------------------------------------------------------------------------------


def _register_db(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = commands.add_parser("db", help="database maintenance")
    db.set_defaults(group_parser=db)
    actions = db.add_subparsers(title="actions", metavar="ACTION")
    upgrade = actions.add_parser(
        "upgrade", help="migrate the database schema to the latest version"
    )
    upgrade.set_defaults(handler=cmd_db_upgrade)
    prune = actions.add_parser(
        "prune",
        help="drop the text of old articles that matched no rule",
        description="Blank the text, summary and fingerprint of articles first seen "
        "before the cutoff that matched no rule. Their rows stay, so they are never "
        "taken for new articles; articles that matched a rule keep everything. "
        "`monitor run` does this daily when [retention] keep_text is set in monitor.toml.",
    )
    prune.add_argument(
        "--older-than",
        metavar="DURATION",
        type=duration_argument(check_keep_text),
        help="cutoff, like 365d (default: [retention] keep_text; at least 30d)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="count what would be dropped, change nothing"
    )
    prune.set_defaults(handler=cmd_db_prune)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.store import display_url, upgrade

    url = settings.database_url
    if url is None:
        try:
            url = database_url(settings, load(settings, checked=False))
        except ConfigError:
            url = default_url(settings.data_dir)
    upgrade(url)
    print(f"database schema up to date: {display_url(url)}")
    return EXIT_OK


def cmd_db_prune(args: argparse.Namespace, settings: Settings) -> int:
    config = load(settings)
    keep = args.older_than or config.service.retention.keep_text
    if keep is None:
        print(
            "nothing to do: give --older-than, or set [retention] keep_text in monitor.toml",
            file=sys.stderr,
        )
        return EXIT_USAGE
    before = datetime.now(UTC) - keep
    result = asyncio.run(
        _with_store(settings, lambda store: store.prune_texts(before, dry_run=args.dry_run), config)
    )
    print(
        f"{'would drop' if args.dry_run else 'dropped'} the text of {result.articles} articles "
        f"first seen before {local_time(result.before)} that matched no rule "
        f"({result.characters / 1e6:.1f} million characters)"
    )
    return EXIT_OK


# -- demo ------------------------------------------------------------------------------------


def _register_demo(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = commands.add_parser(
        "demo",
        help="see veille work offline, on bundled articles",
        description="Serve a bundled set of French tech-press articles "
        "from a loopback web server, run the real pipeline on a temporary "
        "database with the shipped rules, and print the alerts.",
    )
    demo.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="keep the demo database in DIR instead of a temporary directory",
    )
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.demo import run_demo

    if not args.verbose:
        setup_logging("WARNING")  # the demo's own output tells the story
    return asyncio.run(run_demo(settings, keep=args.keep))


# -- rules -----------------------------------------------------------------------------------


def _register_rules(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rules = commands.add_parser(
        "rules",
        help="test and explain watch-rules",
        description="Check rules against their examples, or explain "
        "a rule's verdict on a text, a file or a web page.",
    )
    rules.set_defaults(group_parser=rules)
    actions = rules.add_subparsers(title="actions", metavar="ACTION")
    test = actions.add_parser(
        "test",
        help="run every rule's should_match/should_not_match examples",
        description="Exit 1 when a rule misses a should_match example or "
        "fires on a should_not_match one.",
    )
    test.add_argument(
        "rule_ids", nargs="*", metavar="RULE_ID", help="only these rules (default: every rule)"
    )
    test.add_argument(
        "--verbose-explain",
        action="store_true",
        help="show the clause-by-clause explanation of passing examples too",
    )
    test.set_defaults(handler=cmd_rules_test)
    explain = actions.add_parser(
        "explain",
        help="why a rule matches a text, or why not",
        description="Print match or no match, clause by clause, with "
        "the passages. Exit 0 on a match, 1 on no match, 2 on error.",
    )
    explain.add_argument("rule_id", metavar="RULE_ID", help="the id of the rule, as in alerts/")
    given = explain.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="the text to test")
    given.add_argument("--file", type=Path, help="a text file, or an HTML page to extract")
    given.add_argument("--url", help="a web page to fetch and extract")
    explain.add_argument("--title", default="", help="a title to go with --text or --file")
    explain.add_argument("--lang", help="the document's language (for rules that filter on it)")
    explain.set_defaults(handler=cmd_rules_explain)
    evaluate = actions.add_parser(
        "eval",
        help="score rules on labeled articles (precision, recall, every error)",
        description="Run the rules over a labeled JSON Lines file (the format of "
        "docs/rules.md, or what `monitor feedback export` writes) as the pipeline "
        "would, and print per rule precision, recall, F1, counts, then every false "
        "alert and every miss with the clause that decided. Exit 1 when a rule "
        "scores below --min-precision or --min-recall, 2 on unreadable input.",
    )
    evaluate.add_argument(
        "file",
        type=Path,
        metavar="FILE.jsonl",
        help="labeled articles, one JSON object a line (see docs/rules.md)",
    )
    evaluate.add_argument(
        "--rule",
        action="append",
        dest="rule_ids",
        default=[],
        metavar="ID",
        help="only this rule (repeat)",
    )
    evaluate.add_argument(
        "--by-story", action="store_true", help="also count alerts per multi-outlet story"
    )
    evaluate.add_argument("--min-precision", type=float, metavar="P", help="fail below P")
    evaluate.add_argument("--min-recall", type=float, metavar="R", help="fail below R")
    evaluate.set_defaults(handler=cmd_rules_eval)


def unknown_rules(config: Config, rule_ids: Iterable[str]) -> bool:
    """Say which of `rule_ids` name no enabled rule; True when some do not."""
    return _unknown_names("unknown or disabled rule", rule_ids, [r.id for r in config.rules])


def _unknown_names(what: str, names: Iterable[str], known: Sequence[str]) -> bool:
    """Print one line per name not in `known`, with the closest known one; True if any."""
    unknown = sorted(set(names) - set(known))
    for name in unknown:
        print(f"{what}: {name}{did_you_mean(name, known)}", file=sys.stderr)
    return bool(unknown)


def cmd_rules_test(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.config import example_document
    from monitor.match import check_examples

    config = load(settings)
    if unknown_rules(config, args.rule_ids):
        return EXIT_USAGE
    failures = 0
    chosen = [r for r in config.rules if not args.rule_ids or r.id in args.rule_ids]
    for rule in chosen:
        results = check_examples(
            config.ruleset,
            rule.id,
            [example_document(e) for e in rule.should_match],
            [example_document(e) for e in rule.should_not_match],
        )
        bad = [r for r in results if not r.ok]
        failures += len(bad)
        positives = sum(r.expected for r in results)
        mark = "ok  " if not bad else "FAIL"
        note = "" if results else "  (no examples: add should_match and should_not_match)"
        print(
            f"{mark} {rule.id}: {positives} should match, {len(results) - positives} should not"
            f"{note}"
        )
        for result in results if args.verbose_explain else bad:
            print(f"     {_verdict(result.ok, result.expected)}: {shorten(result.text, 90)}")
            print(_indent(result.explanation.render(), "         "))
    total = sum(len(r.should_match) + len(r.should_not_match) for r in chosen)
    print(f"\n{failures} failing example{'s' if failures != 1 else ''} out of {total}")
    return EXIT_FAILED if failures else EXIT_OK


def cmd_rules_explain(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.extract.article import detect_language
    from monitor.match import Document

    config = load(settings)
    if unknown_rules(config, [args.rule_id]):
        return EXIT_USAGE
    try:
        title, text, lang = _explain_input(args, config, settings)
    except (OSError, MonitorError) as exc:
        print(f"cannot read the document: {exc}", file=sys.stderr)
        return EXIT_USAGE
    title = args.title or title
    # As the pipeline does for an article whose page and source name no language.
    if args.lang:
        lang, origin = args.lang, "given"
    elif lang:
        origin = "from the page; --lang to change it"
    else:
        lang, origin = detect_language(f"{title}\n{text}"), "detected; --lang to set it"
    document = Document(title=title, text=text, lang=lang)
    explanation = config.ruleset.explain(args.rule_id, document)
    print(f"language: {lang or 'unknown'} ({origin})")
    print(explanation.render())
    return EXIT_OK if explanation.matched else EXIT_FAILED


def cmd_rules_eval(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.extract.article import detect_language
    from monitor.labels import evaluate, read_labeled, render_scores
    from monitor.labels.evaluate import label_keys

    config = load(settings)
    if unknown_rules(config, args.rule_ids):
        return EXIT_USAGE
    try:
        articles, problems = read_labeled(args.file)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if not articles:
        print(f"{args.file}: no labeled article", file=sys.stderr)
        return EXIT_USAGE
    # Without --rule, the rules the file has labels for: the others would score nothing.
    rule_ids = args.rule_ids or [
        r.id
        for r in config.rules
        if any(a.label(*label_keys(config, r.id)) is not None for a in articles)
    ]
    if not rule_ids:
        print(f"{args.file}: no article is labeled for an enabled rule", file=sys.stderr)
        return EXIT_USAGE
    scores = evaluate(config, articles, rule_ids, detect_language)
    print("\n".join(render_scores(scores, by_story=args.by_story)))
    below = [
        s.rule_id
        for s in scores
        if _below(s.precision, args.min_precision) or _below(s.recall, args.min_recall)
    ]
    if below:
        print(f"\nbelow the minimum: {', '.join(below)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _below(value: float | None, minimum: float | None) -> bool:
    """A score under its minimum; an undefined one (nothing fired, nothing to find) is not."""
    return minimum is not None and value is not None and value < minimum


def _explain_input(
    args: argparse.Namespace, config: Config, settings: Settings
) -> tuple[str, str, str | None]:
    from monitor.extract import extract_page

    if args.text is not None:
        return "", args.text, None
    if args.file is not None:
        raw = args.file.read_bytes()
        if b"<html" not in raw[:5000].lower():
            return "", raw.decode("utf-8", errors="replace"), None
        body, url = raw, args.file.resolve().as_uri()
    else:
        body, url = asyncio.run(_fetch_page(args.url, config, settings))
    page = extract_page(body, url=url)
    if page is None:
        raise MonitorError(f"no article text found in {url}")
    return page.title or "", page.text, page.lang


async def _fetch_page(url: str, config: Config, settings: Settings) -> tuple[bytes, str]:
    from monitor.fetch import PAGE_ACCEPT, HttpClient

    async with HttpClient(config.fetch, allow_private=settings.allow_private_networks) as http:
        result = await http.get(url, source_id="explain", accept=PAGE_ACCEPT)
    return result.body, result.url


def _verdict(ok: bool, expected: bool) -> str:
    if ok:
        return "✔ as expected"
    return "✘ should match but does not" if expected else "✘ should not match but does"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# -- feedback --------------------------------------------------------------------------------

VERDICTS = ("wrong", "right")


def _register_feedback(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    feedback = commands.add_parser(
        "feedback",
        help="record a verdict on an alert, or a missed article; export them as labeled data",
        description="`monitor feedback ALERT_ID wrong|right [--note TEXT]` records a "
        "recipient's verdict on an alert (its id is at the foot of every alert); "
        "`monitor feedback --missed URL --rule ID` records an article the rule should have "
        "alerted on; `monitor feedback export [--rule ID] > FILE.jsonl` writes every "
        "verdict as labeled articles, for `monitor rules eval FILE.jsonl`.",
        usage="monitor feedback ALERT_ID {wrong,right} [--note TEXT]\n"
        "       monitor feedback --missed URL --rule ID [--note TEXT]\n"
        "       monitor feedback export [--rule ID]",
    )
    feedback.add_argument("words", nargs="*", help=argparse.SUPPRESS)
    feedback.add_argument("--note", help="why, in a few words")
    feedback.add_argument("--missed", metavar="URL", help="an article the rule should have caught")
    feedback.add_argument(
        "--rule", metavar="ID", help="the rule missed (with --missed); only this rule (export)"
    )
    feedback.set_defaults(handler=cmd_feedback)


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    config = load(settings, checked=False)
    if args.rule is not None and unknown_rules(config, [args.rule]):
        return EXIT_USAGE
    if args.missed is not None:
        if args.words or args.rule is None:
            print("usage: monitor feedback --missed URL --rule ID [--note TEXT]", file=sys.stderr)
            return EXIT_USAGE
        return _feedback_missed(args, config, settings)
    if args.words == ["export"]:
        return _feedback_export(args.rule, config, settings)
    if len(args.words) == 2 and args.words[0].isdigit() and args.words[1] in VERDICTS:
        return _feedback_verdict(int(args.words[0]), args.words[1], args.note, config, settings)
    print(
        "usage: monitor feedback ALERT_ID wrong|right [--note TEXT], "
        "monitor feedback --missed URL --rule ID, or monitor feedback export [--rule ID]",
        file=sys.stderr,
    )
    return EXIT_USAGE


def _feedback_verdict(
    alert_id: int, verdict: str, note: str | None, config: Config, settings: Settings
) -> int:
    from monitor.store.feedback import UnknownAlert

    now = datetime.now(UTC)
    try:
        record = asyncio.run(
            _with_store(settings, lambda s: s.judge_alert(alert_id, verdict, note, now), config)
        )
    except UnknownAlert as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    print(f"alert {alert_id} ({record.rule_id}) marked {verdict}: {shorten(record.title, 70)}")
    return EXIT_OK


def _feedback_missed(args: argparse.Namespace, config: Config, settings: Settings) -> int:
    from monitor.cluster import canonical_url
    from monitor.extract import extract_page

    now = datetime.now(UTC)

    async def record(store: Store) -> str:
        article = await store.stored_article(canonical_url(args.missed))
        if article is None:  # not stored (or its text pruned): read the page now
            body, url = await _fetch_page(args.missed, config, settings)
            page = extract_page(body, url=url)
            if page is None:
                raise MonitorError(f"no article text found in {url}")
            article = (page.title or "", page.text, page.lang, page.published)
        await store.add_missed(args.rule, args.missed, article, args.note, now)
        return article[0]

    try:
        title = asyncio.run(_with_store(settings, record, config))
    except MonitorError as exc:
        print(f"cannot read {args.missed}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"recorded as missed by {args.rule}: {shorten(title or args.missed, 70)}")
    return EXIT_OK


def _feedback_export(rule_id: str | None, config: Config, settings: Settings) -> int:
    from monitor.labels import write_labeled
    from monitor.labels.feedback import labeled_from_feedback

    records = asyncio.run(
        _with_store(settings, lambda s: s.feedback([rule_id] if rule_id else None), config)
    )
    count = write_labeled(map(labeled_from_feedback, records), sys.stdout)
    print(f"{count} verdict{'s' if count != 1 else ''} written", file=sys.stderr)
    return EXIT_OK


# -- backtest --------------------------------------------------------------------------------


def _register_backtest(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    backtest = commands.add_parser(
        "backtest",
        help="replay rules over stored articles, sending nothing",
        description="Run rules (all, or those named) over the archive "
        "and print what would have fired, with passages and counts, "
        "and how that differs from what fired when articles arrived.",
    )
    backtest.add_argument(
        "rule_ids", nargs="*", metavar="RULE_ID", help="only these rules (default: every rule)"
    )
    backtest.add_argument(
        "--since",
        default="30d",
        type=lambda text: None if text == "all" else duration_argument()(text),
        metavar="DURATION",
        help="how far back (default 30d; 'all' for everything)",
    )
    backtest.add_argument(
        "--passages",
        type=count_argument(0),
        default=1,
        metavar="N",
        help="matching passages quoted under each article (default 1; 0 for none)",
    )
    backtest.set_defaults(handler=cmd_backtest)


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.backtest import Backtest, render, run_backtest

    config = load(settings)
    rule_ids = args.rule_ids or [r.id for r in config.rules]
    if unknown_rules(config, rule_ids):
        return EXIT_USAGE
    since = None if args.since is None else datetime.now(UTC) - args.since

    async def replay(store: Store) -> Backtest:
        with _progress(await store.count_articles(since)) as advance:
            return await run_backtest(store, config, rule_ids, since, advance)

    result = asyncio.run(_with_store(settings, replay, config))
    print("\n".join(render(result, args.passages, local_time)))
    return EXIT_OK


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error when it is a terminal and the run is long."""
    if total < 2000 or not sys.stderr.isatty():
        yield lambda _n: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("replaying", total=total)
        yield lambda n: bar.advance(task, n)


# -- digest ----------------------------------------------------------------------------------


def _register_digest(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    digest = commands.add_parser(
        "digest",
        help="preview or send a digest now",
        description="Digests are sent by `monitor run` on their cron "
        "schedule. This command shows the next one, or sends it now "
        "(the next scheduled digest then starts from here).",
    )
    digest.add_argument("name", nargs="?", help="which digest (default: the only one)")
    action = digest.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--preview",
        metavar="FILE",
        type=Path,
        help="write the HTML of what the next digest would hold to FILE",
    )
    action.add_argument("--send", action="store_true", help="send it now")
    digest.set_defaults(handler=cmd_digest)


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.app import Service

    config = load(settings)
    if not config.digests:
        print("no digest is configured (see alerts/digests.toml)", file=sys.stderr)
        return EXIT_USAGE
    name: str = args.name or (next(iter(config.digests)) if len(config.digests) == 1 else "")
    if not name:
        print(f"which digest? one of: {', '.join(sorted(config.digests))}", file=sys.stderr)
        return EXIT_USAGE
    if name not in config.digests:
        print(f"unknown digest {name!r}{known_names(name, config.digests)}", file=sys.stderr)
        return EXIT_USAGE

    async def act() -> int:
        async with Service(settings, config) as service:
            if args.preview:
                content = await service.digests.preview(name)
                rendered = service.digests.render(content, "html")
                args.preview.write_text(rendered.body, encoding="utf-8")
                print(rendered.subject)
                print(f"from {local_time(content.start)} to {local_time(content.end)}")
                print(f"written to {args.preview}")
                return EXIT_OK
            run = await service.digests.send_now(name)
            summary = await service.dispatcher.drain()
        print(
            f"digest {name}: run {run}, {summary.sent} sent, {summary.retrying} to retry, "
            f"{summary.failed} failed"
        )
        return EXIT_OK if not summary.failed else EXIT_FAILED

    return asyncio.run(act())


# -- alerts and sources ----------------------------------------------------------------------


def _register_alerts(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    alerts = commands.add_parser(
        "alerts",
        help="list recent deliveries (alerts, digests, notices)",
        description="What was sent, what waits for a retry, what failed.",
    )
    which = alerts.add_mutually_exclusive_group()
    which.add_argument("--failed", action="store_true", help="only deliveries that failed for good")
    which.add_argument("--pending", action="store_true", help="only deliveries waiting to be sent")
    which.add_argument(
        "--retry",
        nargs="*",
        type=int,
        metavar="ID",
        help="send failed deliveries again (all, or these ids), once the cause is fixed: "
        "they get a fresh round of attempts, sent by `monitor run` or the next `run --once`",
    )
    alerts.add_argument(
        "--limit",
        type=count_argument(1),
        default=50,
        metavar="N",
        help="show at most N deliveries, the newest first (default 50)",
    )
    alerts.set_defaults(handler=cmd_alerts)


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.report import deliveries_table, print_table

    if args.retry is not None:
        return _retry_failed(args.retry or None, settings)
    status = "failed" if args.failed else ("pending" if args.pending else None)
    records = asyncio.run(_with_store(settings, lambda store: store.deliveries(status, args.limit)))
    if not records:
        print(f"no {status} deliveries" if status else "no alerts")
        return EXIT_OK
    print_table(deliveries_table(records, status))
    return EXIT_FAILED if args.failed and records else EXIT_OK


def _retry_failed(ids: list[int] | None, settings: Settings) -> int:
    now = datetime.now(UTC)
    requeued = asyncio.run(_with_store(settings, lambda store: store.requeue_failed(ids, now)))
    if requeued:
        print(
            f"{len(requeued)} failed deliver{'ies' if len(requeued) > 1 else 'y'} queued again "
            f"({', '.join(map(str, requeued))}): `monitor run` sends them, or `monitor run --once`"
        )
    else:
        print("no failed delivery to send again")
    missing = sorted(set(ids or ()) - set(requeued))
    if missing:
        print(f"not failed, or unknown: {', '.join(map(str, missing))}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _register_health(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    health = commands.add_parser(
        "health",
        help="is `monitor run` alive? (for health checks and supervisors)",
        description="Read the heartbeat that `monitor run` writes in the data directory "
        "every 30 s. Exit 0 when it is fresh, 1 when it is missing (not running) or too old "
        "(hung or killed). When the service serves /healthz (`--http`), that must answer "
        "too.",
    )
    health.add_argument(
        "--max-age",
        default="2m",
        type=duration_argument(),
        metavar="DURATION",
        help="oldest acceptable beat (default 2m)",
    )
    health.set_defaults(handler=cmd_health)


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.schedule.heartbeat import heartbeat_path, read_heartbeat

    max_age, path = args.max_age, heartbeat_path(settings.data_dir)
    try:
        beat = read_heartbeat(path)
    except ValueError as exc:
        print(f"unhealthy: {exc}")
        return EXIT_FAILED
    if beat is None:
        print(f"not running: no heartbeat at {path}")
        return EXIT_FAILED
    age = beat.age(datetime.now(UTC))
    state = "running" if age <= max_age else "unhealthy"
    answer = _ask_healthz(beat.health_url) if beat.health_url and state == "running" else ""
    if answer.startswith("did not"):
        state = "unhealthy"
    print(
        f"{state}: pid {beat.pid}, last heartbeat {age.total_seconds():.0f}s ago "
        f"(at most {max_age.total_seconds():.0f}s), {beat.sources} sources, {beat.rules} rules"
        + (f"; {beat.health_url} {answer}" if answer else "")
    )
    return EXIT_OK if state == "running" else EXIT_FAILED


def _ask_healthz(url: str) -> str:
    """With `--http` on, a fresh heartbeat is not enough: the event loop must answer."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http only)
            return (
                "answered" if response.status == 200 else f"did not answer 200: {response.status}"
            )
    except (urllib.error.URLError, OSError) as exc:
        return f"did not answer: {getattr(exc, 'reason', exc)}"


def _register_notify(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    notify = commands.add_parser(
        "notify",
        help="send a test notification through a channel",
        description="Send the sample alert through a configured channel now, and say "
        "whether it went through (exit 0) or the exact error (exit 1).",
    )
    notify.add_argument("--test", metavar="CHANNEL", required=True, help="channel name")
    notify.set_defaults(handler=cmd_notify)


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.notify.probe import send_test

    config = load(settings)
    if args.test not in config.channels:
        hint = known_names(args.test, config.channels)
        print(f"unknown channel {args.test!r}{hint}", file=sys.stderr)
        return EXIT_USAGE
    result = asyncio.run(send_test(config, args.test))
    if result.ok:
        print(f"channel {args.test}: test notification sent")
        return EXIT_OK
    print(f"channel {args.test}: test notification failed: {result.error}", file=sys.stderr)
    return EXIT_FAILED


# -- init ------------------------------------------------------------------------------------


def _register_init(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    init = commands.add_parser(
        "init",
        help="write the example configuration into a directory",
        description="Write the shipped sources.toml, alerts/ (rules, channels, digests) "
        "and a commented monitor.toml into DIR, to start from. Files already there are "
        "refused (exit 1) unless --force.",
    )
    init.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="where to write (default: the configuration directory: --config, "
        "$MONITOR_CONFIG_DIR, else the current directory)",
    )
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    import shlex

    from monitor.config.example import ExampleRefused, write_example

    target: Path = args.dir or settings.config_dir
    try:
        files = write_example(target, force=args.force)
    except ExampleRefused as exc:
        print(f"monitor init: {exc}", file=sys.stderr)
        return EXIT_FAILED
    here = target.resolve() == Path.cwd().resolve()
    config = "" if here else f" --config {shlex.quote(str(target))}"
    print(f"wrote {len(files)} files into {target}: sources.toml, monitor.toml, alerts/")
    print("next:")
    print("  edit sources.toml (or: monitor sources add URL) and the rules in alerts/rules/")
    print("  set your channels in alerts/channels.toml, their secrets in the environment")
    print(f"  monitor{config} check                 validate it all")
    print(f"  monitor{config} run --once --no-send  first pass: store the backlog, send nothing")
    print(f"  monitor{config} run                   the service")
    return EXIT_OK


def _register_sources(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sources = commands.add_parser(
        "sources",
        help="the health of every source; add, import or export feeds",
        description="Alone: last attempt and success, consecutive failures, "
        "last error, items seen and a status per source. The actions add feeds to "
        "sources.toml (appended as commented blocks; the rest of the file is kept as it "
        "is) or export them.",
    )
    sources.add_argument("--failing", action="store_true", help="only sources in error")
    sources.set_defaults(handler=cmd_sources)
    actions = sources.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="add a feed, from its address or from its site's page",
        description="Fetch URL (private addresses refused unless allowed); when it is an "
        'HTML page, take the first feed it advertises (<link rel="alternate">). The feed '
        "is read, its title and item count shown, then appended to sources.toml. A URL or "
        "an id already configured is refused (exit 1).",
    )
    add.add_argument("url", metavar="URL")
    add.add_argument("--id", help="the source's id (default: from the site's host name)")
    add.set_defaults(handler=cmd_sources_add)
    opml_in = actions.add_parser(
        "import",
        help="add the feeds of an OPML file",
        description="Add every feed (outline with an xmlUrl, at any depth) that is not "
        "configured yet, without fetching them; list what was added and what was skipped, "
        "and why.",
    )
    opml_in.add_argument("file", type=Path, metavar="FILE.opml")
    opml_in.set_defaults(handler=cmd_sources_import)
    opml_out = actions.add_parser(
        "export",
        help="the feed sources as OPML 2.0",
        description="Write the feed sources of sources.toml as OPML 2.0, for a feed "
        "reader or another veille.",
    )
    opml_out.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="default: standard output"
    )
    opml_out.set_defaults(handler=cmd_sources_export)


def _say(line: str, *, error: bool = False) -> None:
    """One line of text that quotes feeds and URLs: no control characters, no secrets."""
    from monitor.config.edit import one_line
    from monitor.hygiene import mask

    print(one_line(mask(line)), file=sys.stderr if error else sys.stdout)


def cmd_sources_add(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.config.edit import EditRefused, NewSource, SourcesFile
    from monitor.errors import BlockedAddress, SourceError
    from monitor.subscribe import find_feed_at, new_source

    try:
        sources = SourcesFile.read(Path(settings.config_dir))
        if args.id:  # refused now rather than after reading the site
            sources.check(NewSource(args.id, args.id, args.url))
        else:
            sources.check_free(None, args.url)
        allow = settings.allow_private_networks
        found = asyncio.run(find_feed_at(args.url, sources.fetch, allow_private=allow))
        new = new_source(found, sources, args.id, datetime.now(UTC))
        sources.add(new)
        line = sources.save()
    except (EditRefused, SourceError) as exc:
        reason = exc.message if isinstance(exc, SourceError) else str(exc)
        if isinstance(exc, BlockedAddress):
            reason += "; MONITOR_ALLOW_PRIVATE_NETWORKS=1 or [fetch] allow_networks allow it"
        _say(f"cannot add {args.url}: {reason}", error=True)
        return EXIT_FAILED
    if found.page:
        others = f" (it also advertises {', '.join(found.others)})" if found.others else ""
        _say(f"feed found on {found.page}: {found.url}{others}")
    _say(f"feed {found.described}")
    print(
        f"added source {new.id!r} to {sources.path} (line {line}): check it with "
        f"`monitor check`, poll it with `monitor run --once --source {new.id}`"
    )
    return EXIT_OK


def cmd_sources_import(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.config.edit import EditRefused, SourcesFile
    from monitor.parse.opml import MAX_OPML, OpmlError
    from monitor.subscribe import import_opml

    try:
        sources = SourcesFile.read(Path(settings.config_dir))
        with args.file.open("rb") as opml:
            body = opml.read(MAX_OPML + 1)  # more is refused: no need to read it all
        report = import_opml(sources, body, str(args.file))
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except (EditRefused, OpmlError) as exc:
        _say(f"cannot import {args.file}: {exc}", error=True)
        return EXIT_FAILED
    for new in report.added:
        _say(f"added {new.id}: {new.url}")
    for why in report.skipped:
        _say(f"skipped: {why}")
    if not report.added and not report.skipped:
        print(f"no feed in {args.file} (no outline with an xmlUrl)", file=sys.stderr)
        return EXIT_FAILED
    where = f", appended to {sources.path} from line {report.first_line}" if report.added else ""
    print(f"{len(report.added)} added, {len(report.skipped)} skipped{where}")
    return EXIT_OK


def cmd_sources_export(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.parse.opml import write_opml
    from monitor.subscribe import configured_feeds

    feeds = configured_feeds(Path(settings.config_dir))
    document = write_opml(feeds, "veille sources")
    if args.file is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(document)
        return EXIT_OK
    try:
        args.file.write_bytes(document)
    except OSError as exc:
        print(f"cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{len(feeds)} feeds written to {args.file}")
    return EXIT_OK


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.report import print_table, sources_table

    config = load(settings, checked=False)
    url = database_url(settings, config)
    # A listing must not create the database: without one, nothing was polled yet.
    states, poisoned = (
        asyncio.run(_with_store(settings, _source_health, config))
        if database_exists(url)
        else ([], {})
    )
    enabled = {s.id for s in config.sources if s.enabled}
    shown = [s for s in states if s.id in enabled and (s.consecutive_failures or not args.failing)]
    if shown:
        print_table(sources_table(shown, config, datetime.now(UTC), poisoned))
    never = sorted(enabled - {s.id for s in states})
    if never:
        print(f"never polled yet: {', '.join(never)}")
    disabled = sorted(s.id for s in config.sources if not s.enabled)
    if disabled:
        print(f"disabled: {', '.join(disabled)}")
    return EXIT_OK


async def _source_health(store: Store) -> tuple[list[SourceState], dict[str, int]]:
    return await store.source_states(), await store.poison_counts()


def database_exists(url: str) -> bool:
    """False only for a SQLite file that is not there yet (a server database is assumed);
    DatabaseUnusable when it could never be there."""
    from monitor.store.db import async_url, check_data_dir

    parsed = async_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    path = Path(parsed.database)
    check_data_dir(path)
    return path.exists()


async def _with_store(
    settings: Settings, query: Callable[[Any], Awaitable[T]], config: Config | None = None
) -> T:
    from monitor.store import Store, upgrade_async

    url = database_url(settings, config or load(settings, checked=False))
    await upgrade_async(url)
    store = Store.open(url)
    try:
        return await query(store)
    finally:
        await store.close()


# -- web -------------------------------------------------------------------------------------

DEFAULT_WEB_BIND = "127.0.0.1:8080"


def _register_web(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    web = commands.add_parser(
        "web",
        help="the operator's web console (sources, alerts, deliveries, rule playground)",
        description="Serve the web console until Ctrl-C or SIGTERM. Read-only unless "
        "MONITOR_WEB_TOKEN is set: then the console asks for that token (a login form, or "
        "Authorization: Bearer) and allows its actions (poll now, right/wrong, retry). "
        "An address other than loopback is refused without a token.",
    )
    web.add_argument(
        "--bind",
        metavar="HOST:PORT",
        type=bind_argument,
        default=DEFAULT_WEB_BIND,
        help=f"where to listen (default {DEFAULT_WEB_BIND})",
    )
    web.set_defaults(handler=cmd_web)


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.api import Monitor
    from monitor.app import Control
    from monitor.web import ConsoleRefused, check_exposure, serve_console

    token = settings.environ.get("MONITOR_WEB_TOKEN") or None
    try:
        check_exposure(args.bind, token)
    except ConsoleRefused as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE

    async def console() -> int:
        async with Monitor(settings, load(settings)) as monitor:
            try:
                await serve_console(monitor, args.bind, token, Control.from_signals())
            except ConsoleRefused as exc:
                print(exc, file=sys.stderr)
                return EXIT_FAILED
        return EXIT_OK

    return asyncio.run(console())


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [  # type: ignore[type-arg]
    _register_init,
    _register_run,
    _register_check,
    _register_rules,
    _register_backtest,
    _register_digest,
    _register_alerts,
    _register_feedback,
    _register_notify,
    _register_sources,
    _register_health,
    _register_db,
    _register_demo,
    _register_web,
]

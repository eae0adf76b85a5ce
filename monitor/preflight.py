"""The checks a configuration passes before anything runs on it.

`monitor.config` checks what it can by itself, quickly. The checks here need the stages
above it (the notifier parses channel URLs and renders the templates, the scheduler
parses crons) or take time (the rules compiled, which decodes simplemma's
dictionaries): `monitor check`, the service and the API load the configuration through
`load_checked`; the commands that only read the store use `load_config` alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from monitor.config import Config, ConfigCheck, check_rules, load_config
from monitor.config.alerts import problem_at
from monitor.errors import ConfigProblem
from monitor.notify.samples import check_templates
from monitor.notify.services import check_url
from monitor.schedule.cron import parse_cron


def check_channel_urls(config: Config) -> list[ConfigProblem]:
    problems = []
    for channel in config.channels.values():
        if channel.name in config.unresolved:
            continue  # reported already: a variable it names is not set
        with _apprise_silenced():
            error = check_url(channel.url)
        if error:
            key, message = f"channel:{channel.name}#url", f"channel {channel.name!r}: {error}"
            problems.append(problem_at(config.origins, key, message))
    return problems


@contextmanager
def _apprise_silenced() -> Iterator[None]:
    """apprise logs its own ERROR line on a URL it cannot parse: the problem we report
    says it better, with file and line, and must be the only line about it."""
    logger = logging.getLogger("apprise")
    was_disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = was_disabled


def check_digest_crons(config: Config) -> list[ConfigProblem]:
    problems = []
    for digest in config.digests.values():
        try:
            parse_cron(digest.cron, digest.timezone)
        except ValueError as exc:
            key = f"digest:{digest.name}#cron"
            message = f"digest {digest.name!r}: invalid cron {digest.cron!r}: {exc}"
            problems.append(problem_at(config.origins, key, message))
    return problems


def check_alert_templates(config: Config) -> list[ConfigProblem]:
    found = check_templates(config.templates_dir)
    return [ConfigProblem("alerts/templates", message) for message in found]


PREFLIGHT: tuple[ConfigCheck, ...] = (
    check_channel_urls,
    check_digest_crons,
    check_rules,
    check_alert_templates,
)


def load_checked(root: str | Path, environ: Mapping[str, str]) -> Config:
    """The configuration in `root` with every check passed (rules compiled); a
    `ConfigError` lists every problem, with file and line."""
    return load_config(root, environ, PREFLIGHT)

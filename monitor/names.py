"""The names a caller gives, checked against the configuration: `UnknownName` when it has
none by that name. Light, for the listings as much as for the rules at work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.errors import MonitorError

if TYPE_CHECKING:
    from monitor.config import Config


class UnknownName(MonitorError):
    """A rule, source, digest or channel that the configuration does not have."""


def enabled_rule(config: Config, rule_id: str) -> str:
    """`rule_id`, when it names an enabled rule."""
    if rule_id not in {r.id for r in config.rules}:
        raise UnknownName(f"unknown or disabled rule {rule_id!r}")
    return rule_id

"""What veille knows about channel URLs: which are valid, how to show them, which format suits."""

from __future__ import annotations

from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from monitor.hygiene import mask
from monitor.log import mask_apprise_records

CONSOLE_SCHEMES = frozenset({"console"})
EMAIL_SCHEMES = frozenset({"mailto", "mailtos"})
_DEFAULT_FORMATS = {
    "mailto": "html",
    "mailtos": "html",
    "matrix": "html",
    "matrixs": "html",
    "slack": "markdown",
    "console": "text",
}


def apprise_module() -> ModuleType:
    """apprise, imported on first use: a pass that sends nothing never loads it. Every
    use of apprise goes through here, so its records are masked from the start."""
    import apprise

    mask_apprise_records()
    return apprise


def scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def asset() -> Any:
    """The apprise asset that names veille to the services."""
    return apprise_module().AppriseAsset(app_id="veille", app_desc="veille news monitoring")


def instantiate(url: str) -> Any:
    """An apprise plugin object for `url`, or None if apprise cannot use it."""
    return apprise_module().Apprise.instantiate(url, asset=asset(), suppress_exceptions=True)


def check_url(url: str) -> str | None:
    """Why `url` cannot be used as a channel, or None when it can."""
    if scheme(url) in CONSOLE_SCHEMES:
        return None
    if "://" not in url:
        return f"not a URL: {mask(url)!r} (expected e.g. mailtos://..., matrixs://..., slack://...)"
    plugin = instantiate(url)
    if plugin is None:
        return (
            f"apprise cannot use {mask(url)!r}: unknown scheme or missing parts "
            "(see apprise's URL documentation)"
        )
    if scheme(url) in EMAIL_SCHEMES and not plugin.targets:
        return f"no recipient in {mask(url)!r}: add ?to=someone@example.org"
    return None


def privacy_url(url: str) -> str:
    if scheme(url) in CONSOLE_SCHEMES:
        return url
    plugin = instantiate(url)
    return plugin.url(privacy=True) if plugin is not None else mask(url)


def default_format(url: str) -> str:
    return _DEFAULT_FORMATS.get(scheme(url), "text")

"""Canonical article URLs: one key for the variants a link takes on its way to us.

The same article arrives from a feed, a newsletter and a social network with
different decorations. What goes, and why:

* tracking parameters (utm_*, fbclid, gclid, xtor, at_medium, ...): they say
  where the click came from, never which page;
* AMP variants (``amp.`` hosts, ``/amp/`` segments, ``.amp`` suffixes,
  ``?amp``, Google AMP cache URLs): the same article in a lighter template;
* fragments: they point inside the page (hash-bang routes ``#!`` are kept,
  they select the page on the few sites that still use them);
* the case of scheme and host, default ports, a leading ``www.``: the web
  treats ``www.lemonde.fr`` and ``lemonde.fr`` as one site, and feeds and
  shares disagree on it;
* user info (``user:pass@``): never part of an article's identity, and a
  credential has no business in the store.

What stays: the scheme (http and https are kept apart: forcing https could
break a link to an http-only site), the path's case and trailing slash,
and every other query parameter, sorted by name so their order does not
matter. URLs that are not http(s) come back stripped but unchanged.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

# Parameters whose whole name is a tracker.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "xtor", "xts", "xtref", "xtcr",
        "ocid", "cmpid", "ito", "icid", "ncid", "sr_share", "ref_src", "ref_url",
        "amp", "amp_js_v", "amp_gsa", "usqp", "__twitter_impression",
    }
)  # fmt: skip
# Parameter families: Google Analytics campaigns, AT Internet (Piano) tags
# such as at_medium/at_campaign, comScore/Nielsen, HubSpot, Matomo/Piwik.
TRACKING_PREFIXES = ("utm_", "at_", "ns_", "_hs", "hsa_", "pk_", "mtm_", "piwik_")
DEFAULT_PORTS = {"http": 80, "https": 443}

_AMP_CACHE = re.compile(r"^/[cv]/(s/)?([^/]+)(/.*)?$")
_AMP_PATH = re.compile(r"/amp(?=/|$)|(?<=[^/])\.amp(?=(\.html?)?$)")
# %xx escapes of characters that need none (RFC 3986 unreserved), so that
# "%7Euser" and "~user" are one path.
_UNRESERVED = re.compile(r"%(2[DdEe]|3\d|[46][1-9A-Fa-f]|[57][0-9Aa]|5[Ff]|7[Ee])")


def _is_tracking(piece: str) -> bool:
    name, _, value = (unquote_plus(p).lower() for p in piece.partition("="))
    if name == "outputtype":  # the Washington Post style AMP switch
        return value == "amp"
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    for prefix in ("www.", "amp."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
    return host


def _unwrap_amp_cache(host: str, path: str) -> tuple[str, str, str] | None:
    """Undo Google's AMP cache address.

    It serves https://example.com/a as example-com.cdn.ampproject.org/c/s/example.com/a.
    """
    if not host.endswith(".cdn.ampproject.org"):
        return None
    found = _AMP_CACHE.match(path)
    if not found:
        return None
    secure, origin, rest = found.groups()
    return ("https" if secure else "http"), origin, rest or "/"


def _path(path: str) -> str:
    path = _AMP_PATH.sub("", path) or "/"
    path = re.sub(r"/{2,}", "/", path)
    return _UNRESERVED.sub(lambda m: unquote(m.group(0)), _upper_escapes(path))


def _upper_escapes(part: str) -> str:
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), part)


def _query(query: str) -> str:
    """Drop trackers, sort the rest by name; values are kept as written.

    Pieces are not re-encoded, so a bare flag (``spip.php?article8532``)
    stays bare. The sort is stable: repeated names keep their order.
    """
    kept = [p for p in query.split("&") if p and not _is_tracking(p)]
    kept.sort(key=lambda p: unquote_plus(p.partition("=")[0]))
    return "&".join(_upper_escapes(p) for p in kept)


def canonical_url(url: str) -> str:
    """The canonical form of an article URL (see the module docstring for the rules)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    host, path = _host(parts.hostname), parts.path
    unwrapped = _unwrap_amp_cache(host, path)
    if unwrapped:
        scheme, origin, path = unwrapped
        return canonical_url(urlunsplit((scheme, origin, path, parts.query, "")))
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, host, _path(path), _query(parts.query), fragment))

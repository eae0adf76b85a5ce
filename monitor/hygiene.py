"""Output hygiene: secrets masked and control characters dropped before text is shown.

`mask` is the one place that decides what of a URL may be printed. It is applied to every
URL found in a text, so a whole log line or error message can go through it:

- the userinfo (`user:password@`) is replaced as a whole, the password may contain `@`;
- for schemes that are not located resources (apprise notifiers such as `slack://`,
  `discord://`, `tgram://`, and mistyped ones such as `slakc://`), a host that is not a
  host name and every path segment are tokens: `slack://T000/B000/XXXX` gives
  `slack://***/***/***`;
- elsewhere (http, databases) only segments that look like tokens are replaced, so feed
  URLs stay readable in logs; file paths (`sqlite:///`, `file://`) are kept whole;
- the values of query parameters named like credentials (`pass`, `password`, `token`,
  `access_token`, `key`, `apikey`, `secret`, `webhook`, `auth`, ...) are replaced.

`printable` drops the C0 and C1 control characters (ESC among them) except tab and
newline, so text that came from outside cannot move the cursor or recolour a terminal.
"""

from __future__ import annotations

import re

HIDDEN = "***"
# A URL ends at white space, a quote or an angle bracket, as when quoted in a message.
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<authority>[^/?#\s'\"<>]*)"
    r"(?P<path>[^?#\s'\"<>]*)(?P<rest>[^\s'\"<>]*)"
)
# Schemes whose host and path name a place, not a credential; files are never tokens.
_LOCATED_SCHEMES = frozenset(
    {"http", "https", "ws", "wss", "ftp", "ftps", "file", "sqlite", "postgresql", "postgres"}
)
_FILE_SCHEMES = frozenset({"file", "sqlite"})
_HOST_NAME = re.compile(r"(localhost|[^.]+\.[^.].*|\[[0-9a-fA-F:.]+\])(:\d+)?")
# Whole words of the parameter's name, so `access_token` and `X-Api-Key` are hidden,
# `author` and `keywords` are not.
_SENSITIVE_KEY = re.compile(
    r"(^|[_\-.])(pass|passwd|password|pwd|token|key|apikey|secret|webhook|auth|sig|signature"
    r"|credentials?)($|[_\-.])",
    re.I,
)
_QUERY_PAIR = re.compile(r"(?P<key>[^?&=#]+)=(?P<value>[^&#]*)")
_TOKEN = re.compile(r"[A-Za-z0-9]{20,}")
_SEPARATED_TOKEN = re.compile(r"[A-Za-z0-9_\-]{20,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def mask(text: str) -> str:
    """`text` with the credentials of every URL in it replaced by `***`."""
    return _URL.sub(_mask_url, text)


def printable(text: str) -> str:
    """`text` without control characters other than tab and newline."""
    return _CONTROL.sub("", text)


def _mask_url(parts: re.Match[str]) -> str:
    scheme = parts["scheme"].lower().split("+")[0]
    located = scheme in _LOCATED_SCHEMES
    # The last `@` ends the userinfo: a password may itself contain `@`.
    _userinfo, at, host = parts["authority"].rpartition("@")
    # Without credentials, a notifier's "host" that is no host name is its first token.
    if not located and not at and host and not _HOST_NAME.fullmatch(host):
        host = HIDDEN
    path = parts["path"] if scheme in _FILE_SCHEMES else _mask_path(parts["path"], located)
    rest = _QUERY_PAIR.sub(_mask_sensitive_pair, parts["rest"])
    credentials = f"{HIDDEN}@" if at else ""
    return f"{parts['scheme']}://{credentials}{host}{path}{rest}"


def _mask_path(path: str, located: bool) -> str:
    return "/".join(
        HIDDEN if segment and (not located or _looks_like_token(segment)) else segment
        for segment in path.split("/")
    )


def _looks_like_token(segment: str) -> bool:
    # Tokens are long runs of letters and digits; those with `_` or `-` mix cases.
    # Slugs and file names are lower-case words joined by `-` or `_`.
    if not any(c.isdigit() for c in segment):
        return False
    if _TOKEN.fullmatch(segment):
        return True
    mixed_case = segment.lower() != segment and segment.upper() != segment
    return mixed_case and bool(_SEPARATED_TOKEN.fullmatch(segment))


def _mask_sensitive_pair(pair: re.Match[str]) -> str:
    key = pair["key"]
    return f"{key}={HIDDEN}" if _SENSITIVE_KEY.search(key) else pair.group()

"""Source failures of a pass in words, grouped: one line per cause, each source once.

Offline, every source fails the same way; forty lines of `ClientConnectorDNSError ...`
hide that it is one problem. The fetcher's messages keep the detail (stored per source,
shown by `monitor sources`); this module only names the usual network causes.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.records import SourceOutcome

# (what the fetcher's message contains, the cause in words); first match wins.
_CAUSES = (
    ("ClientConnectorDNSError", "could not resolve host names (no network?)"),
    ("Name or service not known", "could not resolve host names (no network?)"),
    ("Temporary failure in name resolution", "could not resolve host names (no network?)"),
    ("Connect call failed", "connection refused"),
    ("Connection refused", "connection refused"),
    ("timed out", "timed out"),
    ("SSLCertVerificationError", "TLS certificate not valid"),
)


def cause_of(outcome: SourceOutcome) -> str:
    """The failure in words: a known network cause, else the fetcher's own message."""
    message = outcome.error or "unknown error"
    for marker, cause in _CAUSES:
        if marker in message:
            return cause
    return f"[{outcome.error_kind}] {message}"


def grouped_failures(failed: Sequence[SourceOutcome]) -> list[str]:
    """'N sources failed: CAUSE: id, id, ...', most frequent cause first."""
    groups: dict[str, list[str]] = {}
    for outcome in failed:
        groups.setdefault(cause_of(outcome), []).append(outcome.source_id)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        f"{len(ids)} source{'s' if len(ids) > 1 else ''} failed: {cause}: {', '.join(sorted(ids))}"
        for cause, ids in ordered
    ]

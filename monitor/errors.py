"""Exceptions of veille.

Expected failures (a feed that is down, a page that will not parse, a mail
server that refuses) are turned into data at the stage boundary and recorded;
only bugs travel up as unexpected exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.hygiene import mask


class MonitorError(Exception):
    """Base class for every error veille raises on purpose."""


class CannotListen(MonitorError):
    """An address cannot be bound: in use, or not one of this host's. Here rather than
    beside the endpoints, so that naming it does not load the metrics library."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the operator's configuration, with where it is."""

    file: str
    message: str
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" [{self.key}]" if self.key else ""
        # Messages quote channel and database URLs from the configuration: never their secrets.
        return mask(f"{where}:{key} {self.message}")


class ConfigError(MonitorError):
    """The configuration is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DatabaseUnusable(MonitorError):
    """The database cannot be opened: unreachable, missing, unsupported, or its directory
    cannot be written. The message names the URL (password hidden) and what to check."""


class SourceError(MonitorError):
    """A source could not be processed; `kind` is a short stable label for health reports."""

    kind = "error"

    def __init__(self, source_id: str, message: str) -> None:
        self.source_id = source_id
        self.message = message
        super().__init__(f"{source_id}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        # Parsing and extraction run in worker processes: the error must survive pickling,
        # whatever the subclass's constructor looks like.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(
    cls: type[SourceError], args: tuple[object, ...], state: dict[str, object]
) -> SourceError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class FetchError(SourceError):
    kind = "fetch"


class HTTPStatusError(FetchError):
    kind = "http"

    def __init__(self, source_id: str, status: int, url: str) -> None:
        self.status = status
        super().__init__(source_id, f"HTTP {status} from {url}")


class RateLimited(HTTPStatusError):
    kind = "rate-limited"

    def __init__(self, source_id: str, status: int, url: str, retry_after: float | None) -> None:
        super().__init__(source_id, status, url)
        self.retry_after = retry_after


class BlockedAddress(FetchError):
    kind = "blocked"


class TooLarge(FetchError):
    kind = "too-large"


class FetchTimeout(FetchError):
    kind = "timeout"


class ParseError(SourceError):
    kind = "parse"

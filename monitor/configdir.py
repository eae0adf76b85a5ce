"""The configuration directory's own files, without the service: the example
configuration, and sources.toml's feeds as OPML, in and out.

Light on purpose, like `monitor.listings`: `monitor init` and `sources import/export`
load no HTTP client, store or matcher. `monitor.api` re-exports all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from monitor import subscribe
from monitor.config.edit import EditRefused, SourcesFile
from monitor.config.example import ExampleRefused, write_example
from monitor.parse.opml import MAX_OPML, OpmlError, write_opml
from monitor.subscribe import ImportReport, configured_feeds

# The errors its functions raise, for callers that import this module alone.
__all__ = [
    "EditRefused",
    "ExampleRefused",
    "OpmlError",
    "OpmlExport",
    "OpmlImport",
    "export_opml",
    "import_opml",
    "write_example_config",
]


@dataclass(frozen=True)
class OpmlImport:
    """What an OPML file added to sources.toml (`path`) and what it skipped, and why."""

    path: Path
    report: ImportReport


def import_opml(config_dir: str | Path, opml: Path) -> OpmlImport:
    """Append every feed of the OPML file that is not configured yet to sources.toml,
    without fetching them. `OSError` when a file cannot be read or written, `OpmlError`
    for a file that is not OPML, `EditRefused` for a sources.toml that cannot be edited."""
    sources = SourcesFile.read(Path(config_dir))
    with opml.open("rb") as file:
        body = file.read(MAX_OPML + 1)  # more is refused: no need to read it all
    return OpmlImport(sources.path, subscribe.import_opml(sources, body, str(opml)))


@dataclass(frozen=True)
class OpmlExport:
    document: bytes  # OPML 2.0
    feeds: int  # how many feeds it lists


def export_opml(config_dir: str | Path) -> OpmlExport:
    """The feed sources of sources.toml as an OPML 2.0 document (`ConfigError` when the
    file has errors)."""
    feeds = configured_feeds(Path(config_dir))
    return OpmlExport(write_opml(feeds, "veille sources"), len(feeds))


def write_example_config(target: str | Path, *, force: bool = False) -> list[Path]:
    """The shipped example configuration (sources.toml, monitor.toml, alerts/) written into
    `target`: the files written, relative to it. `ExampleRefused` when one is there
    already, unless `force`."""
    return write_example(Path(target), force=force)

"""simplemma's dictionaries as MARISA tries kept on disk: the small dictionaries of the
service's processes (`monitor.match.lemmas.use_frugal_dictionaries`).

simplemma's own low-memory dictionaries (front-coded streams) hold French and English in
about 6 MB, but every process indexes them when it starts (0.2 s of CPU) and a lookup
decodes records one by one (about 8 µs); a word's lemma keys take several lookups, a word
unknown to a language the most (simplemma then tries its other strategies). The same
entries in tries take about 2.5 MB, load in milliseconds and answer in about 1 µs.

Making a trie reads the full dictionary (40 MB for a moment, half a second): it is done
once per machine and simplemma release, by the first process that needs it, under a lock
(the pool's workers start together), and written whole (a temporary file renamed) in the
cache folder: MONITOR_CACHE_DIR, else ~/.cache/veille. A folder that cannot be written
costs that making in every process, not a failure.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from marisa_trie import HUGE_CACHE, BytesTrie
from simplemma.strategies.dictionaries.dictionary_factory import (
    CachingDictionaryFactory,
    _load_dictionary_from_disk,
)
from simplemma.strategies.dictionaries.trie_dictionary_factory import TrieWrapDict

log = logging.getLogger(__name__)


def cache_folder() -> Path:
    """Where the tries of this simplemma release are kept."""
    import simplemma

    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "veille"
    root = Path(os.environ.get("MONITOR_CACHE_DIR") or home)
    return root / f"lemma-tries-{simplemma.__version__}"


class TrieDictionaries(CachingDictionaryFactory):
    """simplemma's dictionary factory protocol, answered from the tries of `folder`."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def _get_dictionary_uncached(self, lang: str) -> Mapping[str, str]:
        return TrieWrapDict(load_trie(self.folder, lang))


@cache
def small_dictionaries() -> TrieDictionaries:
    """The process's trie dictionaries: its lemmatizer and language detection share them."""
    return TrieDictionaries(cache_folder())


def load_trie(folder: Path, lang: str) -> BytesTrie:
    """The trie of `lang`'s dictionary, made first if the folder has none."""
    path = folder / f"{lang}.marisa"
    if not path.exists():
        try:
            with _locked(folder):
                if not path.exists():  # another process may have made it meanwhile
                    _save(make_trie(lang), path)
        except OSError as exc:
            log.warning("lemma dictionaries not cached in %s (%s): made in memory", folder, exc)
            return make_trie(lang)
    return BytesTrie().load(str(path))


def make_trie(lang: str) -> BytesTrie:
    entries = _load_dictionary_from_disk(lang)
    pairs = ((key.decode(), value) for key, value in entries.items())
    return BytesTrie(pairs, cache_size=HUGE_CACHE)


def _save(trie: BytesTrie, path: Path) -> None:
    # Renamed into place: a process never loads a trie half written.
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        trie.save(str(partial))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

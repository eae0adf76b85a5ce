"""The process's lemmatizer (`monitor.match.lemmas`): forgetting it collects the garbage
when it had decoded the full dictionaries (only the cycle collector frees them), and not
when it held only the small ones; the small ones (`monitor.match.tries`) are made once
into the cache folder and give simplemma's own lemmas and language shares."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.match import lemmas
from monitor.match.tries import TrieDictionaries, cache_folder


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The full garbage collections asked for, counted (and still made)."""
    made: list[int] = []
    real = gc.collect

    def collect(generation: int = 2) -> int:
        made.append(generation)
        return real(generation)

    monkeypatch.setattr(lemmas.gc, "collect", collect)
    yield made
    lemmas.forget_dictionaries()  # the next test makes its own lemmatizer


def test_forgetting_the_full_dictionaries_collects_them(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An earlier test may have run a pass, which turns the small dictionaries on.
    monkeypatch.setattr(lemmas, "_frugal", False)
    lemmas.forget_dictionaries()
    collections.clear()
    assert lemmas.lemmatize("obtenu", "fr") == "obtenir"
    lemmas.forget_dictionaries()
    assert lemmas._lemmatizer is None
    assert collections == [2]
    lemmas.forget_dictionaries()  # nothing decoded since
    assert collections == [2]
    assert lemmas.lemma_keys("obtenu") >= {"obtenu", "obtenir"}  # made again


def test_forgetting_the_small_dictionaries_collects_nothing(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    lemmas.forget_dictionaries()  # what an earlier test left
    collections.clear()
    monkeypatch.setattr(lemmas, "_frugal", True)
    assert lemmas.lemmatize("obtenu", "fr") == "obtenir"
    lemmas.forget_dictionaries()
    assert lemmas._lemmatizer is None
    assert collections == []


def test_the_small_dictionaries_are_made_once_then_loaded(tmp_path: Path) -> None:
    first = TrieDictionaries(tmp_path)
    french = first.get_dictionary("fr")
    assert (tmp_path / "fr.marisa").is_file()
    assert not list(tmp_path.glob("*.part"))  # renamed into place
    made = (tmp_path / "fr.marisa").stat().st_mtime_ns
    again = TrieDictionaries(tmp_path).get_dictionary("fr")
    assert (tmp_path / "fr.marisa").stat().st_mtime_ns == made  # loaded, not made again
    for word in ("obtenu", "qualifiées", "signent", "zzzqx"):
        assert french.get(word) == again.get(word)
    assert french.get("obtenu") == "obtenir"
    assert french.get("zzzqx") is None


def test_an_unwritable_cache_folder_costs_the_making_only(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    english = TrieDictionaries(blocked / "tries").get_dictionary("en")
    assert english.get("chosen") == "choose"


def test_the_small_dictionaries_lemmatize_and_detect_as_simplemma_does() -> None:
    from simplemma import Lemmatizer, langdetect
    from simplemma.strategies import DefaultStrategy

    simplemma = Lemmatizer(lemmatization_strategy=DefaultStrategy(low_memory=True))
    ours = Lemmatizer(lemmatization_strategy=lemmas.small_strategy())
    words = ("obtenu", "obtiendra", "qualifiées", "signent", "chosen", "ministère", "d'État")
    for word in (*words, "Microsoft", "xqzw"):
        for lang in (*lemmas.LEMMA_LANGUAGES, lemmas.LEMMA_LANGUAGES):
            assert ours.lemmatize(word, lang) == simplemma.lemmatize(word, lang), (word, lang)
    texts = [
        "Le ministère a choisi un hébergeur qualifié SecNumCloud pour ses données de santé.",
        "The ministry chose a qualified cloud provider for its health data.",
        "le the",  # a tie, which the wider sample settles (or not)
        "",
    ]
    for text in texts:
        expected = langdetect(text, lang=("fr", "en"), low_memory=True)
        assert lemmas.language_shares(text, ("fr", "en")) == expected, text


def test_the_cache_folder_is_the_one_set_and_per_simplemma_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simplemma

    monkeypatch.setenv("MONITOR_CACHE_DIR", str(tmp_path))
    assert cache_folder() == tmp_path / f"lemma-tries-{simplemma.__version__}"
    monkeypatch.delenv("MONITOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder().parent == tmp_path / "xdg" / "veille"

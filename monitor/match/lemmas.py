"""Lemma keys of words (French and English, via simplemma), cached.

A bare query word matches a token when they share a *lemma key*. The keys of a word
are its folded surface form plus the folded French and English lemmas of its
lower-cased form, so ``obtenu``, ``obtient`` and ``obtiendra`` all share ``obtenir``
and ``chosen`` shares ``choose`` with ``chose``; present forms of French -er verbs get
their infinitive too (see ``french_verb_of``), and so do past participles in all their
agreements (see ``french_participle_verb``). Lemmatizing happens before folding
because simplemma needs the accents (``qualifiées`` -> ``qualifié``).

One lemmatizer serves the whole process (the clusterer's lemmas too), so that its
dictionaries are decoded once. The service's processes use small dictionaries, tries
kept on disk (``use_frugal_dictionaries``, ``monitor.match.tries``); a process done with
lemmas lets the lemmatizer and the cached keys go (``forget_dictionaries``).
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from monitor.match.normalize import fold, remember

if TYPE_CHECKING:
    from simplemma import Lemmatizer
    from simplemma.strategies import LemmatizationStrategy

LEMMA_LANGUAGES = ("fr", "en")

_KEYS_CACHE: dict[str, frozenset[str]] = {}
_lemmatizer: Lemmatizer | None = None  # the process's lemmatizer, made on first use
_frugal = False  # see `use_frugal_dictionaries`
_full_decoded = False  # a lemmatizer with the full dictionaries was made since the last forget


def lemmatize(word: str, lang: str | tuple[str, ...]) -> str:
    """simplemma's lemma of ``word`` (the first of ``lang`` that knows it)."""
    global _lemmatizer
    # Read once: a backtest's thread may look a lemma up while the pass forgets them.
    lemmatizer = _lemmatizer
    if lemmatizer is None:
        lemmatizer = _lemmatizer = _new_lemmatizer()
    return lemmatizer.lemmatize(word, lang)


def _new_lemmatizer() -> Lemmatizer:
    # Imported on first use: what only imports the matcher (to read its records, say)
    # does not pay for simplemma's modules.
    from simplemma import Lemmatizer
    from simplemma.strategies import DefaultStrategy
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    global _full_decoded
    # No cache of simplemma's: the callers cache what they make of its lemmas (lemma
    # keys, the clusterer's terms), and its own would hold tens of thousands more entries.
    if _frugal:  # the tries, which language detection shares
        strategy = small_strategy()
    else:  # a factory of its own, so that dropping this lemmatizer drops what it decoded
        strategy = DefaultStrategy(dictionary_factory=DefaultDictionaryFactory())
        _full_decoded = True
    return Lemmatizer(cache_max_size=0, lemmatization_strategy=strategy)


def small_strategy() -> LemmatizationStrategy:
    """simplemma's strategy over the small dictionaries (`monitor.match.tries`)."""
    from simplemma.strategies import DefaultStrategy

    from monitor.match.tries import small_dictionaries

    return DefaultStrategy(dictionary_factory=small_dictionaries())


def language_shares(text: str, langs: tuple[str, ...]) -> list[tuple[str, float]]:
    """simplemma's language detection over the small dictionaries: for each language
    (and "unk", last), the share of the text's most common words it knows, best first.
    A tie between the first two is settled by a wider sample of words."""
    from simplemma import LanguageDetector
    from simplemma.token_sampler import MostCommonTokenSampler, RelaxedMostCommonTokenSampler

    strategy = small_strategy()
    shares: list[tuple[str, float]] = []
    for sampler in (MostCommonTokenSampler(), RelaxedMostCommonTokenSampler()):
        found = LanguageDetector(langs, sampler, strategy).proportion_in_each_language(text)
        shares = sorted(found.items(), key=lambda share: (share[0] == "unk", -share[1]))
        if len(shares) == 1 or shares[0][1] != shares[1][1]:
            break
    return shares


def use_frugal_dictionaries() -> None:
    """From now on, look lemmas up in the small dictionaries: about 2.5 MB for French
    and English instead of 45, each lookup about ten times slower (most are cached). For
    the service's processes, each of which holds its own copy."""
    global _frugal
    _frugal = True
    forget_dictionaries()


def forget_dictionaries() -> None:
    """Let go of the lemmatizer, with the full dictionaries it decoded (about 45 MB for
    French and English; the small ones stay, which language detection shares), and of
    the cached keys; the next lemma makes them again."""
    global _lemmatizer, _full_decoded
    _lemmatizer = None
    _KEYS_CACHE.clear()
    # simplemma's caches refer to their owners (an lru_cache of a bound method): only
    # the cycle collector frees the full dictionaries, and a full collection may be far
    # off. Without them there is nothing large to free, and a collection costs tens of
    # milliseconds on the way of every pass and worker start-up.
    if _full_decoded:
        _full_decoded = False
        gc.collect()


def french_verb_of(lower: str) -> str | None:
    """The infinitive of an -er verb whose present singular is ``lower``, if it is one.

    simplemma takes many such forms for the homonymous noun or leaves them as they are
    (``signe``, ``quitte``, ``renonce``, ``conteste``), which would keep ``signer`` from
    matching "le ministère signe". The infinitive is accepted when simplemma maps the
    plural of the same form (``signent``) to it, which a noun does not have.
    """
    if len(lower) < 4 or not lower.endswith("e"):
        return None
    infinitive = lower + "r"
    if lemmatize(lower + "nt", lang="fr") == infinitive:
        return infinitive
    return None


def french_participle_verb(lower: str) -> str | None:
    """The infinitive of a French past participle (``signée`` -> ``signer``), if it is one.

    simplemma knows many participles only in some of their forms (``signées`` but not
    ``signée``, ``choisi`` but not ``choisie``), so the agreement is taken off first and
    the infinitive is accepted when the dictionary confirms the verb: through its present
    plural for -er and -ir verbs (``signent``, ``choisissent``), else through the
    masculine singular (``retenu`` -> ``retenir``).
    """
    masculine = lower
    for ending in ("es", "e", "s"):
        if lower.endswith(ending) and lower[: -len(ending)][-1:] in ("é", "i", "u"):
            masculine = lower[: -len(ending)]
            break
    if len(masculine) < 4:
        return None
    stem, last = masculine[:-1], masculine[-1]
    if last == "é" and lemmatize(stem + "ent", lang="fr") == stem + "er":
        return stem + "er"
    if last == "i" and lemmatize(masculine + "ssent", lang="fr") == masculine + "r":
        return masculine + "r"
    if last in ("i", "u"):
        lemma = lemmatize(masculine, lang="fr")
        if lemma != masculine and lemma.endswith(("ir", "re", "oir")):
            return lemma
    return None


def _compute_keys(lower: str) -> frozenset[str]:
    keys = {fold(lower)}
    for lang in LEMMA_LANGUAGES:
        keys.add(fold(lemmatize(lower, lang=lang)))
    for verb in (french_verb_of(lower), french_participle_verb(lower)):
        if verb:
            keys.add(fold(verb))
    keys.discard("")
    return frozenset(keys)


def lemma_keys(word: str) -> frozenset[str]:
    """The lemma keys of one token (simplemma is slow per call, so results are cached)."""
    lower = word.lower()
    keys = _KEYS_CACHE.get(lower)
    return keys if keys is not None else remember(_KEYS_CACHE, lower, _compute_keys(lower))


# Very frequent French and English lemmas. Only used to guess which term of an AND is
# the rarest, so that a rule is looked at for as few articles as possible.
_COMMON_TEXT = """le la les l un une des de du d et ou a au aux en dans sur pour par avec sans
    ce cet cette ces se s son sa ses leur leurs qui que qu quoi dont ne pas plus
    etre avoir faire pouvoir devoir aller dire voir il elle ils elles on nous vous
    je tu y est sont ete fait tout tous toute comme mais si bien aussi deja encore
    annee an jour fois selon apres avant entre depuis the of and to in on for with
    by at from as is be have do it this that these those or not but are was were
    will would can could has had an its their his her they we you he she which who
    what when there more new also one two year said says"""
COMMON_LEMMAS = frozenset(_COMMON_TEXT.split())


def is_common(key: str) -> bool:
    """True for lemma keys so frequent that they are poor evidence for a rule."""
    return key in COMMON_LEMMAS

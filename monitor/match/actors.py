"""Who an event is about: the actors named in the sentences that made a rule fire.

Two articles that fire the same rule about the same actors (a public body and its
vendor; a cloud provider) report the same event, however differently they are worded:
that is how one event gives one alert. A kind of actor (``public_body``, ``provider``)
is declared in the rule files with

- ``names``: canonical names and the ways the press writes them
  (``education = ["Éducation nationale", "Education ministry", "rue de Grenelle"]``);
- ``heads``: generic words that introduce a body by its proper name
  (``ministère`` in « le ministère de la Culture », ``CHRU`` in « le CHRU de Nancy »,
  ``ministry`` in "the Culture ministry"): the capitalised words after the head (past
  « de », « la », "of"…) or, failing that, just before it, are the actor.

- ``lists``: lists whose entries are actors by their own name, places mostly (« Lyon
  signe avec Microsoft »: the city is the body). Right after « à », « en » or "in", such a
  name says where, not who (« la venue de son patron à Paris »); right after « de » that
  follows a capitalised word, it ends another name (« Notre-Dame de Paris », « Aéroports
  de Paris »), whose body, if any, a head names (« la Ville de Paris »), unless that word
  is « Conseil » or « Maire » (« le Conseil de Paris » is the city's).

Actors are only looked for in the sentences given (the title and the sentences that
decided the match), so a body named in passing elsewhere does not join two stories. Two
names meet when the words of one are all in the other: « Lyon 1 » and « Claude Bernard
Lyon 1 », "Nancy" and « CHRU de Nancy ».
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from monitor.match.analysis import Analysis
from monitor.match.evaluate import Span
from monitor.match.nodes import Term, TermKey
from monitor.match.query import entry_term
from monitor.match.types import QueryError

# Words between a head and its proper name: « ministère de la Culture », "Ministry of the
# Interior", « CHU d'Angers », and a minister's title: « ministre délégué chargé de la
# Ville » (not « au Numérique »: « son ministère à Microsoft » would name Microsoft).
# Elisions are tokens of their own ("l", "d").
CONNECTORS = frozenset(
    {"de", "du", "des", "d", "l", "la", "le", "les", "of", "the"}
    | {"delegue", "deleguee", "charge", "chargee"}
)
# Capitalised words before a head that are not its name: "the French ministry", and the
# articles and prepositions that open a sentence (« Au ministère », "In a ministry").
NOT_NAMES = frozenset(
    {"french", "france", "france's", "the", "state", "public", "federal", "national", "le", "la"}
    | {"au", "aux", "un", "une", "en", "a", "an", "in", "at", "for", "by"}
)
# Words that open a list of precedents before the news: « Après Lyon et Paris, Lille ».
PRECEDENT_MARKERS = frozenset({"apres", "after", "following", "instar"})
# Words before a place that make it a location: « à Paris », « en Bretagne », "in Lyon".
LOCATION_MARKERS = frozenset({"a", "en", "in"})
# Words that tie a place to the capitalised name before it: « Notre-Dame de Paris ».
NAME_OF_PLACE = frozenset({"de", "d"})
# Capitalised words before « de » that make the place itself the body, though they are no
# heads: « le Conseil de Paris », « le Maire de Lyon ».
PLACE_BODIES = frozenset({"conseil", "maire"})
MAX_NAME_WORDS = 3
MAX_CONNECTORS = 4
# What may stand between the words of one name: spaces, an elision, a hyphen
# (« CHU d'Angers », « Saint-Étienne »). A colon, comma or dash ends the name: in
# « la Mairie : Signature d'un partenariat », "Signature" is not the mairie's name.
NAME_JOINERS = frozenset(" \u00a0\u202f'’-")


@dataclass(frozen=True)
class ActorKind:
    name: str
    aliases: tuple[tuple[str, Term], ...]  # (canonical name, a way of writing it)
    heads: tuple[Term, ...]
    canonical_of: Mapping[str, str]  # a folded alias or canonical name -> canonical name
    places: frozenset[str] = frozenset()  # canonical names that are places (``lists``)

    def terms(self) -> Iterator[Term]:
        yield from (term for _, term in self.aliases)
        yield from self.heads


def compile_actor_kind(
    name: str,
    names: Mapping[str, Sequence[str]],
    heads: Sequence[str],
    places: Sequence[str] = (),
) -> ActorKind:
    """``places``: the entries of the kind's ``lists``. Each is its own canonical name,
    written as itself, unless ``names`` says how it is written (« Normandie »:
    ["Normandie", "Normandy"]); either way it is a place, which after « à » says where.
    Raise QueryError naming the entry that is not a valid term."""
    aliases: list[tuple[str, Term]] = []
    canonical_of: dict[str, str] = {}
    for canonical, written in names.items():
        canonical_of[" ".join(_entry_term(name, canonical, canonical).tokens)] = canonical
        for entry in written:
            term = _entry_term(name, canonical, entry)
            aliases.append((canonical, term))
            canonical_of.setdefault(" ".join(term.tokens), canonical)
    for place in places:
        if place in names:
            continue  # written as its names say
        term = _entry_term(name, place, place)
        aliases.append((place, term))
        canonical_of.setdefault(" ".join(term.tokens), place)
    return ActorKind(
        name,
        tuple(aliases),
        tuple(_entry_term(name, "heads", h) for h in heads),
        canonical_of,
        frozenset(places),
    )


def _entry_term(kind: str, where: str, entry: str) -> Term:
    term = entry_term(entry)
    if isinstance(term, str):
        raise QueryError(f"actors {kind}.{where}, entry {entry!r}: {term}", 0, entry)
    return term


def find_actors(
    kind: ActorKind,
    analysis: Analysis,
    occurrences: Mapping[TermKey, list[Span]],
    sentences: frozenset[int],
) -> frozenset[str]:
    """The canonical names of ``kind`` found in ``sentences``, less the precedents a
    sentence lists before its news (see ``news_names``)."""
    sent_of = analysis.sent_of
    hits: dict[int, list[tuple[int, str]]] = {}  # sentence -> (token, canonical name)
    for canonical, term in kind.aliases:
        for start, _ in occurrences.get(term.key, ()):
            if sent_of[start] in sentences and not (
                canonical in kind.places
                and (_located(analysis, start) or _ends_a_name(analysis, start))
            ):
                hits.setdefault(sent_of[start], []).append((start, canonical))
    for head in kind.heads:
        for start, end in occurrences.get(head.key, ()):
            if sent_of[start] in sentences:
                proper = name_after(analysis, end) or name_before(analysis, start)
                if proper:
                    canonical = kind.canonical_of.get(proper, proper)
                    hits.setdefault(sent_of[start], []).append((start, canonical))
    found: set[str] = set()
    for sentence, in_sentence in hits.items():
        found |= news_names(analysis, sentence, sorted(in_sentence))
    return frozenset(found)


def news_names(analysis: Analysis, sentence: int, named: Sequence[tuple[int, str]]) -> set[str]:
    """The names of one sentence (``named``: token and name, in reading order) that the
    news is about. « Après l'Éducation nationale et la Défense, la Culture cède à
    Microsoft », "After Lyon and Paris, Microsoft signs with Lille": when « après »
    (after, following, à l'instar de) opens the list of names, the earlier ones are
    precedents and the last is the news."""
    names = {name for _, name in named}
    if len(names) < 2:
        return names
    first = analysis.sentences[sentence].tok_start
    if PRECEDENT_MARKERS.isdisjoint(analysis.surfaces[first : named[0][0]]):
        return names
    return {named[-1][1]}


def _located(analysis: Analysis, start: int) -> bool:
    """The word before token ``start``, in its sentence, makes it a location (« à Paris »)."""
    return (
        start > 0
        and analysis.sent_of[start - 1] == analysis.sent_of[start]
        and analysis.surfaces[start - 1] in LOCATION_MARKERS
    )


def _ends_a_name(analysis: Analysis, start: int) -> bool:
    """The place at token ``start`` closes another proper name: « de » and a capitalised
    word before it, in its sentence (« Notre-Dame de Paris », « Institut Pasteur de
    Lille »). A body so named has a head (« la Ville de Paris », « le CHU de Nantes »),
    which finds the place as its name."""
    return (
        start > 1
        and analysis.sent_of[start - 2] == analysis.sent_of[start]
        and analysis.surfaces[start - 1] in NAME_OF_PLACE
        and _capitalised(analysis, start - 2)
        and analysis.surfaces[start - 2] not in PLACE_BODIES
        and _joined(analysis, start - 2, start - 1)
        and _joined(analysis, start - 1, start)
    )


def _capitalised(analysis: Analysis, position: int) -> bool:
    """A word of a proper name: capitalised, not an elided article (« L'Université »)."""
    raw = analysis.raws[position]
    surface = analysis.surfaces[position]
    return raw[:1].isupper() and surface not in NOT_NAMES and surface not in CONNECTORS


def _joined(analysis: Analysis, left: int, right: int) -> bool:
    """Tokens ``left`` and ``right`` (of one sentence) are parted by joiners only."""
    sentence = analysis.sent_of[left]
    first = analysis.sentences[sentence].tok_start
    spans = analysis.token_chars(sentence)
    gap = analysis.sentence_text(sentence)[spans[left - first][1] : spans[right - first][0]]
    return all(char in NAME_JOINERS for char in gap)


def name_after(analysis: Analysis, end: int) -> str:
    """The proper name that follows a head ending at token ``end``, folded, or ""."""
    sentence, count = analysis.sent_of[end - 1], len(analysis.surfaces)
    position, skipped = end, 0
    while (
        position < count
        and analysis.sent_of[position] == sentence
        and analysis.surfaces[position] in CONNECTORS
        and skipped < MAX_CONNECTORS
        and _joined(analysis, position - 1, position)
    ):
        position, skipped = position + 1, skipped + 1
    words: list[str] = []
    while (
        position < count
        and analysis.sent_of[position] == sentence
        and len(words) < MAX_NAME_WORDS
        and _capitalised(analysis, position)
        and _joined(analysis, position - 1, position)
    ):
        words.append(analysis.surfaces[position])
        position += 1
    return " ".join(words)


def name_before(analysis: Analysis, start: int) -> str:
    """The proper name just before a head ("the Culture ministry"), folded, or ""."""
    sentence = analysis.sent_of[start]
    position = start - 1
    words: list[str] = []
    while (
        position >= 0
        and analysis.sent_of[position] == sentence
        and len(words) < MAX_NAME_WORDS
        and _capitalised(analysis, position)
        and _joined(analysis, position, position + 1)
    ):
        words.insert(0, analysis.surfaces[position])
        position -= 1
    return " ".join(words)


def names_meet(left: Iterable[str], right: Iterable[str]) -> bool:
    """One name of ``left`` and one of ``right`` have all the words of one in the other."""
    theirs = [frozenset(name.split()) for name in right]
    for name in left:
        words = frozenset(name.split())
        if any(words <= other or other <= words for other in theirs):
            return True
    return False

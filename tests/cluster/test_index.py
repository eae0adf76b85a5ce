"""StoryIndex mechanics: window, prune, short-text guard, candidates vs brute force."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.cluster import Fingerprint, StoryCandidate, StoryDecision, StoryIndex, fingerprint

T0 = datetime(2024, 3, 12, 9, 30, tzinfo=UTC)

DISPATCH_TITLE = "Cyberattaque : le centre hospitalier de Cambrai déprogramme des opérations"
DISPATCH = """Le centre hospitalier de Cambrai a été victime dans la nuit de dimanche à lundi \
d'une cyberattaque par rançongiciel qui l'a contraint à déclencher son plan blanc et à \
déprogrammer une partie des opérations, a indiqué la direction.
« Tous nos logiciels métiers sont à l'arrêt, nous fonctionnons en mode dégradé, sur papier », \
a déclaré le directeur de l'établissement, Olivier Tessier. Les urgences restent ouvertes mais \
certains patients sont réorientés vers les hôpitaux de Valenciennes et de Lille.
Le groupe de pirates LockBit a revendiqué l'attaque sur son site et réclame une rançon de \
2 millions de dollars. L'hôpital a porté plainte et l'ANSSI a dépêché une équipe sur place. \
La direction assure qu'elle ne paiera pas.
Selon l'agence régionale de santé, il s'agit du troisième hôpital des Hauts-de-France visé \
cette année."""
REPRINT_TITLE = "L'hôpital de Cambrai paralysé par une cyberattaque"
REPRINT = (
    DISPATCH.replace("sur son site ", "")
    .replace("de Cambrai a été", "de Cambrai (Nord) a été")
    .replace("cette année.", "cette année.\nVous avez aimé cet article ? Abonnez-vous.")
)
SUMMARY_TITLE = "Cambrai : l'hôpital visé par LockBit, rançon de 2 millions de dollars"
SUMMARY = (
    "Olivier Tessier, directeur de l'hôpital de Cambrai, décrit un fonctionnement "
    "en mode dégradé après l'attaque de LockBit."
)


def add(index: StoryIndex, story: int, article: int, fp: Fingerprint, when: datetime) -> None:
    index.add(StoryCandidate(story, article, fp, when, f"source-{article}"))


@pytest.fixture
def dispatch_index() -> StoryIndex:
    index = StoryIndex()
    add(index, 7, 12, fingerprint(DISPATCH_TITLE, DISPATCH, "fr"), T0)
    return index


def test_reprint_joins_as_near_duplicate(dispatch_index: StoryIndex) -> None:
    decision = dispatch_index.decide(fingerprint(REPRINT_TITLE, REPRINT, "fr"), T0, "other")
    assert decision.story_id == 7
    assert decision.score >= 0.5
    assert decision.reason == f"near-duplicate text {decision.score:.2f} with article 12"


def test_article_ten_days_later_is_a_new_story(dispatch_index: StoryIndex) -> None:
    reprint = fingerprint(REPRINT_TITLE, REPRINT, "fr")
    assert dispatch_index.decide(reprint, T0 + timedelta(days=3), "x").story_id == 7
    later = dispatch_index.decide(reprint, T0 + timedelta(days=10), "x")
    assert later == StoryDecision(None, 0.0, "new story: no related article within 4 days")
    # The window counts both ways: an article found late but published long before.
    assert dispatch_index.decide(reprint, T0 - timedelta(days=10), "x").story_id is None


def test_window_is_configurable() -> None:
    index = StoryIndex(window=timedelta(days=12))
    add(index, 7, 12, fingerprint(DISPATCH_TITLE, DISPATCH, "fr"), T0)
    reprint = fingerprint(REPRINT_TITLE, REPRINT, "fr")
    assert index.decide(reprint, T0 + timedelta(days=10), "x").story_id == 7


def test_summary_joins_on_title_and_names_not_text(dispatch_index: StoryIndex) -> None:
    decision = dispatch_index.decide(fingerprint(SUMMARY_TITLE, SUMMARY, "fr"), T0, "feed")
    assert decision.story_id == 7
    assert decision.reason.startswith(f"title+summary {decision.score:.2f} with article 12")
    assert "lockbit" in decision.reason and "tessier" in decision.reason


def test_short_text_guard_ignores_identical_wording() -> None:
    # Two summaries worded alike but naming different hospitals and gangs: with
    # shingles they would look like a reprint; the guard judges titles and names.
    index = StoryIndex()
    first = fingerprint(
        "Un hôpital visé par une cyberattaque",
        "Le centre hospitalier de Cambrai a été victime d'une cyberattaque revendiquée par "
        "LockBit, a indiqué la direction, qui a déclenché son plan blanc.",
        "fr",
    )
    second = fingerprint(
        "Un hôpital visé par une cyberattaque",
        "Le centre hospitalier de Brive a été victime d'une cyberattaque revendiquée par "
        "Rhysida, a indiqué la direction, qui a déclenché son plan blanc.",
        "fr",
    )
    add(index, 1, 1, first, T0)
    assert first.words < index.limits.short_words
    assert index.decide(second, T0, "feed").story_id is None
    assert index.decide_exhaustive(second, T0).story_id is None
    # The same wording in full-length texts is a near-duplicate, rightly.
    long_index = StoryIndex(short_words=10)
    add(long_index, 1, 1, first, T0)
    assert long_index.decide(second, T0, "feed").reason.startswith("near-duplicate text")


def test_stricter_bar_for_summaries() -> None:
    strict = StoryIndex(short_story=0.99)
    add(strict, 7, 12, fingerprint(DISPATCH_TITLE, DISPATCH, "fr"), T0)
    assert strict.decide(fingerprint(SUMMARY_TITLE, SUMMARY, "fr"), T0, "feed").story_id is None


def test_decide_does_not_mutate(dispatch_index: StoryIndex) -> None:
    reprint = fingerprint(REPRINT_TITLE, REPRINT, "fr")
    first = dispatch_index.decide(reprint, T0, "x")
    assert len(dispatch_index) == 1
    assert dispatch_index.decide(reprint, T0, "x") == first


def test_prune_drops_articles_older_than_the_window() -> None:
    index = StoryIndex(window=timedelta(days=4))
    dispatch = fingerprint(DISPATCH_TITLE, DISPATCH, "fr")
    add(index, 1, 1, dispatch, T0)
    add(index, 2, 2, fingerprint("Autre sujet", "Texte sans rapport avec Scaleway.", "fr"), T0)
    add(
        index,
        3,
        3,
        fingerprint("Encore un autre", "Rien à voir, DINUM.", "fr"),
        T0 + timedelta(days=3),
    )
    index.prune(T0 + timedelta(days=5))
    assert len(index) == 1
    # Once pruned, the dispatch is gone even for a decision dated inside its window.
    reprint = fingerprint(REPRINT_TITLE, REPRINT, "fr")
    assert index.decide(reprint, T0, "x").story_id is None
    index.prune(T0 + timedelta(days=5))  # idempotent
    assert len(index) == 1


def test_an_article_added_again_later_outlives_its_first_time() -> None:
    index = StoryIndex(window=timedelta(days=4))
    dispatch = fingerprint(DISPATCH_TITLE, DISPATCH, "fr")
    add(index, 1, 1, dispatch, T0)
    add(index, 1, 1, dispatch, T0 + timedelta(days=3))  # its date corrected
    index.prune(T0 + timedelta(days=5))  # past the first date, not the second
    assert len(index) == 1
    index.prune(T0 + timedelta(days=8))
    assert len(index) == 0


def test_a_bucket_keeps_its_entries_in_time_order_through_adds_and_removals() -> None:
    from monitor.cluster.index import BUCKET_LIMIT, _Buckets

    buckets = _Buckets()
    days = [(T0 + timedelta(days=d), n) for n, d in enumerate([3, 1, 2])]
    for entry in days:
        buckets.add("b", entry)
    assert buckets.nearest("b", T0) == [1, 2, 0] and buckets.size("b") == 3
    buckets.remove("b", days[1])
    buckets.remove("b", days[0])
    assert buckets.nearest("b", T0) == [2] and buckets.size("b") == 1
    buckets.add("b", days[0])
    assert buckets.nearest("b", T0) == [2, 0]
    buckets.remove("b", days[2])
    buckets.remove("b", days[0])
    assert buckets.nearest("b", T0) == [] and buckets.size("b") == 0
    # Past the limit, the nearest in time to the moment asked, then the lowest id.
    many = [(T0 + timedelta(hours=h), h) for h in range(BUCKET_LIMIT * 3)]
    for entry in reversed(many):
        buckets.add("m", entry)
    middle = T0 + timedelta(hours=BUCKET_LIMIT)
    assert sorted(buckets.nearest("m", middle)) == list(
        range(BUCKET_LIMIT // 2, BUCKET_LIMIT * 3 // 2)
    )


def test_naive_datetimes_are_utc(dispatch_index: StoryIndex) -> None:
    reprint = fingerprint(REPRINT_TITLE, REPRINT, "fr")
    naive = T0.replace(tzinfo=None) + timedelta(days=1)
    assert dispatch_index.decide(reprint, naive, "x").story_id == 7
    dispatch_index.prune(naive + timedelta(days=5))
    assert len(dispatch_index) == 0


def test_adding_an_article_again_replaces_it(dispatch_index: StoryIndex) -> None:
    add(dispatch_index, 9, 12, fingerprint(DISPATCH_TITLE, DISPATCH, "fr"), T0)
    assert len(dispatch_index) == 1
    reprint = fingerprint(REPRINT_TITLE, REPRINT, "fr")
    assert dispatch_index.decide(reprint, T0, "x").story_id == 9


def test_unknown_or_unusable_threshold_is_an_error() -> None:
    with pytest.raises(TypeError, match="stroy"):
        StoryIndex(stroy=0.3)
    with pytest.raises(ValueError, match="min_shared"):
        StoryIndex(min_shared=0)


def test_empty_index() -> None:
    index = StoryIndex()
    assert len(index) == 0
    decision = index.decide(fingerprint(DISPATCH_TITLE, DISPATCH, "fr"), T0, "x")
    assert decision.story_id is None


def test_names_everyone_cites_stop_counting() -> None:
    # Two different events that share two names, Microsoft and Azure. In a quiet
    # window these names are evidence; in a window where every article cites
    # them they only say the topic, and the two events stay apart.
    def article(product: str, city: str, n: int) -> Fingerprint:
        return fingerprint(
            f"Microsoft lance Azure {product} à {city}",
            f"Le groupe Microsoft a présenté mardi à {city} sa nouvelle offre {product} sur Azure, "
            f"destinée aux banques. Le déploiement commencera par {n} clients pilotes, selon "
            f"la directrice France de l'éditeur. Les premiers contrats seront signés en mai.",
            "fr",
        )

    first, second = article("Orion", "Lyon", 12), article("Vega", "Nantes", 15)
    quiet = StoryIndex()
    add(quiet, 1, 1, first, T0)
    assert quiet.decide(second, T0, "x").story_id == 1
    busy = StoryIndex()
    add(busy, 1, 1, first, T0)
    for n in range(2, 40):
        add(busy, n, n, article(f"Projet{n}", f"Ville{n}", 20 + n), T0)
    decision = busy.decide(second, T0, "x")
    assert decision.story_id is None
    assert decision.story_id == busy.decide_exhaustive(second, T0).story_id


def test_articles_that_share_only_topic_names_are_not_checked() -> None:
    # Thirty deals that all cite Microsoft and Azure, told in unrelated words: those two
    # names are the window's topic and never count as shared names, so an article that
    # shares nothing else cannot join them (its text is not theirs: the LSH would say).
    rng = random.Random(3)
    words = ["".join(rng.choice("bcdfglmnprst") for _ in range(6)) for _ in range(3000)]

    def deal(n: int) -> Fingerprint:
        text = " ".join(rng.choices(words, k=120))
        return fingerprint(f"Ville{n} signe avec Microsoft Azure", f"Microsoft Azure. {text}", "fr")

    index = StoryIndex()
    for n in range(30):
        add(index, n, n, deal(n), T0)
    decision = index.decide(deal(99), T0, "x")
    assert decision == StoryDecision(None, 0.0, "new story: no related article within 4 days")
    assert decision.story_id == index.decide_exhaustive(deal(99), T0).story_id is None


def _synthetic_texts(seed: int = 7) -> tuple[list[str], list[tuple[int, str]]]:
    """Base texts of random words and variants of each at every level of overlap.

    Lowercase words only: no names, so only the text MinHash can relate them
    and the LSH alone must find the candidates.
    """
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))
        for _ in range(4000)
    ]
    bases, variants = [], []
    for base_id in range(40):
        words = rng.choices(vocabulary, k=300)
        bases.append(" ".join(words))
        for rate in (0.02, 0.06, 0.1, 0.15, 0.2, 0.3):
            edited = [rng.choice(vocabulary) if rng.random() < rate else w for w in words]
            variants.append((base_id, " ".join(edited)))
        for share in (0.25, 0.35, 0.5, 0.7):
            variants.append((base_id, " ".join(words[: int(300 * share)])))
    return bases, variants


def test_lsh_finds_every_pair_the_exact_check_accepts() -> None:
    bases, variants = _synthetic_texts()
    index = StoryIndex()
    for n, text in enumerate(bases):
        add(index, n, n, fingerprint("", text, "fr"), T0)
    joined = 0
    for base_id, text in variants:
        fp = fingerprint("", text, "fr")
        fast, slow = index.decide(fp, T0, "x"), index.decide_exhaustive(fp, T0)
        assert fast.story_id == slow.story_id
        if slow.story_id is not None:
            assert fast == slow
            assert fast.story_id == base_id
            joined += 1
    # The set straddles the thresholds: many pairs accepted, many refused.
    assert 200 < joined < len(variants)

"""Event-level stories: same rule, same actors, within the window; in any order."""

from datetime import UTC, datetime, timedelta
from itertools import permutations

from monitor.cluster import fingerprint
from monitor.cluster.events import EventIndex, EventMention, When, same_actors
from monitor.cluster.index import StoryCandidate
from monitor.cluster.stories import Event, Stories

DAY = datetime(2016, 11, 15, tzinfo=UTC)
CULTURE = (("public_body", ("culture",)), ("vendor", ("microsoft",)))
EDUCATION = (("public_body", ("education",)), ("vendor", ("microsoft",)))


def test_actors_must_intersect_for_every_kind():
    assert same_actors(CULTURE, (("public_body", ("culture", "rue de valois")), CULTURE[1]))
    assert not same_actors(CULTURE, EDUCATION)
    assert not same_actors(CULTURE, CULTURE[:1])


def dated(day: datetime, seen: datetime = DAY) -> When:
    return When(seen=seen, published=day)


def test_the_index_joins_the_same_event_within_the_window_only():
    index = EventIndex(window=timedelta(days=10))
    index.add(EventMention("ms", CULTURE, dated(DAY), 7))
    assert index.find("ms", CULTURE, dated(DAY + timedelta(days=9))) == 7
    assert index.find("ms", CULTURE, dated(DAY + timedelta(days=11))) is None
    assert index.find("other-rule", CULTURE, dated(DAY)) is None
    assert index.find("ms", EDUCATION, dated(DAY)) is None
    index.prune(DAY + timedelta(days=11))
    assert len(index) == 0


def test_prune_drops_every_mention_past_the_window_whatever_the_order_they_came_in():
    index = EventIndex(window=timedelta(days=10))
    later = DAY + timedelta(days=5)
    index.add(EventMention("ms", CULTURE, dated(later, seen=later), 7))
    index.add(EventMention("other", EDUCATION, dated(DAY, seen=DAY), 8))  # older, added after
    index.prune(DAY + timedelta(days=9))  # none is past the window yet
    assert len(index) == 2
    index.prune(DAY + timedelta(days=12))
    assert len(index) == 1 and index.find("ms", CULTURE, dated(later)) == 7
    index.prune(DAY + timedelta(days=16))
    assert len(index) == 0


def test_a_rule_with_a_window_of_its_own_keeps_its_stories_open_that_long():
    month = timedelta(days=30)
    index = EventIndex(window=timedelta(days=10), windows={"snc": month})
    for rule in ("ms", "snc"):
        index.add(EventMention(rule, CULTURE, dated(DAY), 7))
    late = dated(DAY + timedelta(days=13))  # a monthly's report of the same news
    assert index.find("snc", CULTURE, late) == 7
    assert index.find("ms", CULTURE, late) is None
    assert index.find("snc", CULTURE, dated(DAY + timedelta(days=31))) is None
    assert index.window == month  # what the index reads back from the database
    index.prune(DAY + timedelta(days=20))
    assert index.find("snc", CULTURE, late) == 7  # kept for the longest window
    index.prune(DAY + timedelta(days=31))
    assert len(index) == 0


def test_an_undated_article_is_placed_in_time_by_when_it_was_seen():
    index = EventIndex(window=timedelta(days=10))
    index.add(EventMention("ms", CULTURE, dated(DAY - timedelta(days=400), seen=DAY), 7))
    # Both dated: the publication dates are a year apart, whenever they were read.
    assert index.find("ms", CULTURE, dated(DAY, seen=DAY)) is None
    # One undated: it came out when it was seen, the day the other was read too.
    assert index.find("ms", CULTURE, When(seen=DAY + timedelta(days=1))) == 7
    assert index.find("ms", CULTURE, When(seen=DAY + timedelta(days=12))) is None


def test_the_nearest_story_then_the_latest_then_the_lowest_id_wins_in_any_order():
    stories = [(DAY, 5), (DAY - timedelta(days=2), 9), (DAY, 3), (DAY + timedelta(days=3), 4)]
    for order in permutations(stories):
        index = EventIndex()
        for when, story in order:
            index.add(EventMention("ms", CULTURE, dated(when), story))
        assert index.find("ms", CULTURE, dated(DAY)) == 3  # nearest: 5 and 3, lowest id
        assert index.find("ms", CULTURE, dated(DAY - timedelta(days=3))) == 9
        assert index.find("ms", CULTURE, dated(DAY + timedelta(days=2))) == 4


def test_an_undated_article_joins_the_latest_of_the_stories_seen_with_it():
    """All seen in one pass, an undated excerpt is as near to each: the most recent
    event is the one it most likely reports, not the same body's deal of years before
    (an undated story counts as published when seen; equally recent: the lowest id)."""
    stories = [(DAY - timedelta(days=4000), 2), (DAY, 8), (None, 10)]
    for order in permutations(stories):
        index = EventIndex()
        for published, story in order:
            index.add(EventMention("ms", EDUCATION, When(seen=DAY, published=published), story))
        assert index.find("ms", EDUCATION, When(seen=DAY)) == 8


ARTICLES = {
    "bfm": ("Le ministère de la Culture cède aux sirènes de Microsoft", CULTURE),
    "silicon": ("Le ministère de la Culture opte (à son tour) pour Microsoft", CULTURE),
    "next": ("Au ministère de la Culture, deux millions d'euros pour Microsoft Office", CULTURE),
    "men": ("L'Éducation nationale prolonge son contrat Microsoft jusqu'en 2029", EDUCATION),
}


def group(order: list[str]) -> list[set[str]]:
    """The stories formed when the articles arrive in ``order``."""
    stories = Stories()
    members: dict[int, set[str]] = {}
    for number, name in enumerate(order, start=1):
        title, actors = ARTICLES[name]
        fp = fingerprint(title, title, "fr")
        events = [Event("ms", actors)]
        story = stories.decide(fp, dated(DAY), name, events).story_id or number
        stories.add(StoryCandidate(story, number, fp, DAY, name), dated(DAY), events)
        members.setdefault(story, set()).add(name)
    return sorted(members.values(), key=sorted)


def test_one_event_told_in_different_words_is_one_story_in_any_order():
    expected = [{"bfm", "next", "silicon"}, {"men"}]
    for order in permutations(ARTICLES):
        assert group(list(order)) == expected


NANTES = (("public_body", ("Nantes",)), ("vendor", ("microsoft",)))
RENNES = (("public_body", ("Rennes",)), ("vendor", ("microsoft",)))
HOSPITALS = {
    "nantes-1": (
        "Le CHU de Nantes passe à Microsoft 365",
        "Le centre hospitalier universitaire de Nantes a basculé ses 12 000 agents sur "
        "Microsoft 365.",
        NANTES,
    ),
    "nantes-2": (
        "Nantes : le CHU migre vers la suite de Microsoft",
        "Le CHU de Nantes a migré sa messagerie et sa bureautique vers Microsoft 365.",
        NANTES,
    ),
    "rennes": (
        "Le CHU de Rennes choisit Azure",
        "Le CHU de Rennes a retenu Microsoft Azure pour héberger son entrepôt de données.",
        RENNES,
    ),
}


def test_text_alike_does_not_join_another_event_of_the_same_rule():
    """Two hospitals' deals, told in the same words the same day: their texts are near
    enough to join, their events are not the same, so they are two stories, in any order.
    An article that names no actor still joins by its text."""
    for order in permutations(HOSPITALS):
        stories = Stories()
        members: dict[int, set[str]] = {}
        for number, name in enumerate(order, start=1):
            title, text, actors = HOSPITALS[name]
            fp = fingerprint(title, text, "fr")
            events = [Event("ms", actors)]
            decision = stories.decide(fp, dated(DAY), name, events)
            story = decision.story_id or number
            stories.add(StoryCandidate(story, number, fp, DAY, name), dated(DAY), events)
            members.setdefault(story, set()).add(name)
        assert sorted(members.values(), key=sorted) == [{"nantes-1", "nantes-2"}, {"rennes"}]
        nameless = fingerprint(*HOSPITALS["rennes"][:2], "fr")
        assert stories.decide(nameless, dated(DAY), "x", []).story_id is not None


def test_a_notice_and_the_press_reporting_its_award_are_one_story() -> None:
    """The shipped procurement rule shares its events with ministry-microsoft: the
    notice of an award and a later article about it join, whatever the order; an award
    of the same buyer to another vendor is another story."""
    from monitor.cluster.stories import events_of
    from monitor.fields import Fields
    from monitor.match import Document
    from monitor.preflight import load_checked

    from support import REPO

    config = load_checked(REPO, {})
    documents = {
        "notice": Document(
            title="Fourniture de licences Microsoft 365 et services associés",
            text="Fourniture de licences Microsoft 365 et services associés",
            lang="fr",
            fields=Fields({"buyer": "Ministère des Armées", "awardee": "SOFTWAREONE FRANCE"}),
        ),
        "press": Document(
            title="Le ministère des Armées renouvelle son contrat avec Microsoft",
            text="Le ministère des Armées a renouvelé mardi son accord avec Microsoft pour "
            "quatre ans, selon l'avis d'attribution publié au BOAMP.",
            lang="fr",
        ),
        "aws": Document(
            title="Accord-cadre de services d'informatique en nuage",
            text="Accord-cadre de services d'informatique en nuage",
            lang="fr",
            fields=Fields(
                {"buyer": "Ministère des Armées", "awardee": "AMAZON WEB SERVICES EMEA SARL"}
            ),
        ),
    }
    fired = {name: config.ruleset.match(doc) for name, doc in documents.items()}
    assert {m.rule_id for m in fired["notice"]} >= {"procurement-us-vendor"}
    assert "ministry-microsoft" in {m.rule_id for m in fired["press"]}
    for order in permutations(documents):
        stories = Stories(event_keys=config.event_keys)
        members: dict[int, set[str]] = {}
        for number, name in enumerate(order, start=1):
            doc, events = documents[name], events_of(fired[name])
            assert events, name
            fp = fingerprint(doc.title, doc.text, "fr")
            when = dated(DAY + timedelta(hours=number))
            story = stories.decide(fp, when, name, events).story_id or number
            stories.add(StoryCandidate(story, number, fp, when.order, name), when, events)
            members.setdefault(story, set()).add(name)
        assert sorted(members.values(), key=sorted) == [{"aws"}, {"notice", "press"}], order

"""Tiers (a rule's event query and its related query) and the actors of an event."""

import pytest

from monitor.match import Document, RuleSetError, RuleSpec, compile_rules
from monitor.match.actors import compile_actor_kind

LISTS = {
    "bodies": ["ministère", "ministre", "CHRU", "ministry", "Lyon"],
    "ms": ["Microsoft", "Azure", "Office"],
    "engage": ["choisit", "opte", "signe", "picks"],
}
KINDS = {
    "public_body": compile_actor_kind(
        "public_body",
        {
            "education": ["Éducation nationale", "rue de Grenelle", "Education ministry"],
            "armees": ["ministère des Armées", "Défense"],
        },
        ["ministère", "ministre", "ministry", "CHRU", "région"],
        places=["Lyon", "Paris"],
    ),
    "vendor": compile_actor_kind("vendor", {"microsoft": ["Microsoft", "Azure", "Office"]}, []),
}
EVENT = "SENTENCE(@bodies AND @ms AND @engage)"
RULE = RuleSpec("ms", EVENT, related="@ms AND @bodies", actors=("public_body", "vendor"))


def matches(doc: Document):
    return compile_rules([RULE], LISTS, actor_kinds=KINDS).match(doc)


def test_the_event_tier_wins_and_the_related_tier_catches_the_topic():
    (event,) = matches(Document("", "Le ministère de la Culture opte pour Microsoft Office."))
    assert event.tier == "event"
    (related,) = matches(Document("", "Le ministère de la Culture et Microsoft. Rien."))
    assert related.tier == "related"
    assert matches(Document("", "Microsoft publie ses résultats.")) == []


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("", "Le ministère de la Culture opte pour Microsoft Office.", ("culture",)),
        ("", "Le CHRU de Nancy choisit Azure.", ("nancy",)),
        ("", "The Culture ministry picks Microsoft.", ("culture",)),
        ("", "Le ministère de l'Éducation nationale signe avec Microsoft.", ("education",)),
        # an alias, and a head whose proper name is an alias of a canonical name
        ("", "Rue de Grenelle, le ministère signe avec Microsoft.", ("education",)),
        ("", "Le ministère de la Défense signe avec Microsoft.", ("armees",)),
        # the title is always a deciding sentence
        ("Le ministère des Armées et Microsoft", "Le ministère signe avec Microsoft.", ("armees",)),
        # no proper name: the event is not identified by its actors
        ("", "Le ministère signe avec Microsoft.", ()),
        # a name runs through hyphens and elisions, and stops at a colon
        ("", "Le CHRU de Saint-Étienne choisit Azure.", ("saint etienne",)),
        ("", "Au ministère : Microsoft signe.", ()),
        ("", "Le ministère, Microsoft signe.", ()),
        # several bodies are all actors, unless « après » lists earlier deals first
        (
            "",
            "Le ministère de la Culture et la Défense signent avec Microsoft.",
            ("armees", "culture"),
        ),
        (
            "",
            "Ainsi, après l'Éducation nationale et celui de la Défense, le ministère de la "
            "Culture opte pour Microsoft.",
            ("culture",),
        ),
        ("", "After the Education ministry, the Culture ministry picks Microsoft.", ("culture",)),
        ("Après la Défense, le CHRU de Nancy signe avec Microsoft", "", ("nancy",)),
        # a minister's title names the ministry
        ("", "La ministre de la Culture signe avec Microsoft.", ("culture",)),
        ("", "Le ministre délégué chargé de la Ville signe avec Microsoft.", ("ville",)),
        # a place is an actor by its name, unless it says where
        ("", "Lyon signe avec Microsoft.", ("Lyon",)),
        ("", "Réunis à Paris, le ministère de la Culture signe avec Microsoft.", ("culture",)),
        ("", "In Paris, the Culture ministry picks Microsoft.", ("culture",)),
        ("", "Le ministère, en visite à Lyon, signe avec Microsoft.", ()),
        # a place that closes another name is not that name's body; a head's name is
        ("Notre-Dame de Paris", "Le ministère de la Culture signe avec Microsoft.", ("culture",)),
        ("", "Aéroports de Lyon signe avec Microsoft.", ()),
        ("", "Le CHRU de Lyon choisit Azure.", ("Lyon",)),
        ("", "Les hospices de Lyon signent avec Microsoft.", ("Lyon",)),
        ("", "Le Conseil de Lyon signe avec Microsoft.", ("Lyon",)),
    ],
)
def test_actors_are_found_in_the_deciding_sentences(title, text, expected):
    (match,) = matches(Document(title, text))
    assert dict(match.actors)["public_body"] == expected
    assert dict(match.actors)["vendor"] == ("microsoft",)
    assert match.identifies_event == bool(expected)


def test_a_body_named_only_in_the_lead_is_the_actor_when_the_deciding_sentence_names_none():
    doc = Document(
        "", "Le ministère de la Culture change d'outils. Le ministère signe avec Microsoft."
    )
    (match,) = matches(doc)
    assert dict(match.actors)["public_body"] == ("culture",)


def test_a_body_named_past_the_lead_is_not_an_actor():
    background = " ".join(f"Phrase de contexte numéro {n}." for n in range(6))
    doc = Document(
        "", f"Le ministère signe avec Microsoft. {background} Le ministère de la Culture observe."
    )
    (match,) = matches(doc)
    assert dict(match.actors)["public_body"] == ()


def test_the_deciding_sentence_is_preferred_to_the_lead():
    doc = Document(
        "",
        "Le ministère de la Culture observe. Le ministère des Armées signe avec Microsoft.",
    )
    (match,) = matches(doc)
    assert dict(match.actors)["public_body"] == ("armees",)


def test_actors_round_trip_through_a_dict():
    (match,) = matches(Document("", "Le CHRU de Nancy choisit Azure."))
    assert type(match).from_dict(match.to_dict()) == match


def test_an_unknown_kind_of_actor_and_a_bad_related_query_are_errors():
    with pytest.raises(RuleSetError) as raised:
        compile_rules(
            [
                RuleSpec("a", "Microsoft", actors=("nobody",)),
                RuleSpec("b", "Microsoft", related="(Azure"),
            ],
            LISTS,
            actor_kinds=KINDS,
        )
    messages = [error.message for _, error in raised.value.errors]
    assert messages == [
        "unknown kind of actor 'nobody' (known: public_body, vendor)",
        "related: unclosed '(': add the matching ')'",
    ]

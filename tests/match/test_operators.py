"""Each operator, scope, list and filter, with cases that must and must not match."""

from datetime import date

import pytest

from monitor.match import Document, RuleSetError, RuleSpec, compile_rules

LISTS = {
    "us_hyperscalers": ["Microsoft", "Azure", "Office 365", "Microsoft 365", '"Teams"', "AWS"],
    "counter": ["quitter", "abandonner", "renoncer", "attaquer en justice"],
}


def fires(query: str, text: str, title: str = "", **meta) -> bool:
    ruleset = compile_rules([RuleSpec("r", query)], LISTS)
    return bool(ruleset.match(Document(title=title, text=text, **meta)))


CASES = [
    # AND, implicit AND, OR, NOT
    ("Microsoft AND ministère", "Le ministère choisit Microsoft.", True),
    ("Microsoft AND ministère", "Microsoft publie ses résultats.", False),
    ("Microsoft ministère", "Le ministère choisit Microsoft.", True),
    ("Microsoft OR Azure", "Un contrat Azure.", True),
    ("Microsoft OR Azure", "Un contrat Google.", False),
    ("Microsoft NOT Azure", "Microsoft et Azure.", False),
    ("Microsoft NOT Azure", "Microsoft et Google.", True),
    ("a OR ministère Microsoft", "Le ministère seul.", False),
    ("Azure OR ministère Microsoft", "Le ministère choisit Microsoft.", True),
    # NEAR: at most n words between, either order, within one sentence
    ("ministère NEAR/3 Microsoft", "Le ministère a signé avec Microsoft.", True),
    ("ministère NEAR/2 Microsoft", "Le ministère a signé avec Microsoft.", False),
    ("ministère NEAR/3 Microsoft", "Microsoft a signé avec ce ministère.", False),
    ("ministère NEAR/4 Microsoft", "Microsoft a signé avec ce ministère.", True),
    ("ministère NEAR/0 Microsoft", "ministère Microsoft", True),
    ("ministère NEAR/5 Microsoft", "Le ministère signe. Microsoft se réjouit.", False),
    ("ministère NEAR/5 Microsoft", "Le ministère signe\nMicrosoft se réjouit", False),
    ("ministère NEAR/5 Microsoft", "Microsoft", False),
    # ONEAR: left operand first
    ("Microsoft ONEAR/4 ministère", "Microsoft a signé avec le ministère.", True),
    ("Microsoft ONEAR/4 ministère", "Le ministère a signé avec Microsoft.", False),
    # NEAR with phrases, lists, OR-groups and chains
    ('"Office 365" NEAR/2 (déploie OR généralise)', "Le rectorat généralise Office 365.", True),
    ("@us_hyperscalers NEAR/1 contrat", "Un contrat Microsoft 365 signé.", True),
    ("@us_hyperscalers NEAR/1 contrat", "Un contrat de plusieurs années avec Azure.", False),
    ("ministère NEAR/2 signe NEAR/2 Microsoft", "Le ministère signe avec Microsoft.", True),
    (
        "ministère NEAR/2 signe NEAR/2 Microsoft",
        "Le ministère signe un accord avec Microsoft.",
        False,
    ),
    # Overlapping operands do not count as near each other
    ("Microsoft NEAR/3 @us_hyperscalers", "Microsoft publie ses résultats.", False),
    # Wildcards match folded prefixes, exact words do not inflect
    ("qualifi*", "La qualification SecNumCloud.", True),
    ("qualifi*", "Une requalification.", False),
    ('"Office 3*"', "Office 365 partout.", True),
    ('"obtenu"', "Il a obtenu le label.", True),
    ('"obtenu"', "Il obtient le label.", False),
    # ATLEAST counts mentions (a list mention inside a longer one counts once)
    ("ATLEAST/3(Microsoft)", "Microsoft, Microsoft et encore Microsoft.", True),
    ("ATLEAST/3(Microsoft)", "Microsoft et Microsoft.", False),
    ("ATLEAST/2(@us_hyperscalers)", "Microsoft 365 partout.", False),
    ("ATLEAST/2(@us_hyperscalers)", "Microsoft 365 et Azure.", True),
    ("ATLEAST/2(Microsoft OR Azure)", "Azure. Puis Microsoft.", True),
    ("ATLEAST/2(title:Microsoft)", "Microsoft et Microsoft.", False),
    # Lists: single words lemma-aware, quoted entries exact, phrases exact
    ("@us_hyperscalers", "Le rectorat passe à Office 365.", True),
    ("@us_hyperscalers", "La team du rectorat.", False),
    ("@us_hyperscalers", "Les Teams du rectorat.", True),
    ("@us_hyperscalers", "Office et 365.", False),
    ("@counter", "Ils ont attaqué en justice.", False),
    ("@counter", "Ils vont attaquer en justice le contrat.", True),
    ("@counter", "Le ministère renonce.", True),
    # A capitalised word is a name: itself only, not the words that share its lemmas
    # (« pari » is a bet; « arme », a weapon, shares the verb « armer » with « armées »);
    # a word in lower case still finds its inflections
    ("Paris", "Le pari de Microsoft.", False),
    ("Paris", "La ville de Paris signe.", True),
    ("Armées", "Microsoft déploie son arme anti-chômage.", False),
    ("Armées", "Le ministère des armées signe.", True),
    ("ministère", "Les ministères signent.", True),
    ("contrat", "Les contrats sont signés.", True),
]


@pytest.mark.parametrize(("query", "text", "expected"), CASES)
def test_operator(query, text, expected):
    assert fires(query, text) is expected


SENTENCE_RULE = "SENTENCE(ministère AND Microsoft AND NOT @counter)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Le ministère signe avec Microsoft.", True),
        ("Le ministère signe. Microsoft se réjouit.", False),
        ("Le ministère va quitter Microsoft.", False),
        # The counter-verb elsewhere in the article does not cancel the event.
        ("Le ministère signe avec Microsoft. Un autre ministère va quitter Google.", True),
        ("Le ministère va quitter Microsoft. Le ministère signe avec Microsoft.", True),
    ],
)
def test_sentence_scope_with_scoped_negation(text, expected):
    assert fires(SENTENCE_RULE, text) is expected


def test_document_level_not_cancels_anywhere():
    text = "Le ministère signe avec Microsoft. Un autre ministère va quitter Google."
    assert not fires("ministère Microsoft NOT @counter", text)


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        ("title:Microsoft", "Microsoft au ministère", "Rien.", True),
        ("title:Microsoft", "Le ministère", "Microsoft.", False),
        ("text:Microsoft", "Microsoft au ministère", "Rien.", False),
        ("text:Microsoft", "Rien", "Microsoft.", True),
        ("title:(Microsoft OR Azure) ministère", "Azure", "Le ministère.", True),
        ('title:"Office 365"', "Office 365 déployé", "", True),
        ("lead:Microsoft", "Titre", "Un. Deux. Microsoft.", True),
        ("lead:Microsoft", "Titre", "Un. Deux. Trois. Microsoft.", False),
        ("lead:Microsoft", "Microsoft", "Un. Deux. Trois. Quatre.", True),
        ("SENTENCE(Microsoft AND ministère)", "Microsoft", "Le ministère.", False),
        ("Microsoft NEAR/5 ministère", "Microsoft", "Le ministère.", False),
        ("title:Microsoft NEAR/3 ministère", "Microsoft et le ministère", "", True),
        ("lead:SENTENCE(Microsoft NOT quitter)", "Titre", "Un. Deux. Trois. Microsoft.", False),
    ],
)
def test_field_scopes(query, title, text, expected):
    assert fires(query, text, title=title) is expected


def test_lead_length_is_configurable():
    rules = [RuleSpec("r", "lead:Microsoft")]
    doc = Document(title="", text="Un. Microsoft.")
    assert compile_rules(rules, LISTS, lead_sentences=1).match(doc) == []
    assert len(compile_rules(rules, LISTS, lead_sentences=2).match(doc)) == 1


@pytest.mark.parametrize(
    ("query", "meta", "expected"),
    [
        ("Microsoft lang:fr", {"lang": "fr"}, True),
        ("Microsoft lang:fr", {"lang": "fr-FR"}, True),
        ("Microsoft lang:fr", {"lang": "en"}, False),
        ("Microsoft lang:fr", {}, False),
        ("Microsoft source:lemonde", {"source_id": "LeMonde"}, True),
        ("Microsoft source:lemonde", {"source_id": "lemonde-pixels"}, False),
        ("Microsoft source:lemonde*", {"source_id": "lemonde-pixels"}, True),
        ("Microsoft (source:a OR source:b)", {"source_id": "b"}, True),
        ("Microsoft NOT source:b", {"source_id": "b"}, False),
    ],
)
def test_metadata_fields(query, meta, expected):
    assert fires(query, "Microsoft.", **meta) is expected


@pytest.mark.parametrize(
    ("spec", "meta", "expected"),
    [
        ({"languages": ("fr",)}, {"lang": "fr"}, True),
        ({"languages": ("fr",)}, {"lang": "en"}, False),
        ({"languages": ("fr",)}, {}, False),
        ({"languages": ("fr", "en")}, {"lang": "en-GB"}, True),
        ({"sources": ("numerama",)}, {"source_id": "numerama"}, True),
        ({"sources": ("numerama",)}, {"source_id": "zdnet"}, False),
        ({"tags": ("tech",)}, {"tags": ("politique", "tech")}, True),
        ({"tags": ("tech",)}, {"tags": ("politique",)}, False),
        ({}, {}, True),
    ],
)
def test_rule_filters(spec, meta, expected):
    ruleset = compile_rules([RuleSpec("r", "Microsoft", **spec)], LISTS)
    matches = ruleset.match(Document(title="", text="Microsoft.", **meta))
    assert bool(matches) is expected


def test_match_returns_rules_in_rule_order_and_match_rules_a_subset():
    rules = [
        RuleSpec("c", "Azure"),
        RuleSpec("a", "Microsoft"),
        RuleSpec("b", "Google"),
        RuleSpec("d", "Microsoft NEAR/1 Azure"),
    ]
    ruleset = compile_rules(rules, LISTS)
    doc = Document(title="", text="Microsoft Azure et Google.")
    assert ruleset.rule_ids == ("c", "a", "b", "d")
    assert [m.rule_id for m in ruleset.match(doc)] == ["c", "a", "b", "d"]
    assert [m.rule_id for m in ruleset.match_rules(doc, ["d", "a"])] == ["a", "d"]
    with pytest.raises(KeyError):
        ruleset.match_rules(doc, ["nope"])


def test_question_and_quote_look_at_the_shape_of_a_sentence():
    ruleset = compile_rules(
        [
            RuleSpec("fact", "title:Microsoft AND NOT title:QUESTION"),
            RuleSpec("said", "SENTENCE(Microsoft AND NOT QUOTE)"),
        ],
        {},
    )
    asked = Document(title="Le ministère renouvelle-t-il avec Microsoft ?", text="Rien.")
    told = Document(title="Le ministère renouvelle avec Microsoft", text="Rien.")
    assert [m.rule_id for m in ruleset.match(asked)] == ["said"]
    assert [m.rule_id for m in ruleset.match(told)] == ["fact", "said"]
    # A quotation opens with its mark; a question may end inside closing quotes.
    quoted = Document(title="", text="« Microsoft a eu le marché », dit-il. Rien.")
    assert [m.rule_id for m in ruleset.match(quoted)] == []
    closing = Document(title="« Microsoft, vraiment ? »", text="Rien.")
    assert ruleset.explain("fact", closing).reason == (
        "excluded by title:QUESTION: the title is a question"
    )
    # An interview's headline: all it says after the colon is quoted. A quote inside
    # the sentence, or one the sentence goes on after, is no quotation.
    interview = Document(
        title="", text="Eric Le Marois (Microsoft) : « Inventer avec les universités »"
    )
    assert [m.rule_id for m in ruleset.match(interview)] == []
    for told in (
        "Microsoft : le ministère signe pour « trois ans » avec l'éditeur.",
        "Microsoft : « trois ans », dit le ministère en signant.",
    ):
        assert [m.rule_id for m in ruleset.match(Document("", told))] == ["said"], told


HISTORY = "SENTENCE(Microsoft AND NOT EARLIER_YEAR)"


@pytest.mark.parametrize(
    ("text", "published", "told_as_news"),
    [
        # every year it names is two years or more before the article's: history
        ("En 2009, le ministère a conclu un accord avec Microsoft.", date(2013, 4, 18), False),
        ("In 2005 the ministry signed with Microsoft, 2005-2009.", date(2013, 4, 18), False),
        ("Paris, October 6, 2009: Inria renews with Microsoft.", date(2012, 1, 5), False),
        # the article's year, the year before, a later one: news
        ("En 2009, le ministère a conclu un accord avec Microsoft.", date(2009, 4, 18), True),
        ("En décembre 2012, le ministère a signé avec Microsoft.", date(2013, 1, 8), True),
        ("Le ministère signe avec Microsoft pour 2026 et 2027.", date(2026, 3, 7), True),
        # an end date says how long, not when: « jusqu'en 2017 » in 2014 placed in 2024
        ("Le ministère a renouvelé avec Microsoft jusqu'en 2017.", date(2024, 4, 18), True),
        ("The ministry renewed with Microsoft until 2017.", date(2024, 4, 18), True),
        ("En 2009, le ministère a signé avec Microsoft jusqu'en 2013.", date(2016, 1, 5), False),
        ("Signé en 2009 avec Microsoft, le contrat court jusqu'en 2029.", date(2026, 3, 7), False),
        # a year that ends a name dates nothing
        ("Le ministère migre vers Microsoft Office 2010.", date(2013, 4, 18), True),
        ("Le ministère passe à Windows Server 2012 de Microsoft.", date(2019, 4, 18), True),
        # no year at all, a year inside a bigger number, an undated article
        ("Le ministère a signé avec Microsoft.", date(2013, 4, 18), True),
        ("Microsoft facture 12 2009 000 euros au ministère.", date(2013, 4, 18), True),
        ("En 2009, le ministère a conclu un accord avec Microsoft.", None, True),
    ],
)
def test_earlier_year_tells_history_from_news(
    text: str, published: date | None, told_as_news: bool
) -> None:
    assert fires(HISTORY, text, published=published) is told_as_news


def test_earlier_year_is_explained_with_the_article_year() -> None:
    ruleset = compile_rules([RuleSpec("r", HISTORY)], {})
    text = "En 2009, le ministère a conclu un accord avec Microsoft."
    history = ruleset.explain("r", Document("", text, published=date(2013, 4, 18)))
    assert "names only years before 2012" in history.render()
    undated = ruleset.explain("r", Document("", text))
    assert undated.matched and "NOT EARLIER_YEAR  (the article has no date)" in undated.render()


def test_a_shape_alone_is_not_a_rule():
    with pytest.raises(RuleSetError) as raised:
        compile_rules([RuleSpec("r", "QUESTION")], {})
    assert "only filters documents" in raised.value.errors[0][1].message


# A source without headlines gives the article's opening as its title: cut short by an
# ellipsis, or a whole paragraph. Matching reads it as the text's first sentences.
OPENING = "Microsoft a décroché un contrat avec le ministère de la Défense américain."
LONG_TITLE = (
    "Le ministère des Armées a publié mardi son rapport annuel sur la sécurité des systèmes"
    " d'information de l'État et de ses opérateurs. Microsoft a de son côté présenté ses"
    " résultats trimestriels à ses actionnaires réunis à Redmond."
)


def test_a_title_cut_from_the_text_is_read_whole_in_the_text() -> None:
    query = "SENTENCE(ministère AND Microsoft AND NOT américain)"
    assert not fires(query, OPENING, title="Microsoft a décroché un contrat avec le ministère…")
    assert not fires("title:Microsoft", OPENING, title="Microsoft a décroché un contrat…")
    # a headline that the text does not open with stays the title, ellipsis or not
    assert fires("title:Microsoft", OPENING, title="Microsoft et les ministères…")


def test_a_title_of_a_paragraph_is_read_as_sentences_of_the_text() -> None:
    assert len(LONG_TITLE.split()) > 30
    assert not fires("SENTENCE(ministère AND Microsoft)", "Rien d'autre.", title=LONG_TITLE)
    assert fires("SENTENCE(ministère AND rapport)", "Rien d'autre.", title=LONG_TITLE)
    assert not fires("title:ministère", LONG_TITLE + " Rien d'autre.", title=LONG_TITLE)
    # the text that already opens with it does not read it twice
    assert not fires("ATLEAST/2(Redmond)", LONG_TITLE + " Rien d'autre.", title=LONG_TITLE)

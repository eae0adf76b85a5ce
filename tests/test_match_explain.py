"""Passages, fired clauses, serialization and the clause-by-clause explanation."""

from monitor.match import Document, Passage, RuleMatch, RuleSpec, compile_rules

LISTS = {
    "us_hyperscalers": ["Microsoft", "Azure", "Office 365", "Microsoft 365"],
    "counter": ["quitter", "abandonner", "renoncer"],
}
SENTENCE = "SENTENCE(ministère AND (signer OR renouveler) AND @us_hyperscalers NOT @counter)"
QUERY = SENTENCE + " title:Microsoft"
RULES = [RuleSpec("ministry-microsoft", QUERY, languages=("fr",))]

MATCHING = Document(
    title="Microsoft et l'État",
    text=(
        "Le ministère des Armées renouvelle son contrat avec Microsoft. "
        "Le ministère de la Culture va quitter Azure après avoir signé."
    ),
    lang="fr",
)
NOT_MATCHING = Document(
    title="Microsoft et l'État",
    text="Le ministère de la Culture signe puis va quitter Azure. Microsoft renouvelle.",
    lang="en",
)


def test_match_gives_marked_passages_and_fired_clauses():
    (match,) = compile_rules(RULES, LISTS).match(MATCHING)
    assert match.clauses == (
        "SENTENCE(ministère AND (signer OR renouveler) AND @us_hyperscalers NOT @counter)",
        "title:Microsoft",
    )
    assert [(p.field, p.highlighted()) for p in match.passages] == [
        ("text", "Le [[ministère]] des Armées [[renouvelle]] son contrat avec [[Microsoft]]."),
        ("title", "[[Microsoft]] et l'État"),
    ]
    # The second sentence also holds the words, but its counter-verb keeps it out.
    assert all("Culture" not in p.text for p in match.passages)


def test_fired_clauses_descend_through_or():
    ruleset = compile_rules(
        [RuleSpec("r", "(Azure OR Microsoft OR Google) ministère NOT quitter")], LISTS
    )
    (match,) = ruleset.match(Document(title="", text="Le ministère choisit Microsoft et Azure."))
    assert match.clauses == ("Azure", "Microsoft", "ministère")


def test_passages_prefer_title_and_lead_and_show_each_sentence_once():
    doc = Document(
        title="Microsoft au ministère",
        text="Microsoft au ministère. Un. Deux. Trois. Microsoft, Microsoft et le ministère.",
    )
    (match,) = compile_rules([RuleSpec("r", "Microsoft ministère")], LISTS).match(doc)
    assert [(p.field, p.text) for p in match.passages] == [
        ("title", "Microsoft au ministère"),
        ("text", "Microsoft, Microsoft et le ministère."),
    ]
    assert match.passages[1].marks == ((0, 9), (11, 20), (27, 36))


def test_marks_of_overlapping_terms_are_merged():
    ruleset = compile_rules([RuleSpec("r", '"Office 365" AND 365 AND partout')], LISTS)
    (match,) = ruleset.match(Document(title="", text="Office 365 partout"))
    assert match.passages[0].marks == ((0, 10), (11, 18))


def test_segments_split_text_for_escaping_renderers():
    passage = Passage("text", "Le <b> ministère & Microsoft", ((7, 16), (19, 28)))
    assert passage.segments() == [
        ("Le <b> ", False),
        ("ministère", True),
        (" & ", False),
        ("Microsoft", True),
    ]
    assert Passage("title", "Microsoft", ((0, 9),)).segments() == [("Microsoft", True)]


def test_rule_match_round_trips_through_a_dict():
    (match,) = compile_rules(RULES, LISTS).match(MATCHING)
    data = match.to_dict()
    assert data["passages"][1] == {
        "field": "title",
        "text": "Microsoft et l'État",
        "marks": [[0, 9]],
    }
    assert RuleMatch.from_dict(data) == match


def test_explain_a_match_clause_by_clause():
    explanation = compile_rules(RULES, LISTS).explain("ministry-microsoft", MATCHING)
    assert explanation.matched
    assert explanation.render().splitlines() == [
        "rule 'ministry-microsoft' matches",
        f"[yes] {QUERY}",
        "      text: Le [[ministère]] des Armées [[renouvelle]] son contrat avec [[Microsoft]].",
        "      title: [[Microsoft]] et l'État",
        f"  [yes] {SENTENCE}  (holds in sentence 1 of the text)",
        "        text: Le [[ministère]] des Armées [[renouvelle]] son contrat avec [[Microsoft]].",
        "    [yes] ministère AND (signer OR renouveler) AND @us_hyperscalers NOT @counter",
        "          text: Le [[ministère]] des Armées [[renouvelle]] son contrat avec"
        " [[Microsoft]].",
        "      [yes] ministère",
        "            text: Le [[ministère]] des Armées renouvelle son contrat avec Microsoft.",
        "      [yes] (signer OR renouveler)",
        "            text: Le ministère des Armées [[renouvelle]] son contrat avec Microsoft.",
        "        [no] signer  (not found)",
        "        [yes] renouveler",
        "              text: Le ministère des Armées [[renouvelle]] son contrat avec Microsoft.",
        "      [yes] @us_hyperscalers  (found: Microsoft)",
        "            text: Le ministère des Armées renouvelle son contrat avec [[Microsoft]].",
        "      [yes] NOT @counter  (the excluded clause is absent)",
        "        [no] @counter  (not found)",
        "  [yes] title:Microsoft",
        "        title: [[Microsoft]] et l'État",
        "    [yes] Microsoft",
        "          title: [[Microsoft]] et l'État",
    ]


def test_explain_a_non_match_shows_filter_and_closest_sentence():
    explanation = compile_rules(RULES, LISTS).explain("ministry-microsoft", NOT_MATCHING)
    assert not explanation.matched
    assert explanation.filter_failures == ("language 'en' is not one of: fr",)
    lines = explanation.render().splitlines()
    assert lines[:4] == [
        "rule 'ministry-microsoft' does not match",
        "  excluded by filter: language 'en' is not one of: fr",
        f"[no] {QUERY}",
        "  [no] SENTENCE(ministère AND (signer OR renouveler) AND @us_hyperscalers NOT @counter)"
        "  (no sentence satisfies it; closest is sentence 1 of the text)",
    ]
    assert lines[-7:-2] == [
        "      [no] NOT @counter  (the excluded clause occurs)",
        "        [yes] @counter  (found: quitter)",
        "              text: Le ministère de la Culture signe puis va [[quitter]] Azure.",
        "  [yes] title:Microsoft",
        "        title: [[Microsoft]] et l'État",
    ]


def test_explain_notes_near_atleast_and_filters():
    rules = [
        RuleSpec("near", "Microsoft NEAR/1 ministère"),
        RuleSpec("count", "ATLEAST/3(Microsoft)"),
        RuleSpec("source", "Microsoft source:lemonde"),
    ]
    ruleset = compile_rules(rules, LISTS)
    doc = Document(
        title="", text="Microsoft a signé avec le ministère. Microsoft.", source_id="zdnet"
    )
    assert (
        ruleset.explain("near", doc).tree.note
        == "both occur, but never within 1 words in one sentence"
    )
    assert ruleset.explain("count", doc).tree.note == "2 mentions, 3 needed"
    source = ruleset.explain("source", doc).tree.children[1]
    assert (source.text, source.fired, source.note) == (
        "source:lemonde",
        False,
        "document source is 'zdnet'",
    )


def test_explain_a_sentence_scope_without_candidate_sentence():
    ruleset = compile_rules([RuleSpec("r", "Azure OR SENTENCE(Microsoft ministère)")], LISTS)
    tree = ruleset.explain("r", Document(title="", text="Azure.")).tree
    assert tree.children[1].note == "no sentence contains any of its required words"

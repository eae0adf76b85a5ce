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


def test_explain_a_match_says_why_in_one_line_and_shows_each_clause_once():
    explanation = compile_rules(RULES, LISTS).explain("ministry-microsoft", MATCHING)
    assert explanation.matched
    assert explanation.render().splitlines() == [
        "rule 'ministry-microsoft' matches: sentence 1 of the text has ministère, renouvelle,"
        " Microsoft; and the title has Microsoft",
        "  > text: Le [[ministère]] des Armées [[renouvelle]] son contrat avec [[Microsoft]].",
        "  > title: [[Microsoft]] et l'État",
        "  [yes] all of",
        "    [yes] in one sentence, all of  (holds in sentence 1 of the text)",
        "          text: Le [[ministère]] des Armées [[renouvelle]] son contrat avec"
        " [[Microsoft]].",
        "      [yes] ministère  (found: ministère)",
        "      [yes] (signer OR renouveler)  (found: renouvelle)",
        "      [yes] @us_hyperscalers  (found: Microsoft)",
        "      [yes] NOT @counter  (absent)",
        "    [yes] title:Microsoft  (found: Microsoft)",
    ]
    # Each clause once: the sentence's query text is not repeated on any line.
    assert SENTENCE not in explanation.render()


def test_explain_a_non_match_names_the_filter_and_the_closest_sentence():
    explanation = compile_rules(RULES, LISTS).explain("ministry-microsoft", NOT_MATCHING)
    assert not explanation.matched
    assert explanation.filter_failures == ("language 'en' is not one of: fr",)
    assert explanation.render().splitlines() == [
        "rule 'ministry-microsoft' does not match: excluded by filter: language 'en' is not"
        " one of: fr",
        "  [no] all of",
        "    [no] in one sentence, all of  (no sentence satisfies it; closest is sentence 1 of"
        " the text)",
        "          text: Le ministère de la Culture signe puis va quitter Azure.",
        "      [yes] ministère  (found: ministère)",
        "      [yes] (signer OR renouveler)  (found: signe)",
        "      [yes] @us_hyperscalers  (found: Azure)",
        "      [no] NOT @counter  (found: quitter)",
        "    [yes] title:Microsoft  (found: Microsoft)",
    ]


def test_the_one_line_reason_names_the_first_requirement_that_fails():
    ruleset = compile_rules(RULES, LISTS)
    doc = Document(title="Microsoft et l'État", text=NOT_MATCHING.text, lang="fr")
    assert ruleset.explain("ministry-microsoft", doc).reason == (
        "no single sentence holds it; closest, sentence 1 of the text: excluded by @counter:"
        " found: quitter"
    )
    missing = Document(title="L'État", text="Le ministère signe avec Microsoft.", lang="fr")
    assert ruleset.explain("ministry-microsoft", missing).reason == (
        "in the title, Microsoft not found"
    )


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
    near = ruleset.explain("near", doc)
    assert near.tree.note == "both occur, but never within 1 word in one sentence"
    assert near.reason.startswith("both occur, but never within 1 word")
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

"""Normalization: folding, tokens, elision, sentences, lemma-aware words vs exact phrases."""

import pytest

from monitor.match import Document, RuleSpec, compile_rules
from monitor.match.analysis import Analysis
from monitor.match.lemmas import lemma_keys
from monitor.match.normalize import (
    PLAIN_TOKEN_RE,
    TOKEN_RE,
    fold,
    split_sentences,
    token_pattern,
    tokenize,
)


def fires(query: str, text: str) -> bool:
    ruleset = compile_rules([RuleSpec("r", query)], {})
    return bool(ruleset.match(Document(title="", text=text)))


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("Ministère", "ministere"),
        ("ÉDUCATION", "education"),
        ("Œuvre", "oeuvre"),
        ("Straße", "strasse"),
        ("Micro\u00adsoft", "microsoft"),
        ("e\u0301te\u0301", "ete"),
    ],
)
def test_fold_removes_case_accents_ligatures_and_invisible_marks(word, folded):
    assert fold(word) == folded


def test_elision_gives_the_word_after_the_apostrophe():
    text = "l'Éducation d’Azure qu'OVHcloud jusqu'à aujourd’hui"
    assert tokenize(text) == [
        "l",
        "education",
        "d",
        "azure",
        "qu",
        "ovhcloud",
        "jusqu",
        "a",
        "aujourd",
        "hui",
    ]


def test_punctuation_quotes_hyphens_and_nbsp_separate_tokens():
    text = "«\u00a0Cloud au centre\u00a0» : Microsoft-365, S3NS; OVHcloud (1,5\u202fMd€)"
    assert tokenize(text) == [
        "cloud",
        "au",
        "centre",
        "microsoft",
        "365",
        "s3ns",
        "ovhcloud",
        "1",
        "5",
        "md",
    ]


def test_fast_tokenizer_is_used_only_without_in_word_marks():
    assert token_pattern("Le ministère signe") is PLAIN_TOKEN_RE
    assert token_pattern("Micro\u00adsoft") is TOKEN_RE
    plain = "L’État, l'Éducation — 42 ans; naïve façon"
    assert PLAIN_TOKEN_RE.findall(plain) == TOKEN_RE.findall(plain)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Ministère", "le ministere a signe"),
        ("ministère", "LES MINISTÈRES ont signé"),
        ("Éducation", "l'education nationale"),
        ("Azure", "un contrat d’Azure"),
        ("OVHcloud", "c'est qu'OVHcloud gagne"),
        ("qualifié", "elle est qualifiée"),
        ("qualifiés", "le prestataire qualifié"),
        ("obtenu", "Scaleway obtient le label"),
        ("obtient", "OVHcloud a obtenu le label"),
        ("choose", "they chose the vendor"),
        ("signer", "Le ministère signe avec Microsoft"),
        ("quitter", "Le rectorat quitte Microsoft"),
        ("signe", "Le ministère a signé"),
        ("chosen", "we choose the vendor"),
        ('"Cloud au centre"', "la doctrine « cloud au centre »"),
        ('"Microsoft 365"', "Microsoft-365 est déployé"),
        ("Microsoft-365", "Microsoft 365 est déployé"),
        ("l'Éducation", "le ministère de l’éducation"),
    ],
)
def test_words_match_case_accent_punctuation_and_inflection_variants(query, text):
    assert fires(query, text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ('"obtenu"', "Scaleway obtient le label"),
        ('"ministère"', "les ministères"),
        ('"qualifiée"', "le prestataire qualifié"),
        ('"a obtenu"', "Scaleway obtiendra le label"),
        ("S3NS", "S3 NS"),
        ("ministère", "administration"),
    ],
)
def test_quoted_forms_stay_exact_and_words_match_whole_tokens(query, text):
    assert not fires(query, text)


def test_quoted_phrase_ignores_case_accents_and_punctuation_only():
    assert fires('"ministère de l\'Éducation"', "Ministere de l’EDUCATION, hier")
    assert not fires('"ministère de l\'Éducation"', "ministères de l'Éducation")


def test_lemma_keys_hold_surface_and_french_and_english_lemmas():
    assert lemma_keys("obtenu") == frozenset({"obtenu", "obtenir"})
    assert lemma_keys("Qualifiées") == frozenset({"qualifiees", "qualifie", "qualifier"})
    assert lemma_keys("chosen") == frozenset({"chosen", "choose"})


def test_present_of_french_er_verbs_gets_the_infinitive_nouns_do_not():
    assert lemma_keys("signe") == frozenset({"signe", "signer"})
    assert lemma_keys("renonce") == frozenset({"renonce", "renoncer"})
    assert lemma_keys("ministre") == frozenset({"ministre"})
    assert lemma_keys("vie") == frozenset({"vie"})


def test_past_participles_in_every_agreement_get_the_infinitive():
    for form in ("signé", "signée", "signés", "signées"):
        assert "signer" in lemma_keys(form), form
    assert "choisir" in lemma_keys("choisie") and "retenir" in lemma_keys("retenue")
    assert "prolonger" in lemma_keys("prolongée") and "recevoir" in lemma_keys("reçue")
    assert fires("prolonger", "Le contrat a été prolongé jusqu'en 2030.")
    assert fires("choisir", "La solution choisie par la région")
    # Words that only look like participles stay as they are.
    assert lemma_keys("année") == frozenset({"annee"})
    assert lemma_keys("société") == frozenset({"societe"})


def test_sentences_split_on_end_punctuation_and_line_breaks():
    text = "Le ministère signe. Il renouvelle!\nNouvelle ligne sans point\n\n  Fin ?  Oui."
    assert sentences(text) == [
        "Le ministère signe.",
        "Il renouvelle!",
        "Nouvelle ligne sans point",
        "Fin ?",
        "Oui.",
    ]


def test_sentences_keep_abbreviations_initials_and_numbers():
    text = (
        "M. Dupont et Mme Durand ont vu J. Martin. La S.A. Orange vaut 1.5 milliard. "
        "Voir p. 12 et cf. Annexe. He said no. Then left."
    )
    assert sentences(text) == [
        "M. Dupont et Mme Durand ont vu J. Martin.",
        "La S.A. Orange vaut 1.5 milliard.",
        "Voir p. 12 et cf. Annexe.",
        "He said no.",
        "Then left.",
    ]


def test_sentences_end_after_french_closing_quotes():
    assert sentences("Il a dit « Non. » Puis il est parti.") == [
        "Il a dit « Non. »",
        "Puis il est parti.",
    ]


def test_analysis_numbers_title_then_text_sentences_and_lead():
    doc = Document(title="  Titre  ", text="Un. Deux. Trois. Quatre. Cinq.")
    analysis = Analysis(doc, lead_sentences=3)
    assert [analysis.sentence_text(i) for i in range(6)] == [
        "Titre",
        "Un.",
        "Deux.",
        "Trois.",
        "Quatre.",
        "Cinq.",
    ]
    assert analysis.lead_region == frozenset({0, 1, 2, 3})
    assert analysis.text_region == frozenset({1, 2, 3, 4, 5})
    assert analysis.token_chars(0) == [(0, 5)]


def test_phrases_do_not_cross_sentence_boundaries():
    assert not fires('"signe Microsoft"', "Le ministère signe.\nMicrosoft se félicite.")
    assert fires('"signe Microsoft"', "Le ministère signe Microsoft.")

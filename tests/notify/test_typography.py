"""French typography for veille's own words, and plurals."""

from __future__ import annotations

import pytest

from monitor.notify.typography import french, plural

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("written", "typeset"),
    [
        ("Aussi publié par : Le Monde", f"Aussi publié par{NNBSP}: Le Monde"),
        ("Vraiment ? Oui ! Bon ; fin", f"Vraiment{NNBSP}? Oui{NNBSP}! Bon{NNBSP}; fin"),
        ("Date   : hier", f"Date  {NNBSP}: hier"),  # the alignment of the text part stays
        (f"déjà{NBSP}: fait", f"déjà{NNBSP}: fait"),
        ("Doctrine « Cloud au centre »", f"Doctrine «{NBSP}Cloud au centre{NBSP}»"),
        ("«Cloud au centre»", f"«{NBSP}Cloud au centre{NBSP}»"),
        ("la qualification de l'ANSSI", "la qualification de l’ANSSI"),
        ("aujourd'hui l'État", "aujourd’hui l’État"),
        # Nothing is added where no space is written: times, ids, English.
        ("à 10:30 le 04/03", "à 10:30 le 04/03"),
        ("Note: done!", "Note: done!"),
        ("'cloud at the centre'", "'cloud at the centre'"),
        ("l'année 2026's", "l’année 2026's"),
    ],
)
def test_french_typography(written: str, typeset: str) -> None:
    assert french(written) == typeset


@pytest.mark.parametrize(
    "verbatim",
    [
        "https://example.org/l'etat?a=1&b=«x»:c!",
        "HTTP://X.example/«a»",
        "www.example.org/c'est",
        "`l'id : secnumcloud`",
        "veille@example.org",
    ],
)
def test_links_addresses_and_code_are_left_as_written(verbatim: str) -> None:
    assert french(f"Lien : {verbatim} ; l'État") == f"Lien{NNBSP}: {verbatim}{NNBSP}; l’État"


@pytest.mark.parametrize(
    "text",
    [
        "Règle « x » : l'État ! https://x.org/a'b ?",
        f"déjà «{NNBSP}a{NNBSP}» {NBSP}{NNBSP}:",
        "  « »  ' ? ",
    ],
)
def test_french_is_idempotent(text: str) -> None:
    once = french(text)
    assert french(once) == once


def test_plurals_in_both_languages() -> None:
    assert [plural(n, "essai") for n in (0, 1, 2, 12)] == [
        "0 essai",
        "1 essai",
        "2 essais",
        "12 essais",
    ]
    assert plural(3, "alerte jugée fausse", "alertes jugées fausses") == (
        "3 alertes jugées fausses"
    )
    assert [plural(n, "story", "stories", lang="en") for n in (0, 1, 2)] == [
        "0 stories",
        "1 story",
        "2 stories",
    ]

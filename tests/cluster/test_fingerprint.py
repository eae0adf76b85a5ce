"""Fingerprints: what they keep of an article, and their byte format."""

import struct

import pytest

from monitor.cluster import Fingerprint, fingerprint
from monitor.cluster import text as tx

TITLE = "L'Éducation nationale signe un marché de 74 millions d'euros avec Microsoft"
TEXT = (
    "Le ministère de l'Éducation nationale a attribué à Microsoft, via la centrale d'achat "
    "UGAP, un marché de licences de 74 millions d'euros sur trois ans. Le contrat couvre "
    "Microsoft 365 pour les 1,2 million d'agents du ministère. Le syndicat SNES-FSU demande "
    "la transparence. Selon Health Data Hub et Jean-Noël Barrot, rien ne change. " * 3
)


def test_round_trip_is_exact() -> None:
    fp = fingerprint(TITLE, TEXT, "fr")
    data = fp.to_bytes()
    assert Fingerprint.from_bytes(data) == fp
    assert Fingerprint.from_bytes(data).to_bytes() == data


def test_round_trip_without_text_or_language() -> None:
    fp = fingerprint("Титул", "", None)
    assert fp.minhash == b""
    assert fp.words == 0
    assert Fingerprint.from_bytes(fp.to_bytes()) == fp


def test_round_trip_of_unusual_text() -> None:
    shouted = "ALERTE INFO " + " ".join(["MOT"] * 400) + " " + "9" * 300 + " ﷺ" * 50
    fp = fingerprint(shouted, shouted, "fr")
    assert Fingerprint.from_bytes(fp.to_bytes()) == fp
    assert all(len(k.encode()) <= tx.MAX_TERM_BYTES for k in fp.keys + fp.title + fp.lead)


def test_compact_and_versioned() -> None:
    data = fingerprint(TITLE, TEXT, "fr").to_bytes()
    assert data[0] == 1  # format version first
    assert 512 < len(data) < 1100  # 128 x uint32 MinHash + the term lists


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02" + bytes(20), b"\x01\x00", fingerprint(TITLE, TEXT).to_bytes()[:-3]],
)
def test_bad_bytes_raise_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        Fingerprint.from_bytes(data)


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(ValueError, match="length"):
        Fingerprint.from_bytes(fingerprint(TITLE, TEXT).to_bytes() + b"\x00")


def test_deterministic() -> None:
    assert fingerprint(TITLE, TEXT, "fr").to_bytes() == fingerprint(TITLE, TEXT, "fr").to_bytes()


def test_header_fields() -> None:
    fp = fingerprint(TITLE, TEXT, "fr-FR")
    version, lang, words, shingles, nperm = struct.unpack_from("<B2sIIH", fp.to_bytes())
    assert (version, lang, nperm) == (1, b"fr", 128)
    assert words == fp.words == len(tx.tokens(TEXT))
    assert shingles == fp.shingles == len(tx.shingles(tx.tokens(TEXT)))


def test_language_is_guessed_from_stopwords() -> None:
    assert (
        fingerprint("Titre", "Le contrat est signé avec le ministère et les agents.").lang == "fr"
    )
    assert (
        fingerprint("Title", "The contract was signed with the ministry and the staff.").lang
        == "en"
    )
    assert fingerprint("", "").lang == ""


def test_keys_hold_names_and_amounts_not_topic_words() -> None:
    fp = fingerprint(TITLE, TEXT, "fr")
    assert {"microsoft", "ugap", "74m", "1.2m", "365", "snes", "fsu", "education"} <= set(fp.keys)
    # Topic words are never keys, even capitalized; sentence openers are not names.
    assert not {"ministere", "marche", "le", "selon", "contrat"} & set(fp.keys)


def test_a_name_of_several_words_is_marked_as_such() -> None:
    fp = fingerprint(TITLE, TEXT, "fr")
    sizes = dict(zip(fp.keys, fp.key_sizes, strict=True))
    # "Data" is a topic word, so the name counts two distinctive words.
    assert sizes["health"] == sizes["hub"] == 2
    assert "data" not in sizes
    assert sizes["jean"] == sizes["noel"] == sizes["barrot"] == 3
    assert sizes["microsoft"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("un contrat de 74 millions d'euros", ["74m"]),
        ("74 M€ sur trois ans", ["74m"]),
        ("2,5 milliards d'euros", ["2.5bn"]),
        ("a 2.5 billion deal", ["2.5bn"]),
        ("3Md€ et 30 % de plus", ["3bn", "30%"]),
        ("1 200 postes et 1,200 jobs", ["1200", "1200"]),
        ("en 2024, 3 sites et 240 000 postes", ["240000"]),
        ("le 12 mars", []),
        ("on March 12, 45 people", ["45"]),
    ],
)
def test_numbers_are_normalized(text: str, expected: list[str]) -> None:
    assert list(tx.numbers(text)) == expected


def test_stems_even_out_inflections() -> None:
    assert tx.stem(tx.term("signé", "fr")) == tx.stem(tx.term("signer", "fr"))
    assert tx.stem("qualification") == tx.stem("qualifie")
    assert tx.stem("armees") == tx.stem("armee")
    assert tx.stem("74m") == "74m"


def test_capitalized_words_are_not_lemmatized() -> None:
    # A lemmatizer would turn the town into the verb "cambrer".
    assert tx.term("Cambrai", "fr") == "cambrai"


def test_english_title_case_is_not_taken_for_names() -> None:
    fp = fingerprint("French Armed Forces Renew Controversial Deal", "", "en")
    assert fp.keys == ()
    assert tx.is_title_case("French Armed Forces Renew Controversial Deal")
    assert not tx.is_title_case("Le ministère des Armées renouvelle son contrat")


def test_unspaced_scripts_shingle_by_character() -> None:
    assert tx.tokens("数据中心") == ["数", "据", "中", "心"]

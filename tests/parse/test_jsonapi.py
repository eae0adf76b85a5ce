"""JSON API pages into items: the BOAMP and DECP presets on recorded (invented) pages,
paging by offset and by next link, the cursor across passes, and what is skipped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.config.presets import BOAMP, DECP
from monitor.errors import ParseError
from monitor.parse.identity import content_hash
from monitor.parse.jsonapi import (
    MAX_BODY,
    Cursor,
    JsonPage,
    Paging,
    RecordMapping,
    api_error,
    first_url,
    next_cursor,
    parse_page,
    start_cursor,
    values_at,
)

from support import REPO

DATA = REPO / "tests" / "data" / "json"
NOW = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
PAGING = replace(BOAMP.paging, limit=2)  # the recorded pages were asked with limit=2


def body(name: str) -> bytes:
    return (DATA / name).read_bytes()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def boamp_page(name: str, url: str, **options) -> JsonPage:
    options = {"spec": BOAMP.cursor, "paging": PAGING, **options}
    return parse_page(body(name), url=url, mapping=BOAMP.mapping, **options)


def boamp_pass(cursor: Cursor) -> tuple[list[JsonPage], Cursor | None]:
    """Pass 1 over the three recorded pages, following the next URLs it gives."""
    url = first_url(BOAMP.url, BOAMP.params, PAGING, BOAMP.cursor, cursor)
    pages = []
    for number, name in enumerate(("page1", "page2", "page3"), start=1):
        page = boamp_page(f"boamp-pass1-{name}.json", url, page=number, cursor=cursor)
        pages.append(page)
        url = page.next_url or ""
    assert url == ""
    return pages, next_cursor(cursor, [m for p in pages for m in p.marks])


# -- BOAMP: requests, paging, items -------------------------------------------------------------


def test_the_first_request_carries_the_filter_the_cursor_and_the_page_size():
    params = {**BOAMP.params, "where": 'nature = "ATTRIBUTION"'}
    cursor = start_cursor(NOW, timedelta(days=2))
    sent = query(first_url(BOAMP.url, params, PAGING, BOAMP.cursor, cursor))
    assert sent == {
        "order_by": "dateparution asc, idweb asc",
        "where": "(nature = \"ATTRIBUTION\") AND (dateparution >= date'2025-03-10')",
        "limit": "2",
        "offset": "0",
    }


def test_pages_follow_offsets_until_a_short_page():
    pages, _ = boamp_pass(start_cursor(NOW, timedelta(days=2)))
    assert [query(p.next_url or "").get("offset") for p in pages] == ["2", "4", None]
    assert [p.total for p in pages] == [5, 5, 5]
    keys = [i.key for p in pages for i in p.items]
    assert keys == [f"guid:25-2100{n}" for n in range(1, 6)]
    assert all(not p.warnings for p in pages)


def test_a_notice_becomes_an_item_with_its_structured_fields():
    page = boamp_page("boamp-pass1-page1.json", first_url(BOAMP.url, {}, PAGING))
    award = page.items[1]
    assert award.title == "Fourniture de licences Microsoft 365 et services associés"
    assert award.summary == (
        "Fourniture de licences Microsoft 365 et services associés\n"
        "Informatique (prestations de services)"
    )
    assert award.url == "https://www.boamp.fr/pages/avis/?q=idweb:25-21002"
    assert award.published == datetime(2025, 3, 11, tzinfo=UTC)
    assert dict(award.fields) == {
        "buyer": "Ministère des Armées",
        "awardee": "SOFTWAREONE FRANCE",
        "cpv": ("48000000", "72268000"),  # the notice's and its lots', once each
        "nature": "ATTRIBUTION",
        "descriptor": "Informatique (prestations de services)",
        "department": "75",
        "procedure": "Procédure ouverte",
        "linked": "25-19870",
        "amount": 2_400_000.0,
    }
    tender = page.items[0]
    assert "awardee" not in tender.fields and "amount" not in tender.fields
    assert tender.fields["cpv"] == "72267000"


def test_a_mapa_award_gives_its_amount_and_no_cpv():
    page = boamp_page("boamp-pass1-page2.json", first_url(BOAMP.url, {}, PAGING))
    mapa = page.items[1]
    assert mapa.fields["amount"] == 85_000.0 and "cpv" not in mapa.fields


# -- the cursor and the rectificatif ------------------------------------------------------------


def test_the_cursor_remembers_the_newest_date_and_skips_what_it_read():
    first, cursor = boamp_pass(start_cursor(NOW, timedelta(days=2)))
    assert cursor == Cursor("2025-03-12", ("25-21004", "25-21005"))
    assert Cursor.from_dict(cursor.to_dict()) == cursor
    url = first_url(BOAMP.url, BOAMP.params, BOAMP.paging, BOAMP.cursor, cursor)
    assert query(url)["where"] == "dateparution >= date'2025-03-12'"
    second = boamp_page("boamp-pass2.json", url, cursor=cursor, paging=BOAMP.paging)
    # 25-21005 was read on the 12th: skipped; 25-21006 came later that day.
    assert [i.guid for i in second.items] == ["25-21006", "25-21002", "25-21007"]
    assert next_cursor(cursor, second.marks) == Cursor("2025-03-13", ("25-21002", "25-21007"))
    assert second.next_url is None  # 4 records, fewer than the 100 asked
    assert [i.guid for p in first for i in p.items].count("25-21002") == 1


def test_a_rectificatif_is_the_same_item_with_new_content():
    first, cursor = boamp_pass(start_cursor(NOW, timedelta(days=2)))
    before = next(i for p in first for i in p.items if i.guid == "25-21002")
    url = first_url(BOAMP.url, BOAMP.params, BOAMP.paging, BOAMP.cursor, cursor)
    second = boamp_page("boamp-pass2.json", url, cursor=cursor, paging=BOAMP.paging)
    after = next(i for i in second.items if i.guid == "25-21002")
    assert after.key == before.key and after.url == before.url
    assert content_hash(after.title, after.summary) != content_hash(before.title, before.summary)
    assert after.fields["awardee"] == ("SOFTWAREONE FRANCE", "BECHTLE DIRECT")
    assert after.fields["amount"] == 2_650_000.0


@pytest.mark.parametrize(
    "saved",
    [None, "x", {"value": 3}, {"value": "2025-03-12'); DROP"}, {"value": "yesterday"}],
)
def test_a_broken_saved_cursor_is_no_cursor(saved):
    assert Cursor.from_dict(saved) is None


def test_a_cursor_keeps_its_value_when_a_pass_reads_nothing():
    cursor = Cursor("2025-03-12", ("a",))
    assert next_cursor(cursor, []) == cursor
    assert next_cursor(cursor, [("b", "2025-03-12"), ("c", "2025-03-11")]) == Cursor(
        "2025-03-12", ("a", "b")
    )
    assert next_cursor(None, []) is None


# -- what is skipped, and what fails ------------------------------------------------------------


def test_malformed_records_are_skipped_and_named():
    page = boamp_page("boamp-malformed.json", first_url(BOAMP.url, {}, PAGING), page=9)
    assert [i.guid for i in page.items] == ["25-21103", "25-21104", "25-21107"]
    assert page.warnings == (
        "record 0: not an object, skipped",
        "record 1: no id at 'idweb', skipped",
        "record 2 (25-21103): no date at 'dateparution' for the cursor",
        "record 2 (25-21103): '10/03/2025' at 'dateparution' is not a date",
        "record 3 (25-21104): link 'javascript:alert(1)' is not an http(s) address",
        "record 4 (25-21106): neither title nor text, skipped",
    )
    undated, unlinked = page.items[0], page.items[1]
    assert undated.published is None
    assert unlinked.url == "https://www.boamp.fr/pages/avis/?q=idweb:25-21104"  # the template
    assert "cpv" not in unlinked.fields  # its donnees are not JSON


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"<html>Service unavailable</html>", "invalid JSON from"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'{"total_count": 0, "results": {}}', "no list of records at 'results'"),
        (b'{"total_count": 0}', "no list of records at 'results'"),
        (b" " * (MAX_BODY + 1), "over 20,000,000"),
    ],
)
def test_a_body_that_is_not_a_page_raises(raw, message):
    with pytest.raises(ParseError, match=message):
        parse_page(raw, url=BOAMP.url, mapping=BOAMP.mapping, paging=PAGING, source_id="boamp")


def test_opendatasoft_error_bodies_give_their_message():
    assert api_error(body("opendatasoft-error-400.json")) == (
        "InvalidRESTParameterError: Invalid value for sum of offset + limit API parameter: "
        "10100 was found but <= 10000 is expected."
    )
    assert api_error(body("opendatasoft-error-429.json")).startswith("TooManyRequests: ")
    assert api_error(body("boamp-pass1-page1.json")) is None
    assert api_error(b"<html>") is None
    with pytest.raises(ParseError, match="answered an error: InvalidRESTParameterError"):
        boamp_page("opendatasoft-error-400.json", BOAMP.url)


def test_offsets_stop_at_the_api_ceiling_and_passes_at_max_pages():
    # Two records of fifty matching: the ceiling, not the total, ends the pass.
    many = body("boamp-pass1-page1.json").replace(b'"total_count": 5', b'"total_count": 50')
    ceiling = replace(PAGING, max_offset=6)
    url = first_url(BOAMP.url, {}, ceiling)

    def at(offset: str, paging: Paging = ceiling, page: int = 1) -> JsonPage:
        at_url = url.replace("offset=0", f"offset={offset}")
        return parse_page(many, url=at_url, mapping=BOAMP.mapping, paging=paging, page=page)

    assert query(at("2").next_url or "")["offset"] == "4"
    stopped = at("4")
    assert stopped.next_url is None
    assert stopped.warnings == (
        "stopped at record 6: the API reads no further than 6; narrow the filter",
    )
    last = at("0", replace(PAGING, max_pages=3), page=3)
    assert last.next_url is None
    assert last.warnings == (
        "read 3 pages, the most a pass reads; the rest comes on the next pass",
    )


def test_records_beyond_max_items_are_not_read():
    page = boamp_page("boamp-pass1-page1.json", BOAMP.url, max_items=1)
    assert [i.guid for i in page.items] == ["25-21001"] and len(page.marks) == 1


# -- filters on fields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("require", "kept"),
    [
        ({"cpv": ("48",)}, ["25-21002", "25-21005"]),
        ({"cpv": ("48", "72")}, ["25-21001", "25-21002", "25-21003", "25-21005"]),
        ({"buyer": ("ministere",)}, ["25-21002"]),
        ({"buyer": ("centre hospit", "commune")}, ["25-21003", "25-21004"]),
        ({"cpv": ("72",), "buyer": ("région",)}, ["25-21001"]),
        ({"cpv": ("26",)}, []),
    ],
)
def test_required_fields_keep_matching_records_only(require, kept):
    mapping = replace(BOAMP.mapping, require=require)
    pages = [
        parse_page(body(f"boamp-pass1-page{n}.json"), url=BOAMP.url, mapping=mapping, paging=PAGING)
        for n in (1, 2, 3)
    ]
    assert [i.guid for p in pages for i in p.items] == kept


# -- DECP and paging by next link ---------------------------------------------------------------


def test_decp_rows_become_contracts_with_siret_awardees():
    page = parse_page(
        body("decp-page.json"),
        url=DECP.url,
        mapping=DECP.mapping,
        paging=DECP.paging,
        spec=DECP.cursor,
    )
    assert [i.guid for i in page.items] == [
        "11000000000017/2025MAR001",
        "21000000000016/2025-014",
        "21000000000016/2025-014",  # the amendment row: same contract, same key
        "26000000000011/25-077",
        "26000000000011/25-078",
    ]
    framework, shared = page.items[0], page.items[1]
    assert dict(framework.fields) == {
        "buyer": "11000000000017",
        "awardee": "10000000000018",  # "CDL" in the co-awardee columns means none
        "cpv": "48300000",
        "nature": "Accord-cadre",
        "procedure": "Appel d'offres ouvert",
        "amount": 1_850_000.0,
        "duration": 36.0,
    }
    assert shared.fields["awardee"] == ("20000000000015", "30000000000012")
    assert shared.fields["amount"] == 420_000.5
    assert "amount" not in page.items[4].fields
    assert page.warnings == (
        "record 4 (26000000000011/25-078): 'montant inconnu' in 'amount' is not a number",
    )
    assert page.next_url is None and page.total == 5


TABULAR = RecordMapping(
    records="data",
    id="uid",
    title="objet",
    date="datePublicationDonnees",
    text="objet",
    fields={"buyer": "acheteur_nom", "awardee": "titulaire_nom", "cpv": "codeCPV"},
    numbers={"amount": "montant"},
)
NEXT = Paging(style="next", next="links.next", limit=2, limit_param="page_size")
TABULAR_URL = (
    "https://tabular-api.data.gouv.fr/api/resources/00000000-0000-4000-8000-000000000001/data/"
)


def test_pages_follow_next_links():
    url = first_url(TABULAR_URL, {"datePublicationDonnees__sort": "asc"}, NEXT)
    assert query(url) == {"datePublicationDonnees__sort": "asc", "page_size": "2"}
    first = parse_page(body("tabular-page1.json"), url=url, mapping=TABULAR, paging=NEXT)
    assert first.next_url == TABULAR_URL + "?page=2&page_size=2"
    second = parse_page(
        body("tabular-page2.json"), url=first.next_url, mapping=TABULAR, paging=NEXT, page=2
    )
    assert second.next_url is None and not second.warnings
    items = first.items + second.items
    assert [i.fields["awardee"] for i in items] == [
        "MICROSOFT FRANCE",
        "INTEGRATEUR EXEMPLE",
        "TRAVAUX EXEMPLE",
    ]


def test_a_next_link_to_another_host_is_not_followed():
    here = TABULAR_URL.encode() + b"?page=2"
    raw = body("tabular-page1.json").replace(here, b"https://elsewhere.example/?page=2")
    page = parse_page(raw, url=TABULAR_URL, mapping=TABULAR, paging=NEXT)
    assert page.next_url is None
    assert page.warnings == (
        "next page https://elsewhere.example/?page=2&page_size=2 is not on the source's host: "
        "not followed",
    )


def test_paths_walk_lists_and_read_json_held_in_strings():
    record = {"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}], "j": '{"k": {"l": "x"}}', "s": "{broken"}
    embedded: dict[int, object] = {}
    assert values_at(record, "a.b", embedded) == [1, [2, 3]]
    assert values_at(record, "j.k.l", embedded) == ["x"]
    assert values_at(record, "s.k", embedded) == []
    assert values_at(record, "j", embedded) == ['{"k": {"l": "x"}}']  # a leaf stays a string
    deep: object = "x"
    for _ in range(17):
        deep = {"a": deep}
    assert values_at(deep, ".".join(["a"] * 16), embedded) == [{"a": "x"}]
    assert values_at(deep, ".".join(["a"] * 17), embedded) == []  # over 16 keys: not followed

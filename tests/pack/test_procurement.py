"""The shipped procurement rule on the recorded BOAMP pages, through the preset's mapping:
notices become documents with their fields, and the rule fires on the US-vendor awards."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.config import Config
from monitor.config.presets import BOAMP
from monitor.match import Document
from monitor.parse.jsonapi import parse_page
from monitor.preflight import load_checked
from monitor.records import FeedItem

from support import REPO

PAGES = (
    "boamp-pass1-page1.json",
    "boamp-pass1-page2.json",
    "boamp-pass1-page3.json",
    "boamp-pass2.json",
)


@pytest.fixture(scope="module")
def shipped() -> Config:
    return load_checked(REPO, {})


def notices() -> list[FeedItem]:
    paging = replace(BOAMP.paging, limit=2)
    return [
        item
        for name in PAGES
        for item in parse_page(
            (REPO / "tests" / "data" / "json" / name).read_bytes(),
            url=BOAMP.url,
            mapping=BOAMP.mapping,
            paging=paging,
        ).items
    ]


def document(item: FeedItem) -> Document:
    return Document(title=item.title, text=item.summary, lang="fr", fields=item.fields)


def test_the_rule_fires_on_the_us_vendor_awards_only(shipped: Config) -> None:
    fired = {
        item.guid: [m.rule_id for m in shipped.ruleset.match(document(item))] for item in notices()
    }
    us_vendor = {guid for guid, rules in fired.items() if "procurement-us-vendor" in rules}
    # Microsoft, Palantir, AWS as awardees; a reseller for a Microsoft 365 licence contract
    # (in both versions of the corrected notice).
    assert us_vendor == {"25-21002", "25-21003", "25-21005", "25-21007"}


def test_an_alert_shows_the_awardee_that_made_it(shipped: Config) -> None:
    (item,) = [i for i in notices() if i.guid == "25-21003"]
    (match,) = [
        m for m in shipped.ruleset.match(document(item)) if m.rule_id == "procurement-us-vendor"
    ]
    assert match.clauses == ("awardee:@us_vendors",)
    assert [(p.field, p.highlighted()) for p in match.passages] == [
        ("awardee", "[[MICROSOFT]] IRELAND OPERATIONS LIMITED")
    ]

"""canonical_url: one key for the tracking, AMP and cosmetic variants of an article URL."""

import pytest

from monitor.cluster import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Tracking parameters go, whatever their case; the rest stays.
        (
            "https://www.lemonde.fr/pixels/article/a_1.html?utm_source=twitter&utm_medium=social",
            "https://lemonde.fr/pixels/article/a_1.html",
        ),
        (
            "https://example.fr/a?id=3&fbclid=IwAR0x&gclid=Cj0&Utm_Campaign=x",
            "https://example.fr/a?id=3",
        ),
        (
            "https://www.franceinfo.fr/a.html?xtor=RSS-3208&at_medium=rss&at_campaign=flux",
            "https://franceinfo.fr/a.html",
        ),
        ("https://example.fr/a?ns_source=x&mc_cid=1&_ga=2&page=2", "https://example.fr/a?page=2"),
        # AMP: host prefix, path segment, trailing segment, suffix, query switch, Google cache.
        (
            "https://amp.lefigaro.fr/secteur/high-tech/article.amp.html?at_medium=rss",
            "https://lefigaro.fr/secteur/high-tech/article.html",
        ),
        (
            "https://www.20minutes.fr/amp/high-tech/4060503-article",
            "https://20minutes.fr/high-tech/4060503-article",
        ),
        ("https://www.lesechos.fr/tech/a-2108558/amp", "https://lesechos.fr/tech/a-2108558"),
        ("https://www.numerama.com/tech/1234-x.amp", "https://numerama.com/tech/1234-x"),
        ("https://example.fr/a?amp", "https://example.fr/a"),
        ("https://example.fr/a?amp=1&id=3", "https://example.fr/a?id=3"),
        ("https://example.com/a?outputType=amp", "https://example.com/a"),
        ("https://example.com/a?outputType=json", "https://example.com/a?outputType=json"),
        (
            "https://www-lemonde-fr.cdn.ampproject.org/c/s/www.lemonde.fr/pixels/x.html?amp",
            "https://lemonde.fr/pixels/x.html",
        ),
        # "amp" inside a word is not AMP.
        ("https://example.com/amplifier/x", "https://example.com/amplifier/x"),
        ("https://example.com/camp/x", "https://example.com/camp/x"),
        # Fragments go, hash-bang routes stay.
        ("https://example.fr/a#comments", "https://example.fr/a"),
        ("https://example.fr/#!/article/12", "https://example.fr/#!/article/12"),
        # Scheme and host case, default ports, www., user info; path case is kept.
        ("HTTPS://WWW.Example.FR:443/Path/A", "https://example.fr/Path/A"),
        ("http://example.fr:80/a", "http://example.fr/a"),
        ("http://example.fr:8080/a", "http://example.fr:8080/a"),
        ("https://user:secret@example.fr/a", "https://example.fr/a"),
        ("https://example.fr", "https://example.fr/"),
        ("https://www.co/a", "https://www.co/a"),
        # Remaining parameters sorted by name; repeated names keep their order.
        ("https://example.fr/s?q=cloud&b=2&a=1", "https://example.fr/s?a=1&b=2&q=cloud"),
        ("https://example.fr/s?tag=z&a=1&tag=b", "https://example.fr/s?a=1&tag=z&tag=b"),
        # Values are kept as written (only escapes are normalized); bare flags stay bare.
        ("https://example.fr/s?q=caf%c3%a9+cloud", "https://example.fr/s?q=caf%C3%A9+cloud"),
        ("http://www.example.fr/spip.php?article8532", "http://example.fr/spip.php?article8532"),
        ("https://example.fr/%7euser/a", "https://example.fr/~user/a"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        # Not http(s), or not a URL: returned stripped, unchanged.
        ("  mailto:redaction@example.fr ", "mailto:redaction@example.fr"),
        ("pas une adresse", "pas une adresse"),
        ("https://example.fr:99999/a", "https://example.fr:99999/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_variants_of_one_article_share_one_key() -> None:
    variants = [
        "https://www.lemonde.fr/pixels/article/2024/03/12/x_123.html",
        "https://lemonde.fr/pixels/article/2024/03/12/x_123.html",
        "https://www.lemonde.fr/pixels/article/2024/03/12/x_123.html?utm_source=rss#xtor=RSS",
        "https://amp.lemonde.fr/pixels/article/2024/03/12/x_123.html?amp",
        "https://www.lemonde.fr/amp/pixels/article/2024/03/12/x_123.html",
        "HTTPS://WWW.LEMONDE.FR:443/pixels/article/2024/03/12/x_123.html?fbclid=abc",
    ]
    assert {canonical_url(v) for v in variants} == {
        "https://lemonde.fr/pixels/article/2024/03/12/x_123.html"
    }


def test_scheme_is_kept() -> None:
    # Forcing https could break an http-only site: the two stay apart.
    assert canonical_url("http://example.fr/a") != canonical_url("https://example.fr/a")


def test_idempotent() -> None:
    url = "https://amp.example.fr/a/amp/?b=2&utm_source=x&a=1#top"
    once = canonical_url(url)
    assert once == "https://example.fr/a/?a=1&b=2"
    assert canonical_url(once) == once

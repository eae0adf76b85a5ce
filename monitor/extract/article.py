"""Article text and metadata with trafilatura; runs inside the worker pool."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree

from monitor.match.lemmas import language_shares
from monitor.parse.encoding import decode
from monitor.parse.text import clean_text
from monitor.records import ExtractedPage

if TYPE_CHECKING:
    from trafilatura.settings import Document

log = logging.getLogger(__name__)
MIN_TEXT = 200  # characters; below this, extraction most likely missed the article
LEAD_MAX = 1000  # a longer feed summary is the article itself, not its lead
# trafilatura's comparison with other extractors is 40 % of its time. On the corpus
# (bench/extract_quality.py) it changes the text of no page whose text without it is
# this long, and rescues several shorter ones (menus or a teaser taken for the article):
# those, and pages it finds no text in, are extracted again with it.
FAST_TEXT_MIN = 1000
_LANGS = ("fr", "en")
# htmldate (through trafilatura): the publication date, not the last update, with its
# time. The quick search reads the page's metadata and markup; the extensive one also
# parses free text with dateparser, which costs about a fifth of all extraction CPU
# (bench/extract_dates.py) and is only worth it when nothing else dates the article.
_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,
    "extensive_search": False,
}

# schema.org's flag for paywalled articles (Le Monde, Les Echos, Le Figaro, Mediapart...),
# and the Open Graph tier of the same thing.
_NOT_FREE = re.compile(rb""""isAccessibleForFree"\s*:\s*"?false""", re.IGNORECASE)
_LOCKED_TIER = re.compile(
    rb"""<meta[^>]+property=["']article:content_tier["'][^>]+content=["'](locked|metered)""",
    re.IGNORECASE,
)
# What a truncated article says at its end, once extracted (not the "subscribers only"
# badges of related-article lists, which sit outside the article text).
_PAYWALL_TEXT = re.compile(
    r"(il vous reste \d+\s?% de cet article|la suite (de cet article )?est réservée? aux abonnés"
    r"|réservé aux abonnés|abonnez-vous pour (lire|accéder)|pour lire la suite"
    r"|cet article est réservé|subscribe to (continue|read)|this article is for subscribers)",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(
    r"(\s*(\[(…|\.\.\.)\]|\((…|\.\.\.)\)|…|\.\.\.|lire la suite\W*|read more\W*))+\s*$",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"\W+")


def narrow_fallback_stopwords() -> None:
    """trafilatura's last-resort extractor (jusText) sorts paragraphs by their share of
    stopwords. Without a page language it takes the stopwords of all the 100 languages
    it knows, 25 MB in every worker. Our sources write French and English: their two
    lists give the same text on every French and English page of the corpus (275 pages,
    checked when this was written), for 381 + 453 words."""
    import trafilatura.external
    from justext.utils import get_stoplist

    words = set(get_stoplist("French")) | set(get_stoplist("English"))
    setattr(trafilatura.external, "JT_STOPLIST", tuple(sorted(words)))  # noqa: B010


def skip_unused_metadata() -> None:
    """trafilatura reads every page's categories, tags and licence, searching the whole
    tree several times: about a fifth of its quick extraction, for fields nothing here
    reads. When a page's meta tags name no author, it also searches the markup for a
    byline (a deep copy of the tree and XPath scans), a fourth of a quick extraction
    (3.9 ms a page on the corpus) for a field no alert, digest or page shows. In the
    workers, those readers find nothing (when they exist under these names; otherwise
    they just keep their cost): the author is the feed's, or the page's meta tags'."""
    import trafilatura.metadata

    for name, reader in (
        ("extract_catstags", _no_categories),
        ("extract_license", _no_license),
        ("extract_author", _no_byline),
    ):
        if hasattr(trafilatura.metadata, name):
            setattr(trafilatura.metadata, name, reader)


def _no_categories(_kind: str, _tree: object) -> list[str]:
    return []


def _no_license(_tree: object) -> None:
    return None


def _no_byline(_tree: object) -> None:
    return None


def extract_page(
    body: bytes,
    *,
    url: str,
    charset: str | None = None,
    date_known: bool = False,
) -> ExtractedPage | None:
    """Clean text and metadata of an article page, or None if no article text was found.

    The page's date is searched for in its metadata and markup; in its free text too
    (slower) only when the page gives none that way and the caller has none
    (`date_known`: the feed dated the item)."""
    html, _ = decode(body, charset)
    if not html.strip():
        return None
    try:
        document = _extracted(html, url, fast=True)
        if document is None or len(document.text or "") < FAST_TEXT_MIN:
            document = _extracted(html, url, fast=False)
    except (ValueError, TypeError, AttributeError, etree.LxmlError, RecursionError) as exc:
        # A page that trips the extractor is a page without text, not a failed source.
        log.warning("extraction failed on %s: %r", url, exc)
        return None
    if document is None:
        return None
    title = clean_text(document.title or "") or None
    text = without_headline(clean_text(document.text or ""), title)
    if not text:
        return None
    date = document.date or (None if date_known else _date_searched(html, url))
    return ExtractedPage(
        text=text,
        title=title,
        author=clean_text(document.author or "") or None,
        published=_date(date),
        site_name=clean_text(document.sitename or "") or None,
        lang=_html_lang(html) or detect_language(text),
        description=clean_text(document.description or "") or None,
        paywalled=is_paywalled(body, text),
    )


def _extracted(html: str, url: str, *, fast: bool) -> Document | None:
    """trafilatura's text and metadata of a page; `fast` skips its comparison with other
    extractors (readability, jusText). Imported here: workers load it when they start,
    the main process never needs it."""
    import trafilatura

    document = trafilatura.bare_extraction(
        html,
        url=url,
        fast=fast,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        date_extraction_params=dict(_DATE_PARAMS),
    )
    return None if isinstance(document, dict) else document  # dict: only when asked for one


def is_paywalled(body: bytes, text: str) -> bool:
    head = body[:500_000]
    if _NOT_FREE.search(head) or _LOCKED_TIER.search(head):
        return True
    return bool(_PAYWALL_TEXT.search(text[-600:]))


def with_lead(text: str, lead: str | None) -> str | None:
    """`text` with `lead` (a chapô: the feed summary or og:description) put first, or None
    when the text already contains it or it is no lead (empty, or a whole article).

    Many French sites print the chapô outside the article body, where trafilatura does
    not look; the chapô is what says what happened, so it must be in the text."""
    lead = _ELLIPSIS.sub("", clean_text(lead or ""))
    if len(lead) < 20 or len(lead) > LEAD_MAX:
        return None
    probe = _words(lead)[:120].rsplit(" ", 1)[0] if len(_words(lead)) > 120 else _words(lead)
    if probe in _words(text):
        return None
    return f"{lead}\n\n{text}"


def without_headline(text: str, title: str | None) -> str:
    """`text` without a first line that repeats the title (a page's <h1> inside its
    article element): the lead is the text's first sentences, and a repeated headline
    would push the sentence that states the event out of it."""
    first, _, rest = text.partition("\n")
    headline = _words(first)
    if title and headline and len(headline) >= 12 and _words(title).startswith(headline):
        return rest.strip()
    return text


def _words(text: str) -> str:
    return _NON_WORD.sub(" ", text.casefold()).strip()


def _date_searched(html: str, url: str) -> str | None:
    """The page's date found anywhere in it, free text included (htmldate's extensive
    search): the last resort for an article nothing else dates.

    A year standing alone in the text (« depuis 2019 », a copyright line) comes back as
    1 January of that year: that dates something the article mentions, not the article,
    and would make today's news look years old (no immediate alert, the wrong story).
    The article is then left undated, placed in time by when it is first seen (so is a
    page that did come out on 1 January and says so in its text only). Of the excerpts
    of the labeled press sets served without a date, 151 of the 199 the search dates get
    a 1 January; of the real corpus pages, one in 275."""
    from htmldate import find_date

    try:
        found = find_date(
            html,
            url=url,
            extensive_search=True,
            original_date=True,
            outputformat=str(_DATE_PARAMS["outputformat"]),
        )
    except (ValueError, TypeError, AttributeError, etree.LxmlError, RecursionError):
        return None
    parsed = _date(found)
    return None if parsed is None or (parsed.month, parsed.day) == (1, 1) else found


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _html_lang(html: str) -> str | None:
    try:
        root = lxml.html.document_fromstring(html[:20000])
    except (etree.ParserError, ValueError):
        return None
    lang = (
        root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    ).strip()
    return lang.split("-")[0].lower() or None


def detect_language(text: str) -> str | None:
    """fr or en (the languages of this service's sources), when the text tells clearly."""
    # The small dictionaries: those the workers lemmatize with (`use_frugal_dictionaries`).
    best, score = language_shares(text[:3000], _LANGS)[0]
    return best if best in _LANGS and score >= 0.3 else None

"""Decode HTML and XML bytes whose declared charset may be missing or wrong.

Order of trust: a byte-order mark, then the HTTP header, then the document's
own declaration (XML declaration or <meta charset>), then sniffing. A
declaration is only believed when the bytes decode under it without error;
and a document declared in a single-byte charset (which decodes anything)
whose non-ASCII bytes form valid UTF-8 is read as UTF-8: that lie (Latin-1
declared, UTF-8 sent) is by far the most common one on French sites, and
non-ASCII text in a single-byte charset almost never happens to be valid UTF-8.

Feeds go through the same decoding (`xml_as_utf8`) before feedparser sees
them, because feedparser believes a lying HTTP header.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_XML_DECL_TEXT = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:-]+)(["'])""")
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_SINGLE_BYTE_LATIN = {"iso8859-1", "cp1252", "iso8859-15", "latin-1", "latin_1"}
_AMBIGUOUS_LATIN = {"cp1250", "iso8859-2", "cp1257", "iso8859-4", "iso8859-13", "mac-roman"}


def declared_charsets(body: bytes, header_charset: str | None) -> list[str]:
    """Charsets claimed for `body`, most trusted first, normalized and without repeats."""
    head = body[:4096]
    claims = [header_charset]
    found = _XML_DECL.search(head)
    claims.append(found.group(1).decode("ascii") if found else None)
    found = _META.search(head)
    claims.append(found.group(1).decode("ascii") if found else None)
    result: list[str] = []
    for claim in claims:
        name = codec_name(claim)
        if name and name not in result:
            result.append(name)
    return result


def decode(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """The text of `body` and the charset used to read it."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body.decode(name, errors="replace"), name.removesuffix("-sig")
    for name in declared_charsets(body, header_charset):
        if _single_byte(name) and _is_utf8_with_non_ascii(body):
            return body.decode("utf-8"), "utf-8"
        try:
            return body.decode(name), name
        except UnicodeDecodeError:
            continue
    if _is_utf8_with_non_ascii(body) or body.isascii():
        return body.decode("utf-8"), "utf-8"
    return _sniff(body)


def xml_as_utf8(body: bytes, header_charset: str | None = None) -> tuple[bytes, str]:
    """An XML document re-encoded as UTF-8 (its declaration rewritten to say so), and the
    charset it was read in. Bodies without any non-ASCII byte are returned as they are."""
    if body.isascii():
        return body, "ascii"
    text, charset = decode(body, header_charset)
    text = _XML_DECL_TEXT.sub(r"\g<1>utf-8\g<3>", text.lstrip("\ufeff"), count=1)
    return text.encode("utf-8"), charset


def _single_byte(name: str) -> bool:
    """Whether every byte is one character in `name` (so that it decodes anything)."""
    if name in _SINGLE_BYTE_LATIN or name in _AMBIGUOUS_LATIN:
        return True
    if name in ("utf-8", "ascii"):
        return False
    try:
        return len(codecs.decode(bytes(range(256)), name, errors="replace")) == 256
    except LookupError:
        return False


def _sniff(body: bytes) -> tuple[str, str]:
    best = from_bytes(body[:200_000]).best()
    name = codec_name(best.encoding) if best else None
    # On a short or mostly-ASCII sample the detector hesitates between single-byte Latin
    # charsets; Windows-1252 is what French pages use, so it wins those ties.
    if name is None or name in _SINGLE_BYTE_LATIN or name in _AMBIGUOUS_LATIN:
        try:
            return body.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            name = name or "cp1252"
    return body.decode(name, errors="replace"), name


def codec_name(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    # Browsers read "iso-8859-1" as windows-1252 (WHATWG Encoding), and so do French sites' authors.
    return "cp1252" if name == "iso8859-1" else name


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

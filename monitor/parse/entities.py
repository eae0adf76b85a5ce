"""Entity declarations removed from a feed's prolog before feedparser reads it.

expat refuses a feed that declares entities, and feedparser then falls back to
its loose parser, which expands every "safe" declared entity at each reference
with no limit: a 130 KB feed of `&a;` made a 1 GB summary. The declarations are
dropped, so a reference stays as text (`&a;`). Only the first `DOCTYPE_SCAN`
bytes are searched, with plain `find` calls (no regex, no backtracking).
"""

from __future__ import annotations

from monitor.errors import ParseError
from monitor.parse.limits import DOCTYPE_SCAN

REFUSED = "feed declares XML entities: refused"


def without_entity_declarations(data: bytes, url: str, source_id: str) -> bytes:
    """`data` with its DOCTYPE's internal subset (`[ <!ENTITY ...> ]`) removed; a ParseError
    when declarations sit where they cannot be removed safely."""
    start = _first_element(data)
    if start < 0:
        # No root element within the scanned bytes: the prolog is too long to clean. feedparser
        # looks for "<!ENTITY" (that case only) in the whole prolog: a plain `in` covers it.
        if b"<!ENTITY" in data or b"<!entity" in data[:DOCTYPE_SCAN].lower():
            raise ParseError(source_id, f"{REFUSED} ({url}: prolog over {DOCTYPE_SCAN:,} bytes)")
        return data
    head = data[:start]
    lowered = head.lower()
    if b"<!entity" not in lowered:
        return data
    doctype = lowered.find(b"<!doctype")
    opening = lowered.find(b"[", doctype) if doctype >= 0 else -1
    closing = lowered.rfind(b"]")
    if opening < 0 or closing < opening:
        raise ParseError(source_id, f"{REFUSED} ({url}: declarations outside a DOCTYPE)")
    cleaned = head[:opening] + head[closing + 1 :]
    if b"<!entity" in cleaned.lower():
        raise ParseError(source_id, f"{REFUSED} ({url}: declarations outside a DOCTYPE)")
    return cleaned + data[start:]


def _first_element(data: bytes) -> int:
    """Offset of the first start tag (`<` then a letter) within the scanned bytes, else -1."""
    position = data.find(b"<", 0, DOCTYPE_SCAN)
    while 0 <= position < DOCTYPE_SCAN - 1:
        if data[position + 1 : position + 2].isalpha():
            return position
        position = data.find(b"<", position + 1, DOCTYPE_SCAN)
    return -1

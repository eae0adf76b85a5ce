"""JSON documents read for the JSON Feed and JSON API parsers, hostile input refused.

`json.loads` raises more than JSONDecodeError: a number of over 4,300 digits is
a plain ValueError (Python's int-from-string limit) and deep nesting is a
RecursionError. Each becomes a ParseError naming the source and the URL, and
nesting beyond MAX_JSON_DEPTH is refused too, so nothing downstream recurses.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.errors import ParseError
from monitor.parse.limits import MAX_JSON_DEPTH


def load_json(body: bytes, url: str, source_id: str) -> Any:
    try:
        document = json.loads(body)  # bytes: UTF-8 (BOM or not), UTF-16 or UTF-32
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the int-from-string limit
        # The int limit's message ends with advice to the programmer ("; use sys.set_...").
        raise ParseError(source_id, f"invalid JSON from {url}: {str(exc).split(';')[0]}") from None
    except RecursionError:
        raise ParseError(source_id, _too_deep(url)) from None
    if _depth_over(document, MAX_JSON_DEPTH):
        raise ParseError(source_id, _too_deep(url))
    return document


def _too_deep(url: str) -> str:
    return f"JSON from {url} is nested too deeply (over {MAX_JSON_DEPTH} levels)"


def _depth_over(document: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (walked without recursion)."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children)
    return False

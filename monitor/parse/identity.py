"""Stable identities: which feed entry is which, and whether its content changed."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit


def entry_key(guid: str | None, url: str | None, title: str, summary: str) -> str:
    """guid, else link, else a hash of title and summary (miniflux's order of trust)."""
    if guid and guid.strip():
        return "guid:" + guid.strip()
    if url and url.strip():
        return "url:" + url.strip()
    return "hash:" + digest(title + "\n" + summary)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def content_hash(title: str, text: str) -> str:
    """Changes when what a reader sees changes; whitespace alone does not count."""
    return digest(" ".join(title.split()) + "\n" + " ".join(text.split()))


def is_http(url: str | None) -> bool:
    return bool(url) and urlsplit(url or "").scheme.lower() in ("http", "https")

"""Stage 2: bytes into feed items (feeds, listing pages, sitemaps, watched regions)."""

from monitor.parse.feed import parse_feed

__all__ = ["parse_feed"]

"""Stage 1: bytes from the network, politely and safely."""

from monitor.fetch.client import FEED_ACCEPT, PAGE_ACCEPT, HttpClient

__all__ = ["FEED_ACCEPT", "PAGE_ACCEPT", "HttpClient"]

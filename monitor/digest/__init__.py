"""The daily digest: which period is due, what it holds, how it reads."""

from monitor.digest.builder import DigestContent, Digests

__all__ = ["DigestContent", "Digests"]

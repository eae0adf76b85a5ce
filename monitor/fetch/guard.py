"""Refuse to connect to loopback, private, link-local and other non-public addresses.

Feed and article URLs come from strangers. The check runs after DNS resolution
(a public name may point at 127.0.0.1 or at a cloud metadata service), in the
connector's resolver, so it applies to every connection, including each
redirect hop; IP literals, which aiohttp does not resolve, are checked before
each request by `check_literal_host`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class BlockedAddressError(OSError):
    """Raised inside the connector; surfaces as aiohttp's ClientConnectorError.os_error."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_allowed(address: str, allowed: Sequence[Network] = ()) -> bool:
    """Public addresses, plus those of the networks the operator allowed explicitly."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed):
        return True
    return ip.is_global and not ip.is_multicast


def check_literal_host(host: str, allowed: Sequence[Network] = ()) -> None:
    """Raise BlockedAddressError when `host` is an IP literal that is not allowed."""
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return  # a name: the resolver checks what it resolves to
    if not is_allowed(bare, allowed):
        raise BlockedAddressError(f"refusing non-public address {host}")


class PublicOnlyResolver(AbstractResolver):
    """A resolver that drops non-public answers and fails when none is left."""

    def __init__(
        self, allowed: Sequence[Network] = (), inner: AbstractResolver | None = None
    ) -> None:
        self._allowed = tuple(allowed)
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        public = [a for a in answers if is_allowed(a["host"], self._allowed)]
        if not public:
            found = ", ".join(sorted({a["host"] for a in answers}))
            raise BlockedAddressError(f"refusing {host}: resolves to non-public address {found}")
        return public

    async def close(self) -> None:
        await self._inner.close()


def blocked_reason(exc: BaseException) -> str | None:
    """The guard's message if `exc` (or what it wraps) comes from the guard."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BlockedAddressError):
            return str(current)
        current = getattr(current, "os_error", None) or current.__cause__
    return None

"""Refuse to connect to loopback, private, link-local and other non-public addresses.

Feed and article URLs come from strangers. The check runs after DNS resolution
(a public name may point at 127.0.0.1 or at a cloud metadata service), in the
connector's resolver, so it applies to every connection, including each
redirect hop; IP literals, which aiohttp does not resolve, are checked before
each request by `check_literal_host`.

Two kinds of spelling hide an address from a naive check. Legacy IPv4 forms
(`2130706433`, `127.1`, `0177.0.0.1`, `0x7f000001`) are read as addresses by
inet_aton and getaddrinfo, while `ipaddress` takes them for names; aiohttp
3.11.0 to 3.14.0 even connected to them without asking the resolver (fixed in
3.14.1, aio-libs/aiohttp#12827). Any such non-canonical spelling is refused
here, public or not. And IPv6 forms carry an IPv4 address inside (mapped,
compatible, NAT64, 6to4): the address inside is judged.
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
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are IPv4
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291, deprecated: ::a.b.c.d


def is_allowed(address: str, allowed: Sequence[Network] = ()) -> bool:
    """Public addresses, plus those of the networks the operator allowed explicitly."""
    return _is_allowed_ip(ipaddress.ip_address(address.split("%", 1)[0]), allowed)


def _is_allowed_ip(ip: IPAddress, allowed: Sequence[Network]) -> bool:
    if any(ip in network for network in allowed):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return _is_allowed_ip(inner, allowed)
        if ip.is_site_local:  # fec0::/10: deprecated, but still routed inside some networks
            return False
    return ip.is_global and not ip.is_multicast


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped
    (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4
    (2002:AABB:CCDD::, the address in bits 16 to 48)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address inet_aton reads in `host` when it is not a canonical dotted quad
    (`2130706433`, `127.1`, `0177.0.0.1`, `0x7f.0.0.1`); None for a name or a quad."""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return ipaddress.IPv4Address(packed)
    return None


def check_literal_host(host: str, allowed: Sequence[Network] = ()) -> None:
    """Raise BlockedAddressError when `host` is an IP literal that is not allowed, or a
    legacy numeric spelling of an IPv4 address (refused whatever the address)."""
    bare = host.strip("[]").rstrip(".")
    legacy = legacy_ipv4(bare)
    if legacy is not None:
        raise BlockedAddressError(f"refusing non-canonical IPv4 address {host} (reads as {legacy})")
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

"""Read a response body with a hard size cap, decompressing it ourselves.

aiohttp's automatic decompression inflates a whole chunk at once, so a few
kilobytes of gzip could become gigabytes in memory before any check runs.
Here each step is inflated with `max_length`, and the cap applies to the
decompressed size.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator


class BodyTooLarge(Exception):
    def __init__(self, limit: int, decompressed: bool) -> None:
        self.limit = limit
        what = "decompressed body" if decompressed else "body"
        super().__init__(f"{what} larger than the {limit:,} byte limit")


class BadEncoding(Exception):
    pass


def _decompressor(encoding: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    if encoding in ("", "identity"):
        return None
    raise BadEncoding(f"unsupported Content-Encoding {encoding!r}")


async def read_capped(chunks: AsyncIterator[bytes], encoding: str, limit: int) -> bytes:
    inflater = _decompressor(encoding)
    out = bytearray()
    raw_size = 0
    async for chunk in chunks:
        raw_size += len(chunk)
        if inflater is None:
            out += chunk
            if len(out) > limit:
                raise BodyTooLarge(limit, decompressed=False)
            continue
        if raw_size > limit:
            raise BodyTooLarge(limit, decompressed=False)
        _inflate_into(out, inflater, chunk, limit)
    if inflater is not None:
        out += inflater.flush()
        if len(out) > limit:
            raise BodyTooLarge(limit, decompressed=True)
    return bytes(out)


def _inflate_into(out: bytearray, inflater: zlib._Decompress, chunk: bytes, limit: int) -> None:
    data = chunk
    while data:
        try:
            piece = inflater.decompress(data, limit - len(out) + 1)
        except zlib.error as exc:
            raise BadEncoding(f"corrupt compressed body: {exc}") from exc
        out += piece
        if len(out) > limit:
            raise BodyTooLarge(limit, decompressed=True)
        data = inflater.unconsumed_tail
        if not piece and data:
            break

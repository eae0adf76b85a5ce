"""MinHash of a set of shingles: 128 32-bit values, one per hash permutation.

Each shingle is hashed once (the first four bytes of its SHA-1, little-endian), mixed
with the MurmurHash3 32-bit finalizer so that similar inputs spread, then sent through
128 affine permutations ``a * h + b mod 2**32`` with odd ``a`` (a bijection on 32 bits,
so permutations add no collisions). The sketch keeps the minimum of each permutation.

The parameters are drawn from numpy's legacy ``RandomState`` with a fixed seed, whose
stream numpy keeps stable across versions: stored fingerprints stay comparable with
new ones. These are the values datasketch 2's "affine32" scheme gives for the same seed
(a test checks it), which is what fingerprints of format 1 were first made with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported where sketches are made (the workers): the main process only compares them.
    import numpy as np

NUM_PERM = 128
# Fixed forever for format 1: values made with one seed only compare with values made
# with the same seed.
SEED = 20240601

_MURMUR_FINAL = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    draw = np.random.RandomState(SEED)
    odd = draw.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    shift = draw.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return odd, shift


def minhash(items: Iterable[bytes]) -> np.ndarray:
    """The sketch of a set of byte strings as ``NUM_PERM`` uint32; empty input gives an
    empty array (there is nothing to compare)."""
    import numpy as np

    # The first four bytes of each SHA-1, read as little-endian uint32 in one go.
    sha1 = hashlib.sha1
    heads = b"".join([sha1(item, usedforsecurity=False).digest()[:4] for item in items])
    hashes = np.frombuffer(heads, dtype="<u4").astype(np.uint32)
    if not hashes.size:
        return np.empty(0, dtype=np.uint32)
    # The MurmurHash3 finalizer, then the permutations (uint32 products wrap: mod 2**32).
    s1, m1, s2, m2, s3 = (np.uint32(c) for c in _MURMUR_FINAL)
    with np.errstate(over="ignore"):
        hashes ^= hashes >> s1
        hashes *= m1
        hashes ^= hashes >> s2
        hashes *= m2
        hashes ^= hashes >> s3
        odd, shift = _permutations()
        permuted = hashes.reshape(-1, 1) * odd + shift
    return permuted.min(axis=0)

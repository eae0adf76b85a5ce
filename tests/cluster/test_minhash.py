"""The MinHash of fingerprints: the same values as when fingerprints were first stored.

Fingerprints of format 1 were made with datasketch 2's "affine32" scheme; the store
keeps them, so the project's own MinHash must give the very same 128 values, or stored
articles would stop matching new reprints. datasketch is a test dependency for this
check only.
"""

import random

import numpy as np
import pytest
from datasketch import MinHash

from monitor.cluster.minhash import NUM_PERM, SEED, minhash


def _reference(items: list[bytes]) -> np.ndarray:
    sketch = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")
    sketch.update_batch(items)
    return sketch.hashvalues.astype(np.uint32)


@pytest.mark.parametrize("size", [1, 2, 7, 300, 5000])
def test_values_equal_those_stored_fingerprints_were_made_with(size: int) -> None:
    draw = random.Random(size)
    items = [
        " ".join(
            draw.choice(["cloud", "ministère", "Microsoft", "été", "2026"]) for _ in range(3)
        ).encode("utf-8")
        + draw.randbytes(draw.randrange(0, 12))
        for _ in range(size)
    ]
    assert np.array_equal(minhash(items), _reference(items))


def test_empty_set_has_no_values() -> None:
    assert minhash([]).size == 0


def test_order_and_repeats_do_not_change_the_sketch() -> None:
    items = [f"shingle {i}".encode() for i in range(50)]
    shuffled = items[::-1] + items[:10]
    assert np.array_equal(minhash(items), minhash(shuffled))
    assert minhash(items).dtype == np.uint32 and len(minhash(items)) == NUM_PERM

"""Which closed work orders get a satisfaction callback (满意度回访). No I/O.

The pick is a keyed hash of the work order's number: reproducible from the seed alone (the same
seed picks the same work orders, in any order, after a restart, on a copy of the database), and
unpredictable to an agent who does not know the seed, so nobody can steer easy cases into the
sample. Each work order is picked independently with probability `share`.
"""

from __future__ import annotations

import hashlib


def draw(seed: int, number: str) -> float:
    """A uniform number in [0, 1) fixed by `seed` and the work order `number`."""
    digest = hashlib.blake2b(
        number.encode("utf-8"), digest_size=8, key=str(seed).encode("ascii")
    ).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def picked(seed: int, number: str, share: float) -> bool:
    """True when work order `number` is in the satisfaction sample of `share` (0..1)."""
    return draw(seed, number) < share

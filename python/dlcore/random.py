"""The global generator: a (seed, offset) pair for the counter-based Philox kernels.

Every draw of n numbers uses counters [offset, offset + n) and then advances offset by n, so a
seed fixes every later draw on the CPU and on CUDA alike (the kernels share one generator).
"""
from __future__ import annotations

from typing import Sequence

import os
import threading

_state = {"seed": 0x5EED, "offset": 0}


def manual_seed(seed: int) -> None:
    """Seeds the generator used by rand/randn, initializers, shuffling and dropout."""
    seed = int(seed)
    if seed < 0:
        seed &= (1 << 64) - 1
    _state["seed"] = seed
    _state["offset"] = 0


def seed() -> int:
    """Seeds the generator from the operating system's entropy; returns the seed."""
    s = int.from_bytes(os.urandom(8), "little")
    manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed the generator was last seeded with."""
    return _state["seed"]


def get_rng_state() -> tuple[int, int]:
    """The generator's (seed, offset) state, for set_rng_state."""
    return (_state["seed"], _state["offset"])


def set_rng_state(state: Sequence[int]) -> None:
    """Restores a state returned by get_rng_state."""
    _state["seed"], _state["offset"] = int(state[0]), int(state[1])


_lock = threading.Lock()


def _next(n: int):
    """Reserves n counters; returns (seed, offset) for the kernel. Under a lock, so threads
    drawing at once get disjoint counter ranges (never the same numbers twice)."""
    with _lock:
        s, o = _state["seed"], _state["offset"]
        _state["offset"] = o + int(n)
    return s, o

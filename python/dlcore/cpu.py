"""dlcore.cpu: the host memory cache.

Freed CPU tensors of 1 MiB or more are kept and reused by the next tensor of the same size
class, so a training loop does not pay the kernel's page faults and page zeroing for every
fresh activation (a 64 MB buffer costs ~6 ms on first touch). The cache holds at most
`cache_limit()` bytes: min(1 GiB, RAM / 8) unless the environment variable
DLCORE_CPU_CACHE_MB says otherwise; `set_cache_limit(0)` turns it off.
"""
from __future__ import annotations

from . import _C


def empty_cache() -> None:
    """Return every cached host block to the system."""
    _C.cpu_empty_cache()


def memory_allocated() -> int:
    """Bytes held by live CPU tensors that dlcore allocated (as torch.cuda.memory_allocated).

    Tensors made from NumPy arrays without a copy borrow the array's memory and do not count.
    """
    return _C.cpu_memory_allocated()


def live_tensor_storages() -> int:
    """How many CPU storages dlcore allocated are still alive (views share one)."""
    return _C.cpu_live_blocks()


def memory_cached() -> int:
    """Bytes held in the cache: freed tensors' blocks kept for reuse."""
    return _C.cpu_memory_cached()


def cache_limit() -> int:
    """The most bytes the host memory cache may hold."""
    return _C.cpu_cache_limit()


def set_cache_limit(nbytes: int) -> None:
    """The most bytes the cache may hold; 0 disables it (and empties it)."""
    if int(nbytes) < 0:
        raise ValueError(f"cpu.set_cache_limit: expected a byte count >= 0, got {nbytes}")
    _C.cpu_set_cache_limit(int(nbytes))

"""dlcore.cuda: device queries. A CUDA build imports fine without a GPU (is_available False)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _C

if TYPE_CHECKING:
    from ._dtype import device


def is_available() -> bool:
    return _C.cuda_device_count() > 0


def device_count() -> int:
    return _C.cuda_device_count()


def current_device() -> int:
    return _C.cuda_current_device()


def set_device(index: int) -> None:
    _C.cuda_set_device(int(index))


def get_device_name(index: int = 0) -> str:
    return _C.cuda_device_name(int(index))


def synchronize(device: device | str | int | None = None) -> None:
    if not is_available():
        raise RuntimeError("cuda.synchronize: no CUDA device is available")
    idx = 0 if device is None else int(str(device).split(":")[-1]) if not isinstance(device, int) else device
    _C.cuda_synchronize(idx)


def empty_cache() -> None:
    if _C.build_info()["cuda_compiled"]:
        _C.cuda_empty_cache()


def memory_allocated(device: int = 0) -> int:
    return _C.cuda_memory_allocated(device)


def memory_reserved(device: int = 0) -> int:
    return _C.cuda_memory_reserved(device)

"""dlcore.cuda: device queries. A CUDA build imports fine without a GPU (is_available False)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _C

if TYPE_CHECKING:
    from ._dtype import device


def is_available() -> bool:
    """True when a CUDA device is present and this dlcore was built with CUDA."""
    return _C.cuda_device_count() > 0


def device_count() -> int:
    """The number of visible CUDA devices."""
    return _C.cuda_device_count()


def current_device() -> int:
    """The index of the current CUDA device."""
    return _C.cuda_current_device()


def set_device(index: int) -> None:
    """Makes device `index` the current CUDA device."""
    _C.cuda_set_device(int(index))


def get_device_name(index: int = 0) -> str:
    """The name of CUDA device `index`."""
    return _C.cuda_device_name(int(index))


def synchronize(device: device | str | int | None = None) -> None:
    """Waits for all work queued on the device (default: cuda:0) to finish."""
    if not is_available():
        raise RuntimeError("cuda.synchronize: no CUDA device is available")
    idx = 0 if device is None else int(str(device).split(":")[-1]) if not isinstance(device, int) else device
    _C.cuda_synchronize(idx)


def empty_cache() -> None:
    """Returns the cached blocks of the CUDA caching allocator to the driver."""
    if _C.build_info()["cuda_compiled"]:
        _C.cuda_empty_cache()


def memory_allocated(device: int = 0) -> int:
    """Bytes held by live tensors on the device."""
    return _C.cuda_memory_allocated(device)


def memory_reserved(device: int = 0) -> int:
    """Bytes the caching allocator holds on the device (live tensors and cached blocks)."""
    return _C.cuda_memory_reserved(device)


class Stream:
    """A handle on a CUDA stream: ``cuda_stream`` is the raw cudaStream_t as an int (0: the
    legacy default stream), for libraries that enqueue work beside dlcore's (NCCL)."""

    __slots__ = ("device", "cuda_stream")

    def __init__(self, device: int, cuda_stream: int) -> None:
        self.device = device
        self.cuda_stream = cuda_stream

    def __repr__(self):
        return f"<dlcore.cuda.Stream device=cuda:{self.device} cuda_stream={self.cuda_stream:#x}>"


def current_stream(device: device | str | int | None = None) -> Stream:
    """The stream dlcore's kernels on ``device`` (default: the current device) run on."""
    if not is_available():
        raise RuntimeError("cuda.current_stream: no CUDA device is available")
    idx = current_device() if device is None else (device if isinstance(device, int) else int(str(device).split(":")[-1]))
    return Stream(idx, _C.cuda_current_stream(idx))

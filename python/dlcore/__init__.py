"""dlcore — a deep-learning library with hand-written C++ (CPU) and CUDA kernels.

    import dlcore
    x = dlcore.randn(64, 784)
    w = dlcore.randn(784, 10)
    y = (x @ w).relu()

Tensors and their ops (``dlcore.Tensor``, ``dlcore.zeros``, ``dlcore.matmul``...), autograd, and
the submodules ``nn``, ``optim``, ``data``, ``train``, ``distributed``, named as in PyTorch.
"""
from __future__ import annotations

import typing as _typing

from . import _C
from ._dtype import device, dtype, bool_ as bool, float32, float64, int64  # noqa: A001
from ._dtype import float32 as float, float64 as double, int64 as long  # noqa: A001
from .tensor import Size, Tensor, tensor, from_numpy
from .creation import (zeros, ones, empty, full, arange, linspace, eye, rand, randn, randint, randperm,
                       zeros_like, ones_like, empty_like, full_like, rand_like, randn_like)
from .ops import (add, sub, mul, div, true_divide, floor_divide, pow, neg, negative, abs, exp, log, sqrt,
                  sigmoid, tanh, relu, sign, reciprocal, square, sin, cos, floor, ceil, round, maximum,
                  minimum, eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_not, where, clamp, clip,
                  sum, prod, mean, var, std, max, min, amax, amin, argmax, argmin, all, any, matmul, mm,
                  bmm, dot, result_type)
from .autograd import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled, detect_anomaly,
                       set_detect_anomaly, is_anomaly_enabled)
from .views import cat, concatenate, stack, index_select, narrow, reshape, flatten, permute, transpose, squeeze, unsqueeze, as_strided, broadcast_to, diagonal
from .random import manual_seed, seed, initial_seed, get_rng_state, set_rng_state
from . import cpu, cuda, backends, random, autograd, metrics, train
from . import nn
from .io import save, load
from .summary import summary

if _typing.TYPE_CHECKING:   # names for annotations only; `dlcore.bool` is the dtype
    import builtins
    from typing import Any

__version__ = _C.__version__

# Submodules a PyTorch user reaches through the package (dlcore.optim.Adam, dlcore.utils.data,
# dlcore.data.DataLoader) load on first use, so `import dlcore` does not pay for them
# (dlcore.viz: matplotlib / Pillow load only when a picture is written; dlcore.distributed:
# mpi4py loads only in init_process_group).
_LAZY_SUBMODULES = ("optim", "data", "utils", "models", "viz", "bench", "distributed")


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


def build_info() -> dict:
    """How this dlcore was built and what it runs on: version, CUDA, CPU path, threads."""
    return dict(_C.build_info())


def get_num_threads() -> int:
    return _C.get_num_threads()


def set_num_threads(n: int) -> None:
    _C.set_num_threads(int(n))


def from_dlpack(obj: Any) -> Tensor:
    """Zero-copy tensor from any object with ``__dlpack__`` (NumPy, PyTorch, CuPy...) or a capsule."""
    from .tensor import _wrap
    if hasattr(obj, "__dlpack__"):
        try:   # DLPack 1.0 first (carries the read-only flag), then the legacy protocol
            capsule = obj.__dlpack__(max_version=(1, 0))
        except TypeError:
            capsule = obj.__dlpack__()
    else:
        capsule = obj
    return _wrap(_C.from_dlpack(capsule))


def is_tensor(x: Any) -> builtins.bool:
    return isinstance(x, Tensor)


def numel(x: Tensor) -> int:
    return x.numel()


# ---- tensor-api family: indexing / scatter, sorting and scans, shape utilities, numerics ----
from .indexing import (gather, scatter, scatter_add, index_add, take_along_dim, masked_fill,  # noqa: E402
                       masked_select)
from .sorting import (sort, argsort, msort, topk, kthvalue, median, cumsum, cumprod,  # noqa: E402
                      logcumsumexp, logsumexp)
from .shape_utils import (split, chunk, tensor_split, unbind, flip, fliplr, flipud, roll, tril,  # noqa: E402
                          triu, repeat_interleave, tile, meshgrid, outer, ger)
from .numerics import (norm, isnan, isinf, isfinite, isposinf, isneginf, isclose, allclose,  # noqa: E402
                       equal, nan_to_num, lerp, clamp_min, clamp_max)
from .numerics import linalg  # noqa: E402
from .einsum import einsum  # noqa: E402
from . import tensor_api as _tensor_api  # noqa: E402  (installs the Tensor methods)

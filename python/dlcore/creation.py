"""Tensor factories: zeros, ones, empty, full, arange, linspace, eye, rand, randn, *_like."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional, Sequence

import math
import numbers

import numpy as np

from . import _C, random as _random
from ._dtype import as_device, as_dtype, bool_, float32, float64, int64
from .tensor import Tensor, _shape_arg, _wrap, tensor

if TYPE_CHECKING:
    from ._dtype import device, dtype


def _empty(shape, dtype, device):
    dev = as_device(device)
    for s in shape:
        if s < 0:
            raise ValueError(f"negative dimension {s} in shape {tuple(shape)}")
    return _wrap(_C.empty(list(shape), dtype.code, dev.code, dev.index or 0))


def empty(*shape: int | Sequence[int], dtype: dtype | str | type | None = None,
          device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor of the given shape with unspecified contents (float32 unless dtype says otherwise)."""
    t = _empty(_shape_arg(shape, "empty"), as_dtype(dtype or float32), device)
    t.requires_grad = requires_grad
    return t


def full(shape: int | Sequence[int], fill_value: float, dtype: dtype | str | type | None = None,
         device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor of the given shape filled with fill_value (dtype inferred from it when not given)."""
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    if dtype is None:
        dtype = bool_ if isinstance(fill_value, bool) else int64 if isinstance(fill_value, numbers.Integral) else float32
    t = _empty(tuple(shape), as_dtype(dtype), device)
    if t.numel():
        _C.fill_(t._impl, float(fill_value))
    t.requires_grad = requires_grad
    return t


def zeros(*shape: int | Sequence[int], dtype: dtype | str | type | None = None,
          device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor of the given shape filled with 0 (float32 unless dtype says otherwise)."""
    return full(_shape_arg(shape, "zeros"), 0.0, dtype or float32, device, requires_grad)


def ones(*shape: int | Sequence[int], dtype: dtype | str | type | None = None,
         device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor of the given shape filled with 1 (float32 unless dtype says otherwise)."""
    return full(_shape_arg(shape, "ones"), 1.0, dtype or float32, device, requires_grad)


def arange(start: float, end: Optional[float] = None, step: float = 1,
           dtype: dtype | str | type | None = None, device: device | str | int | None = None,
           requires_grad: bool = False) -> Tensor:
    """Values start, start + step, ... below end (arange(n): 0..n-1); int64 when all arguments are ints,
    else float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = as_dtype(dtype) if dtype is not None else (int64 if ints else float32)
    n = max(0, math.ceil((end - start) / step))
    # Values computed in float64/int64 on the host (start + i*step, as PyTorch does), then moved.
    vals = start + np.arange(n, dtype=np.int64 if ints else np.float64) * step
    return tensor(vals.astype(dt.numpy), device=device, requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype: dtype | str | type | None = None,
             device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """steps values evenly spaced from start to end, both included."""
    dt = as_dtype(dtype or float32)
    return tensor(np.linspace(start, end, steps).astype(dt.numpy), device=device, requires_grad=requires_grad)


def eye(n: int, m: Optional[int] = None, dtype: dtype | str | type | None = None,
        device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """An n x m (m defaults to n) matrix with ones on the diagonal."""
    dt = as_dtype(dtype or float32)
    return tensor(np.eye(n, m, dtype=dt.numpy), device=device, requires_grad=requires_grad)


def _random_fill(fn, shape, dtype, device, a, b, requires_grad):
    dt = as_dtype(dtype or float32)
    if not dt.is_floating_point:
        raise TypeError(f"random tensors must be float32 or float64, got {dt}")
    t = _empty(shape, dt, device)
    seed, offset = _random._next(t.numel())
    fn(t._impl, seed, offset, float(a), float(b))
    t.requires_grad = requires_grad
    return t


def rand(*shape: int | Sequence[int], dtype: dtype | str | type | None = None,
         device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1)."""
    return _random_fill(_C.uniform_, _shape_arg(shape, "rand"), dtype, device, 0.0, 1.0, requires_grad)


def randn(*shape: int | Sequence[int], dtype: dtype | str | type | None = None,
          device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal."""
    return _random_fill(_C.normal_, _shape_arg(shape, "randn"), dtype, device, 0.0, 1.0, requires_grad)


def uniform(shape: Sequence[int], low: float = 0.0, high: float = 1.0,
            dtype: dtype | str | type | None = None, device: device | str | int | None = None) -> Tensor:
    """A tensor of the given shape drawn uniformly from [low, high)."""
    return _random_fill(_C.uniform_, tuple(shape), dtype, device, low, high, False)


def normal(shape: Sequence[int], mean: float = 0.0, std: float = 1.0, dtype: dtype | str | type | None = None,
           device: device | str | int | None = None) -> Tensor:
    """A tensor of the given shape drawn from a normal distribution with mean and std."""
    return _random_fill(_C.normal_, tuple(shape), dtype, device, mean, std, False)


def randint(low: int, high: Optional[int] | Sequence[int] = None, size: Sequence[int] = (),
            dtype: dtype | str | type | None = None, device: device | str | int | None = None) -> Tensor:
    """int64 integers drawn uniformly from [low, high) (from [0, low) when high is None).
    As torch, ``randint(high, size)`` also works: randint(10, (3,))."""
    if isinstance(high, (tuple, list)):
        if tuple(size):
            raise TypeError(f"randint: got a size both as high={high!r} and as size={size!r}")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    u = uniform(tuple(size), 0.0, 1.0, dtype=float64, device=device)
    return (u * (high - low)).floor().long() + low if u.numel() else _empty(tuple(size), int64, device)


def randperm(n: int, device: device | str | int | None = None) -> Tensor:
    """A random permutation of 0..n-1 (argsort of uniform keys; seeded by manual_seed)."""
    keys = np.asarray(uniform((n,), dtype=float64))
    return tensor(np.argsort(keys, kind="stable").astype(np.int64), device=device)


def _like(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def f(x, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*tuple(x.shape), dtype=dtype or x.dtype, device=device or x.device,
                  requires_grad=requires_grad, **kw)
    return f


zeros_like, ones_like, empty_like, rand_like, randn_like = (
    _like(f) for f in (zeros, ones, empty, rand, randn))


def full_like(x: Tensor, fill_value: float, dtype: dtype | str | type | None = None,
              device: device | str | int | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of x's shape (and dtype and device, unless given) filled with fill_value."""
    return full(tuple(x.shape), fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)

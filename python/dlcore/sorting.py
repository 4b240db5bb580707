"""Sorting, selection and scans: sort, argsort, topk, kthvalue, median, cumsum, cumprod,
logcumsumexp, logsumexp.

sort / topk run in C++ along the last dim (csrc/cpu/sort.cpp); another dim is moved last with
a transpose (a copy) and the results moved back. Order as torch: NaN above +inf, ties in input
order (every sort here is stable). Gradients flow back through the returned indices (a scatter).
The scans run in C++ (csrc/cpu/scan.cpp) along any dim; their backwards are reverse scans.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import collections

import numpy as np

from . import _C
from ._dtype import bool_, float32, int64
from .autograd import record, needs_grad
from .tensor import Tensor, _wrap, _norm_dim, tensor
from . import ops as _ops
from . import views as _views
from .indexing import _scatter_raw

if TYPE_CHECKING:
    from ._dtype import dtype

# as ops.max (the type checker wants the variable named as the tuple)
_ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])  # type: ignore[name-match]


def _last(x, d):
    return x if d == x.ndim - 1 or x.ndim == 0 else _views.transpose(x, d, -1)


def _scatter_grad(x, d, indices, g):
    """Gradient of values = x.gather(d, indices): g scattered (added) into zeros like x."""
    acc = _wrap(_C.empty(list(x.shape), g._impl.dtype, g._impl.device_type, g._impl.device_index))
    _C.fill_(acc._impl, 0.0)
    if g.numel():
        _scatter_raw(acc, d, indices, g, True, "sort backward")
    return acc


def _sortable(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a tensor, got {type(x).__name__}")
    return x.to(dtype=int64) if x.dtype is bool_ else x


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> _ValuesIndices:
    """(values, indices) of input sorted along dim; stable (ties keep their order) always."""
    x = _sortable(input, "sort")
    d = _norm_dim(dim, x.ndim, "sort")
    v, i = _C.sort(_last(x, d)._impl, bool(descending))
    values, indices = _last(_wrap(v), d), _last(_wrap(i), d)
    if input.dtype is bool_:
        values = values.to(dtype=bool_)
    if needs_grad(input):
        values = record(values, "sort", (input,), lambda g: (_scatter_grad(input, d, indices, g),))
    return _ValuesIndices(values, indices)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return sort(input, dim, descending, stable).indices


def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> _ValuesIndices:
    """The k largest (or smallest) elements along dim, in order, and their indices."""
    x = _sortable(input, "topk")
    d = _norm_dim(dim, x.ndim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not isinstance(k, int) or k < 0 or k > n:
        raise IndexError(f"topk: k = {k} is out of range for dim {d} of size {n} "
                         f"(shape {tuple(input.shape)})")
    v, i = _C.topk(_last(x, d)._impl, int(k), bool(largest))
    values, indices = _last(_wrap(v), d), _last(_wrap(i), d)
    if input.dtype is bool_:
        values = values.to(dtype=bool_)
    if needs_grad(input):
        values = record(values, "topk", (input,), lambda g: (_scatter_grad(input, d, indices, g),))
    return _ValuesIndices(values, indices)


def _take(t, d, j, keepdim):
    r = _views.narrow(t, d, j, 1)
    return r if keepdim else _views.squeeze(r, d)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> _ValuesIndices:
    """The k-th smallest element (k counts from 1) along dim, and its index."""
    d = _norm_dim(dim, input.ndim, "kthvalue")
    n = input.shape[d] if input.ndim else 1
    if not isinstance(k, int) or k < 1 or k > n:
        raise IndexError(f"kthvalue: k = {k} is out of range for dim {d} of size {n} "
                         f"(shape {tuple(input.shape)})")
    v, i = topk(input, k, d, largest=False)
    if input.ndim == 0:
        return _ValuesIndices(v, i)
    return _ValuesIndices(_take(v, d, k - 1, keepdim), _take(i, d, k - 1, keepdim))


def median(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Any:
    """The lower median ((n-1)//2-th smallest); NaN when the slice holds a NaN, as torch."""
    if dim is None:
        flat = _views.reshape(input, -1)
        if flat.numel() == 0:
            return tensor(float("nan"), dtype=input.dtype, device=input.device)
        return median(flat, 0).values
    d = _norm_dim(dim, input.ndim, "median")
    n = input.shape[d] if input.ndim else 1
    if n == 0:
        raise IndexError(f"median: cannot take the median of an empty dim {d} (shape {tuple(input.shape)})")
    values, indices = kthvalue(input, (n - 1) // 2 + 1, d, keepdim)
    if input.dtype.is_floating_point:
        nan = isnan_(input)
        if bool(_ops.any(nan)):
            has = _ops.any(nan, d, keepdim) if input.ndim else nan
            first = _ops.argmax(nan.to(dtype=int64), d, keepdim) if input.ndim else indices
            values = _ops.where(has, tensor(float("nan"), dtype=input.dtype, device=input.device), values)
            indices = _ops.where(has, first, indices)
    return _ValuesIndices(values, indices)


def isnan_(x: Tensor) -> Tensor:
    return _ops.ne(x, x)


# ---- scans --------------------------------------------------------------------------------------

CUMSUM, CUMPROD, LOGCUMSUMEXP = 0, 1, 2


def _scan(op, x, d, reverse=False):
    return _wrap(_C.scan(op, x._impl, d, reverse))


def cumsum(input: Tensor, dim: int, dtype: dtype | str | type | None = None) -> Tensor:
    x = input.to(dtype=dtype) if dtype is not None else input
    if not x.dtype.is_floating_point and x.dtype is not int64:
        x = x.to(dtype=int64)
    d = _norm_dim(dim, x.ndim, "cumsum")
    out = _scan(CUMSUM, x, d)
    if not needs_grad(x):
        return out
    return record(out, "cumsum", (x,), lambda g: (_scan(CUMSUM, g.contiguous(), d, True),))


def cumprod(input: Tensor, dim: int, dtype: dtype | str | type | None = None) -> Tensor:
    x = input.to(dtype=dtype) if dtype is not None else input
    if not x.dtype.is_floating_point and x.dtype is not int64:
        x = x.to(dtype=int64)
    d = _norm_dim(dim, x.ndim, "cumprod")
    out = _scan(CUMPROD, x, d)
    if not needs_grad(x):
        return out

    def backward(g):
        # dx_i = sum_{j>=i} g_j out_j / x_i when no x is zero: a reverse cumsum of g * out.
        if not bool(_ops.any(_ops.eq(x, 0))):
            return (_ops.div(_scan(CUMSUM, _ops.mul(g, out).contiguous(), d, True), x),)
        return (_cumprod_grad_with_zeros(x, g, d),)
    return record(out, "cumprod", (x,), backward)


def _cumprod_grad_with_zeros(x, g, d):
    """dx_i = P_i S_i with P_i = prod_{k<i} x_k and S_i = g_i + x_{i+1} S_{i+1}: exact at zeros
    (the division form is not). A host recurrence: only inputs that contain zeros come here."""
    xn = np.moveaxis(np.asarray(x.detach().cpu(), dtype=np.float64), d, -1)
    gn = np.moveaxis(np.asarray(g.cpu(), dtype=np.float64), d, -1)
    n = xn.shape[-1]
    prefix = np.ones_like(xn)
    if n > 1:
        prefix[..., 1:] = np.cumprod(xn[..., :-1], axis=-1)
    s = np.zeros_like(xn)
    acc = np.zeros(xn.shape[:-1])
    for i in range(n - 1, -1, -1):
        acc = gn[..., i] + (xn[..., i + 1] * acc if i + 1 < n else 0.0)
        s[..., i] = acc
    res = np.moveaxis(prefix * s, -1, d)
    return tensor(res.astype(x.dtype.numpy), device=x.device)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    if not input.dtype.is_floating_point:
        raise TypeError(f"logcumsumexp: expected a floating point tensor, got {input.dtype}")
    d = _norm_dim(dim, input.ndim, "logcumsumexp")
    out = _scan(LOGCUMSUMEXP, input, d)
    if not needs_grad(input):
        return out

    def backward(g):
        # dx_i = sum_{j>=i} g_j exp(x_i - out_j), split by the sign of g so each part is a
        # reverse log-cum-sum-exp of log|g_j| - out_j (no overflow in exp).
        res = None
        for sign, part in ((1.0, _ops.clamp(g, min=0.0)), (-1.0, _ops.neg(_ops.clamp(g, max=0.0)))):
            lg = _ops.sub(_ops.log(part), out).contiguous()
            term = _ops.exp(_ops.add(input.detach(), _scan(LOGCUMSUMEXP, lg, d, True)))
            res = term if res is None else _ops.sub(res, term)
        return (res,)
    return record(out, "logcumsumexp", (input,), backward)


def logsumexp(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over dim, shifted by the max (no overflow); differentiable."""
    x = input if input.dtype.is_floating_point else input.to(dtype=float32)
    if dim is None:
        dim = tuple(range(x.ndim))
    if x.numel() == 0:
        return _ops.log(_ops.sum(_ops.exp(x), dim, keepdim))
    with _no_grad():
        m = _ops.amax(x, dim, keepdim=True)
        m = _ops.where(_ops.eq(_ops.abs(m), float("inf")), 0.0, m)
    s = _ops.sum(_ops.exp(_ops.sub(x, m)), dim, keepdim=True)
    out = _ops.add(_ops.log(s), m)
    if not keepdim:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        out = _views.squeeze(out, tuple(_norm_dim(k, x.ndim, "logsumexp") for k in dims)) if x.ndim else out
    return out


def _no_grad():
    from .autograd import no_grad
    return no_grad()

"""Gather / scatter with an index tensor, index_add, take_along_dim and masking.

gather and the scatters run in C++ (csrc/cpu/scatter.cpp, one kernel each way); each is the
other's backward. The binding checks every index before anything is written, so an index out
of range raises IndexError naming the op, the index and the size, and never writes.
"""
from __future__ import annotations

from typing import Optional

import numbers

from . import _C
from ._dtype import bool_, int64
from .autograd import record, needs_grad
from .tensor import Tensor, _wrap, _norm_dim, tensor
from . import ops as _ops
from . import views as _views


def _check_index(op, x, index):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: index must be an int64 tensor, got {type(index).__name__}")
    if index.dtype is not int64:
        raise TypeError(f"{op}: index must be an int64 tensor, got {index.dtype}")
    if index.ndim != x.ndim and not (index.ndim <= 1 and x.ndim <= 1):
        raise ValueError(f"{op}: index of shape {tuple(index.shape)} must have as many dims as the "
                         f"input of shape {tuple(x.shape)}")


def _leading_view(x, shape, d, op, what):
    """x narrowed to `shape` in every dim but d (a view: torch lets the data be larger there)."""
    shape = list(shape)
    for k, (s, xs) in enumerate(zip(shape, x.shape)):
        if k != d and s > xs:
            raise ValueError(f"{op}: index of shape {tuple(shape)} is larger than the {what} of shape "
                             f"{tuple(x.shape)} in dim {k}")
    size = [x.shape[k] if k == d else shape[k] for k in range(x.ndim)]
    return _wrap(x._impl.as_strided(size, list(x.stride()), x._impl.offset))


def _as_nd(t):
    """0-d tensors travel to the kernels as 1-element 1-d ones."""
    return _views.reshape(t, 1) if t.ndim == 0 else t


def _scatter_raw(acc, d, index, src, add, op):
    """acc[..., index, ...] (+)= src in place (no autograd); acc may be any view."""
    x, idx = _as_nd(acc), _as_nd(index)
    src = _as_nd(src)
    target = _leading_view(x, idx.shape, d, op, "destination")
    for k, (s, ss) in enumerate(zip(idx.shape, src.shape)):
        if s > ss:
            raise ValueError(f"{op}: index of shape {tuple(index.shape)} is larger than the source of "
                             f"shape {tuple(src.shape)} in dim {k}")
    src = _wrap(src._impl.as_strided(list(idx.shape), list(src.stride()), src._impl.offset))
    if src.dtype is not acc.dtype:
        src = src.to(dtype=acc.dtype)
    if target._impl.is_contiguous() and tuple(target.shape) == tuple(x.shape):
        _C.scatter_(target._impl, d, idx._impl, src._impl, add)
    else:   # a strided or larger destination: scatter into a compact copy, then write it back
        tmp = _wrap(_C.contiguous(target._impl))
        _C.scatter_(tmp._impl, d, idx._impl, src._impl, add)
        _C.copy_(target._impl, tmp._impl)
    return acc


def _src_tensor(src, value, ref, op):
    if src is None and value is None:
        raise TypeError(f"{op}: expected a source tensor or a value")
    s = value if src is None else src
    if isinstance(s, Tensor):
        return s
    if not isinstance(s, numbers.Number):
        raise TypeError(f"{op}: src must be a tensor or a number, got {type(s).__name__}")
    return tensor(s, dtype=ref.dtype, device=ref.device)


def gather(input: Tensor, dim: int, index: Tensor, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] (dim=1), as torch.gather; out has index's shape."""
    _check_index("gather", input, index)
    d = _norm_dim(dim, input.ndim, "gather")
    x, idx = _as_nd(input), _as_nd(index)
    xv = _leading_view(x, idx.shape, d, "gather", "input")
    out = _wrap(_C.gather(xv._impl, d, idx._impl))
    if index.ndim == 0:
        out = _wrap(out._impl.as_strided([], [], 0))
    if not needs_grad(input):
        return out

    def backward(g):
        acc = _wrap(_C.empty(list(input.shape), g._impl.dtype, g._impl.device_type, g._impl.device_index))
        _C.fill_(acc._impl, 0.0)
        return (_scatter_raw(acc, d, index, g, True, "gather backward"),)
    return record(out, "gather", (input,), backward)


def take_along_dim(input: Tensor, indices: Tensor, dim: Optional[int] = None) -> Tensor:
    """input values at `indices` along dim (indices broadcast against input outside dim)."""
    if dim is None:
        return gather(_views.reshape(input, -1), 0, _views.reshape(indices, -1))
    d = _norm_dim(dim, input.ndim, "take_along_dim")
    if indices.ndim != input.ndim:
        raise ValueError(f"take_along_dim: indices of shape {tuple(indices.shape)} and input of shape "
                         f"{tuple(input.shape)} must have the same number of dims")
    xs, isz = list(input.shape), list(indices.shape)
    bx, bi = list(xs), list(isz)
    for k in range(input.ndim):
        if k == d:
            continue
        if xs[k] != isz[k] and 1 not in (xs[k], isz[k]):
            raise ValueError(f"take_along_dim: shapes {tuple(xs)} and {tuple(isz)} do not broadcast "
                             f"outside dim {d}")
        bx[k] = bi[k] = max(xs[k], isz[k])
    return gather(_views.expand(input, *bx), d, _views.expand(indices, *bi))


def scatter(input: Tensor, dim: int, index: Tensor, src: Tensor | float | None = None,
            value: Optional[float] = None, reduce: Optional[str] = None) -> Tensor:
    """A copy of input with src (or value) written at index along dim; reduce='add' sums."""
    if reduce not in (None, "add", "sum"):
        raise ValueError(f"scatter: reduce={reduce!r} is not supported (use None or 'add')")
    _check_index("scatter", input, index)
    d = _norm_dim(dim, input.ndim, "scatter")
    s = _src_tensor(src, value, input, "scatter")
    if s.ndim == 0 and index.ndim > 0:
        s = _views.expand(s.to(dtype=input.dtype), *index.shape)
    add = reduce is not None
    out = _views.clone(input.detach())
    _scatter_raw(out, d, index, s.detach(), add, "scatter_add" if add else "scatter")
    if not needs_grad(input, s):
        return out

    def backward(g):
        gi = None
        if input.requires_grad:
            if add:
                gi = g
            else:   # overwritten positions receive no gradient
                gi = _views.clone(g)
                zero = _views.expand(tensor(0.0, dtype=g.dtype, device=g.device), *index.shape)
                _scatter_raw(gi, d, index, zero, False, "scatter")
        gs = None
        if s.requires_grad:
            gs = gather(g, d, index)
            if tuple(gs.shape) != tuple(s.shape):
                gs = _ops.sum_to(gs, s.shape) if s.ndim == 0 else _pad_to(gs, s.shape)
        return (gi, gs)
    return record(out, "scatter", (input, s), backward)


def _pad_to(g, shape):
    """g (index-shaped) placed at the front of zeros of `shape` (a larger source)."""
    z = _wrap(_C.empty(list(shape), g._impl.dtype, g._impl.device_type, g._impl.device_index))
    _C.fill_(z._impl, 0.0)
    part = _wrap(z._impl.as_strided(list(g.shape), list(z.stride()), z._impl.offset))
    _C.copy_(part._impl, g._impl)
    return z


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return scatter(input, dim, index, src, reduce="add")


def scatter_(self: Tensor, dim: int, index: Tensor, src: Tensor | float | None = None,
             value: Optional[float] = None, reduce: Optional[str] = None) -> Tensor:
    """In place: self[..., index, ...] = src (or value); reduce='add' sums."""
    if reduce not in (None, "add", "sum"):
        raise ValueError(f"scatter_: reduce={reduce!r} is not supported (use None or 'add')")
    _ops._check_inplace(self, "scatter_")
    _check_index("scatter_", self, index)
    d = _norm_dim(dim, self.ndim, "scatter_")
    s = _src_tensor(src, value, self, "scatter_")
    if s.ndim == 0 and index.ndim > 0:
        s = _views.expand(s.to(dtype=self.dtype), *index.shape)
    return _scatter_raw(self, d, index, s.detach(), reduce is not None, "scatter_add_" if reduce else "scatter_")


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return scatter_(self, dim, index, src, reduce="add")


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, alpha: float = 1) -> Tensor:
    """A copy of input with source's slices added at index along dim (torch.index_add)."""
    d = _norm_dim(dim, input.ndim, "index_add")
    src = _ops.mul(source, alpha) if alpha != 1 else source
    out = _views.clone(input.detach())
    _index_add_raw(out, d, index, src.detach())
    if not needs_grad(input, src):
        return out
    return record(out, "index_add", (input, src),
                  lambda g: (g if input.requires_grad else None,
                             _views.index_select(g, d, index) if src.requires_grad else None))


def _index_add_raw(acc, d, index, src):
    if src.dtype is not acc.dtype:
        src = src.to(dtype=acc.dtype)
    if acc._impl.is_contiguous():
        _C.index_add_(acc._impl, d, index._impl, src._impl)
    else:
        tmp = _wrap(_C.contiguous(acc._impl))
        _C.index_add_(tmp._impl, d, index._impl, src._impl)
        _C.copy_(acc._impl, tmp._impl)
    return acc


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, alpha: float = 1) -> Tensor:
    _ops._check_inplace(self, "index_add_")
    d = _norm_dim(dim, self.ndim, "index_add_")
    src = _ops.mul(source, alpha) if alpha != 1 else source
    return _index_add_raw(self, d, index, src)


# ---- masking ------------------------------------------------------------------------------------

def _check_mask(op, mask):
    if not isinstance(mask, Tensor) or mask.dtype is not bool_:
        raise TypeError(f"{op}: mask must be a bool tensor, got "
                        f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")


def masked_fill(input: Tensor, mask: Tensor, value: Tensor | float) -> Tensor:
    """input with value where mask is True (mask broadcasts to input's shape)."""
    _check_mask("masked_fill", mask)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a 0-d tensor, got shape {tuple(value.shape)}")
        v = value.to(dtype=input.dtype) if value.dtype is not input.dtype else value
    else:
        v = tensor(value, dtype=input.dtype, device=input.device)
    m = _views.expand(mask, *input.shape) if tuple(mask.shape) != tuple(input.shape) else mask
    return _ops.where(m, v, input)


def masked_fill_(self: Tensor, mask: Tensor, value: Tensor | float) -> Tensor:
    _ops._check_inplace(self, "masked_fill_")
    res = masked_fill(self.detach(), mask, value.detach() if isinstance(value, Tensor) else value)
    _C.copy_(self._impl, res._impl)
    return self


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The 1-D tensor of input's elements where mask (broadcast with input) is True."""
    _check_mask("masked_select", mask)
    shape = _broadcast(input.shape, mask.shape, "masked_select")
    x = _views.reshape(_views.expand(input, *shape), -1)
    m = _views.reshape(_views.expand(mask, *shape), -1)
    return _views.getitem(x, m)


def _broadcast(a, b, op):
    a, b = list(a), list(b)
    n = max(len(a), len(b))
    a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ValueError(f"{op}: shapes {tuple(a)} and {tuple(b)} do not broadcast")
        out.append(max(x, y))
    return out

"""Shape ops, indexing, concatenation and copies — each a view where PyTorch's is a view.

A view is (sizes, strides, offset) over the same storage, computed here and bounds-checked in
C++ (TensorImpl.as_strided). Every op records its backward, which maps the gradient back to
the input's shape: the inverse permutation, a reshape, a sum over broadcast dims, or a scatter
of the gradient into zeros for slicing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import builtins
import numbers

import numpy as np

from . import _C
from ._dtype import as_device, as_dtype, bool_, int64, CPU
from .autograd import record, needs_grad
from .tensor import Tensor, Size, _wrap, _norm_dim, _shape_arg, tensor
from . import ops as _ops
from .creation import zeros_like

if TYPE_CHECKING:
    from ._dtype import device, dtype


def _raw_strided(x, size, stride, offset):
    return _wrap(x._impl.as_strided(list(size), list(stride), int(offset)))


def _view_of(x, size, stride, offset, name, backward):
    out = _raw_strided(x, size, stride, offset)
    return record(out, name, (x,), backward)



def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """torch.diagonal: the view of the entries x[..., i, ..., i + offset, ...] over dims dim1 and
    dim2, which are removed; the diagonal becomes the last dim. Differentiable."""
    nd = x.ndim
    d1, d2 = _norm_dim(dim1, nd, "diagonal"), _norm_dim(dim2, nd, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 are the same dim ({dim1}, {dim2}) of shape {tuple(x.shape)}")
    offset = int(offset)
    n1, n2 = x.shape[d1], x.shape[d2]
    n = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    st = x._impl.strides

    def layout(shape, strides, base):
        start = base + (offset * strides[d2] if offset >= 0 else -offset * strides[d1]) if n else base
        keep = [k for k in range(nd) if k not in (d1, d2)]
        return ([shape[k] for k in keep] + [n], [strides[k] for k in keep] + [strides[d1] + strides[d2]],
                start)

    size, stride, start = layout(list(x.shape), list(st), x._impl.offset)

    def backward(g):
        z = zeros_like(x)
        zs, zst, zoff = layout(list(z.shape), _contig_strides(list(z.shape)), z._impl.offset)
        if g.numel():
            _C.copy_(_raw_strided(z, zs, zst, zoff)._impl, g._impl)
        return (z,)
    return _view_of(x, size, stride, start, "diagonal", backward)


def as_strided(x: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: Optional[int] = None) -> Tensor:
    """A view of x's storage with the given sizes, strides and offset (checked against the storage bounds)."""
    if needs_grad(x):
        raise RuntimeError("as_strided: not differentiable here; use view/reshape/permute/slicing")
    off = x._impl.offset if storage_offset is None else storage_offset
    return _raw_strided(x, size, stride, off)


def _view_strides(shape, strides, new_shape):
    """Strides that let `new_shape` view memory laid out as (shape, strides), or None.

    Groups of old dims that are contiguous among themselves can be split and merged freely;
    a new dim can't straddle two groups (that is when a view is impossible).
    """
    old = [(s, st) for s, st in zip(shape, strides) if s != 1]
    new_strides = []
    oi = 0
    ni = 0
    new = list(new_shape)
    while ni < len(new):
        if new[ni] == 1:
            new_strides.append(1)   # fixed below to a harmless value
            ni += 1
            continue
        if oi >= len(old):
            return None
        # Take old dims until the chunk size matches the new dims' product.
        chunk_old = [old[oi]]
        oi += 1
        size_old = chunk_old[0][0]
        chunk_new = [ni]
        size_new = new[ni]
        ni += 1
        while size_old != size_new:
            if size_old < size_new:
                if oi >= len(old):
                    return None
                chunk_old.append(old[oi])
                size_old *= old[oi][0]
                oi += 1
            else:
                while ni < len(new) and new[ni] == 1:
                    chunk_new.append(ni)
                    ni += 1
                if ni >= len(new):
                    return None
                chunk_new.append(ni)
                size_new *= new[ni]
                ni += 1
        for k in range(len(chunk_old) - 1):   # old dims of a chunk must be mutually contiguous
            if chunk_old[k][1] != chunk_old[k + 1][1] * chunk_old[k + 1][0]:
                return None
        st = chunk_old[-1][1]
        sts = {}
        for j in reversed(chunk_new):
            sts[j] = st
            st *= new[j]
        for j in chunk_new:
            while len(new_strides) < j:
                new_strides.append(1)
            if len(new_strides) == j:
                new_strides.append(sts[j])
            else:
                new_strides[j] = sts[j]
    if oi != len(old):
        return None
    # Size-1 dims: any stride works; use the contiguous-style value for readability.
    out = list(new_strides[:len(new)])
    for j in range(len(new) - 1, -1, -1):
        if new[j] == 1:
            out[j] = out[j + 1] * new[j + 1] if j + 1 < len(new) else 1
    return out


def _infer_shape(x, shape, op):
    shape = list(shape)
    n = x.numel()
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise ValueError(f"{op}: only one dimension can be -1, got {tuple(shape)}")
    if any(s < -1 for s in shape):
        raise ValueError(f"{op}: invalid shape {tuple(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or n % known != 0:
            raise ValueError(f"{op}: shape {tuple(shape)} is invalid for input of size {n} "
                             f"(shape {tuple(x.shape)})")
        shape[neg[0]] = n // known
    elif known != n:
        raise ValueError(f"{op}: shape {tuple(shape)} is invalid for input of size {n} (shape {tuple(x.shape)})")
    return shape


def view(x: Tensor, *shape: int | Sequence[int]) -> Tensor:
    """A view with a new shape (one dim may be -1); the elements must be laid out compatibly."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, Size)) and not isinstance(shape[0], numbers.Integral):
        return x.to(dtype=shape[0])
    shape = _infer_shape(x, _shape_arg(shape, "view"), "view")
    st = _view_strides(x.shape, x.stride(), shape) if x.numel() else [1] * len(shape)
    if st is None:
        raise RuntimeError(f"view: shape {tuple(shape)} is not compatible with the input's size and strides "
                           f"(shape {tuple(x.shape)}, strides {x.stride()}); use .reshape() instead")
    return _view_of(x, shape, st, x._impl.offset, "view", lambda g: (reshape(g, x.shape),))


def reshape(x: Tensor, *shape: int | Sequence[int]) -> Tensor:
    """x with a new shape (one dim may be -1): a view when possible, else a copy."""
    shape = _infer_shape(x, _shape_arg(shape, "reshape"), "reshape")
    src = x
    if x._impl.is_contiguous():             # any shape views contiguous memory
        st = _contig_strides(shape)
    else:
        st = _view_strides(x.shape, x.stride(), shape) if x.numel() else None
        if st is None:                      # no view fits: a contiguous copy
            src, st = contiguous(x), _contig_strides(shape)
    return _view_of(src, shape, st, src._impl.offset, "reshape", lambda g: (reshape(g, x.shape),))


def _contig_strides(shape):
    st, acc = [], 1
    for s in reversed(shape):
        st.append(acc)
        acc *= builtins.max(s, 1)
    return st[::-1]


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """x with dims start_dim..end_dim merged into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    s = _norm_dim(start_dim, x.ndim, "flatten")
    e = _norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = list(x.shape)
    return reshape(x, shape[:s] + [-1 if x.numel() else int(np.prod(shape[s:e + 1]))] + shape[e + 1:])


def permute(x: Tensor, *dims: int | Sequence[int]) -> Tensor:
    """A view with the dims reordered."""
    dims = _shape_arg(dims, "permute")
    if len(dims) != x.ndim:
        raise ValueError(f"permute: expected {x.ndim} dims for a tensor of shape {tuple(x.shape)}, got {dims}")
    dims = [_norm_dim(d, x.ndim, "permute") for d in dims]
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {tuple(dims)} is not a permutation of the dims of shape {tuple(x.shape)}")
    sh, st = x.shape, x.stride()
    inverse = [dims.index(i) for i in range(len(dims))]
    return _view_of(x, [sh[d] for d in dims], [st[d] for d in dims], x._impl.offset, "permute",
                    lambda g: (permute(g, *inverse),))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with dims dim0 and dim1 swapped."""
    if x.ndim == 0:
        return x
    d0, d1 = _norm_dim(dim0, x.ndim, "transpose"), _norm_dim(dim1, x.ndim, "transpose")
    order = list(range(x.ndim))
    order[d0], order[d1] = order[d1], order[d0]
    return permute(x, *order)


def t(x: Tensor) -> Tensor:
    """The transpose of a 2-D tensor (0-D and 1-D tensors are returned as they are)."""
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def squeeze(x: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """x without its size-1 dims (only dim, or the dims listed, when given)."""
    sh, st = list(x.shape), list(x.stride())
    if dim is None:
        keep = [i for i, s in enumerate(sh) if s != 1]
    else:
        dims = set(_ops._dims(x, dim, "squeeze"))
        keep = [i for i, s in enumerate(sh) if not (i in dims and s == 1)]
    return _view_of(x, [sh[i] for i in keep], [st[i] for i in keep], x._impl.offset, "squeeze",
                    lambda g: (reshape(g, x.shape),))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """A view with a size-1 dim inserted at dim."""
    d = _norm_dim(dim, x.ndim + 1, "unsqueeze")
    sh, st = list(x.shape), list(x.stride())
    new_st = st[d] * sh[d] if d < x.ndim else 1
    return _view_of(x, sh[:d] + [1] + sh[d:], st[:d] + [new_st] + st[d:], x._impl.offset, "unsqueeze",
                    lambda g: (reshape(g, x.shape),))


def expand(x: Tensor, *sizes: int | Sequence[int]) -> Tensor:
    """A view broadcasting size-1 dims to the given sizes (-1 keeps a dim), without copying."""
    sizes = list(_shape_arg(sizes, "expand"))
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: target {tuple(sizes)} has fewer dims than the input shape {tuple(x.shape)}")
    lead = len(sizes) - x.ndim
    sh, st = list(x.shape), list(x.stride())
    out_sh, out_st = [], []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise ValueError(f"expand: -1 is not allowed for a new leading dim, got {tuple(sizes)}")
            out_sh.append(s)
            out_st.append(0)
            continue
        cur = sh[i - lead]
        if s == -1 or s == cur:
            out_sh.append(cur)
            out_st.append(st[i - lead])
        elif cur == 1:
            out_sh.append(s)
            out_st.append(0)
        else:
            raise ValueError(f"expand: can't expand shape {tuple(x.shape)} to {tuple(sizes)} "
                             f"(dim {i}: {cur} -> {s})")
    return _view_of(x, out_sh, out_st, x._impl.offset, "expand", lambda g: (_ops.sum_to(g, x.shape),))


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """A view of x broadcast to shape, without copying."""
    return expand(x, *shape)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    """x expanded to other's shape."""
    return expand(x, *other.shape)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors joined along an existing dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    # PyTorch skips 1-D empty tensors (legacy behaviour) — so do we.
    ref = next((t for t in tensors if not (t.ndim == 1 and t.numel() == 0)), tensors[0])
    d = _norm_dim(dim, ref.ndim, "cat")
    dt = _ops.result_type(*tensors) if len(tensors) > 1 else ref.dtype
    parts = [t for t in tensors if not (t.ndim == 1 and t.numel() == 0 and ref.ndim != 1)]
    shape = list(ref.shape)
    total = 0
    for t in parts:
        _ops._check_device("cat", ref, t)
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape)) if i != d):
            raise ValueError(f"cat: tensors must match in every dim but {d}; got shapes "
                             f"{[tuple(x.shape) for x in tensors]}")
        total += t.shape[d]
    shape[d] = total
    out = _wrap(_C.empty(shape, dt.code, ref._impl.device_type, ref._impl.device_index))
    pos, spans = 0, []
    for t in parts:
        n = t.shape[d]
        if n:
            _C.copy_(_narrow_raw(out, d, pos, n)._impl, t._impl)
        spans.append((pos, n))
        pos += n
    return record(out, "cat", tuple(parts), lambda g: tuple(
        (_narrow_raw(g, d, p, n) if t.requires_grad else None) for t, (p, n) in zip(parts, spans)))


concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors joined along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shape0 = tuple(tensors[0].shape)
    for t in tensors:
        if tuple(t.shape) != shape0:
            raise ValueError(f"stack: all tensors must have the same shape, got {[tuple(x.shape) for x in tensors]}")
    d = _norm_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def _narrow_raw(x, d, start, length):
    st = list(x.stride())
    sh = list(x.shape)
    sh[d] = length
    return _raw_strided(x, sh, st, x._impl.offset + start * st[d])


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A view of length elements of x along dim, from start."""
    d = _norm_dim(dim, x.ndim, "narrow")
    sh, st = list(x.shape), list(x.stride())
    if start < 0:
        start += sh[d]
    if start < 0 or length < 0 or start + length > sh[d]:
        raise IndexError(f"narrow: range [{start}, {start + length}) out of bounds for dim {d} of size {sh[d]}")
    return _view_of(x, [length if i == d else s for i, s in enumerate(sh)], st, x._impl.offset + start * st[d],
                    "narrow", lambda g: (_scatter_view(g, x, lambda z: _narrow_raw(z, d, start, length)),))


def _scatter_view(g, x, take):
    """Gradient of a view: zeros shaped like x with g written into the viewed part."""
    z = _wrap(_C.empty(list(x.shape), g._impl.dtype, g._impl.device_type, g._impl.device_index))
    _C.fill_(z._impl, 0.0)
    part = take(z)
    if part.numel():
        _C.copy_(part._impl, g._impl)
    return z


# ---- indexing ---------------------------------------------------------------------------------

def _expand_index(x, idx):
    if not isinstance(idx, tuple):
        idx = (idx,)
    n_ell = builtins.sum(1 for i in idx if i is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = builtins.sum(1 for i in idx if i is not None and i is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (got {consumed})")
    out = []
    for i in idx:
        if i is Ellipsis:
            out.extend([slice(None)] * (x.ndim - consumed))
        else:
            out.append(i)
    return out


def _is_advanced(i):
    return isinstance(i, (Tensor, list, np.ndarray)) and not isinstance(i, bool)


def _basic_view(x, idx):
    sh, st = list(x.shape), list(x.stride())
    off = x._impl.offset
    new_sh, new_st = [], []
    d = 0
    for i in idx:
        if i is None:
            new_sh.append(1)
            new_st.append(0)
        elif isinstance(i, slice):
            start, stop, step = i.indices(sh[d])
            if step <= 0:
                raise ValueError("step must be greater than zero")
            n = builtins.max(0, (stop - start + step - 1) // step)
            if n > 0:
                off += start * st[d]
            new_sh.append(n)
            new_st.append(st[d] * step)
            d += 1
        elif isinstance(i, (numbers.Integral, np.integer)) and not isinstance(i, bool):
            k = int(i)
            if k < -sh[d] or k >= sh[d]:
                raise IndexError(f"index {k} is out of bounds for dimension {d} with size {sh[d]}")
            off += (k % sh[d]) * st[d]
            d += 1
        else:
            raise IndexError(f"unsupported index {i!r} (ints, slices, None, ..., int64/bool tensors)")
    new_sh += sh[d:]
    new_st += st[d:]
    return _raw_strided(x, new_sh, new_st, off)


def _advanced_positions(x, idx):
    """The single advanced index (on dim `d` after basic indexing) as an int64 NumPy array."""
    adv = [k for k, i in enumerate(idx) if _is_advanced(i)]
    if len(adv) != 1:
        raise IndexError("only one integer/bool tensor index per indexing expression is supported")
    return adv[0]


def getitem(x: Tensor, idx: Any) -> Tensor:
    idx = _expand_index(x, idx)
    if not builtins.any(_is_advanced(i) for i in idx):
        out = _basic_view(x, idx)
        return record(out, "getitem", (x,), lambda g: (_scatter_view(g, x, lambda z: _basic_view(z, idx)),))
    k = _advanced_positions(x, idx)
    sel = idx[k]
    # Apply the basic part with a full slice in place of the advanced index, then gather.
    view_ = _basic_view(x, idx[:k] + [slice(None)] + idx[k + 1:])
    slot_shape = tuple(view_.shape)      # before a multi-dim mask flattens its dims
    d = builtins.sum(1 for i in idx[:k] if not isinstance(i, (numbers.Integral, np.integer)) or i is None)
    sel_np = np.asarray(sel.cpu().numpy() if isinstance(sel, Tensor) else sel)
    if sel_np.dtype == np.bool_:
        if sel_np.ndim == 1 and sel_np.shape[0] != view_.shape[d]:
            raise IndexError(f"boolean index of length {sel_np.shape[0]} does not match dim {d} of size {view_.shape[d]}")
        if sel_np.ndim > 1:   # mask over several dims: flatten them first
            if tuple(view_.shape[d:d + sel_np.ndim]) != sel_np.shape:
                raise IndexError(f"boolean mask of shape {sel_np.shape} does not match {tuple(view_.shape)}")
            view_ = reshape(view_, list(view_.shape[:d]) + [-1] + list(view_.shape[d + sel_np.ndim:]))
            sel_np = sel_np.reshape(-1)
        sel_np = np.nonzero(sel_np)[0]
    if sel_np.dtype.kind not in "iu":
        raise IndexError(f"tensors used as indices must be int64 or bool, got {sel_np.dtype}")
    n = view_.shape[d]
    if sel_np.size and (sel_np.min() < -n or sel_np.max() >= n):
        raise IndexError(f"index out of range for dim {d} of size {n}")
    sel_np = np.where(sel_np < 0, sel_np + n, sel_np).astype(np.int64)
    # Gather along dim d on the tensor's device (index_select kernel); the backward
    # scatter-adds (repeated indices accumulate) and writes the result into the view's slot.
    sel_t = tensor(sel_np, dtype=int64)
    out = _wrap(_C.index_select(view_._impl, d, sel_t._impl))
    if not needs_grad(x):
        return out
    base = idx[:k] + [slice(None)] + idx[k + 1:]

    def backward(g):
        acc = zeros_like(view_)
        _C.index_add_(acc._impl, d, sel_t._impl, g._impl)
        return (_scatter_view(reshape(acc, slot_shape), x, lambda z: _basic_view(z, base)),)
    return record(out, "index", (x,), backward)


def index_select(x: Tensor, dim: int, index: Tensor | Sequence[int]) -> Tensor:
    """The entries of x at positions `index` (1-D int64 tensor or int sequence) along `dim`,
    as torch.index_select: the result has len(index) in place of x.shape[dim]. Negative
    indices count from the end; repeated indices repeat (and their gradients add up)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"index_select: expected a tensor, got {type(x).__name__}")
    if isinstance(index, Tensor):
        idx = index
    else:
        idx = tensor(np.asarray(index, dtype=np.int64).reshape(-1), dtype=int64)
    d = _norm_dim(dim, x.ndim, "index_select")
    out = _wrap(_C.index_select(x._impl, d, idx._impl))
    if not needs_grad(x):
        return out

    def backward(g):
        acc = zeros_like(x)
        _C.index_add_(acc._impl, d, idx._impl, g._impl)
        return (acc,)
    return record(out, "index_select", (x,), backward)


def setitem(x: Tensor, idx: Any, value: Any) -> None:
    _ops._check_inplace(x, "setitem")
    if isinstance(idx, Tensor) and idx.dtype is bool_ and tuple(idx.shape) == tuple(x.shape):
        v = value if isinstance(value, Tensor) else tensor(value, dtype=x.dtype, device=x.device)
        _C.copy_(x._impl, _ops.where(idx, v.to(dtype=x.dtype), x)._impl)
        return
    eidx = _expand_index(x, idx)
    if builtins.any(_is_advanced(i) for i in eidx):
        raise IndexError("setitem: assignment through integer/bool tensor indices supports only a full-shape bool mask")
    target = _basic_view(x, eidx)
    if isinstance(value, Tensor):
        _C.copy_(target._impl, value._impl)
    elif isinstance(value, numbers.Number):
        if target.numel():
            _C.fill_(target._impl, float(value))
    else:
        _C.copy_(target._impl, tensor(value, dtype=x.dtype)._impl)




def contiguous(x: Tensor) -> Tensor:
    """x itself when its elements are laid out row-major, else a row-major copy."""
    if x._impl.is_contiguous():
        return x
    return record(_wrap(_C.contiguous(x._impl)), "contiguous", (x,), lambda g: (g,))


def clone(x: Tensor) -> Tensor:
    """A copy of x with its own storage (differentiable)."""
    out = _wrap(_C.empty(list(x.shape), x._impl.dtype, x._impl.device_type, x._impl.device_index))
    _C.copy_(out._impl, x._impl)
    return record(out, "clone", (x,), lambda g: (g,))


def to(x: Tensor, *args: Any, dtype: dtype | str | type | None = None,
       device: device | str | int | None = None, copy: bool = False) -> Tensor:
    """x converted to another device and/or dtype (x itself when nothing changes)."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (str, type(CPU))) and not (isinstance(a, str) and a in
                                                        ("float32", "float64", "int64", "bool", "float", "double", "long")):
            device = a
        else:
            dtype = a
    out = x
    if device is not None:
        dev = as_device(device)
        if dev != out.device:
            out = _wrap(_C.to_device(out._impl, dev.code, dev.index or 0))
    if dtype is not None:
        dt = as_dtype(dtype)
        if dt is not out.dtype:
            out = _wrap(_C.cast(out._impl, dt.code))
    if copy and out is x:
        out = _wrap(_C.empty(list(x.shape), x._impl.dtype, x._impl.device_type, x._impl.device_index))
        _C.copy_(out._impl, x._impl)
    if out is x or not x.dtype.is_floating_point or not out.dtype.is_floating_point:
        return out
    src_dtype, src_dev = x.dtype, x.device
    return record(out, "to", (x,), lambda g: (to(g, dtype=src_dtype, device=src_dev),))

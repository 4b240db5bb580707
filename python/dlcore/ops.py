"""Tensor operations: promotion, broadcasting and views in Python, the work in ``_C``.

Each function here is the forward computation; ``Tensor`` methods and operators are bound to
these functions by ``_install_methods`` at the end.
"""
from __future__ import annotations

import builtins
import collections
import numbers

import numpy as np

from . import _C
from ._dtype import as_device, as_dtype, bool_, float32, float64, int64, CPU
from .tensor import Tensor, Size, _wrap, _norm_dim, _shape_arg, tensor

# Operation codes: must match csrc/core/ops.h.
NEG, ABS, EXP, LOG, SQRT, SIGMOID, TANH, RELU, SIGN, RECIPROCAL, SQUARE, SIN, COS, FLOOR, CEIL, ROUND, LOGICAL_NOT = range(17)
ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, EQ, NE, LT, LE, GT, GE, LOGICAL_AND, LOGICAL_OR = range(15)
R_SUM, R_PROD, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN = range(6)

_BINARY_NAMES = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
                 "ge", "logical_and", "logical_or"]

# ---- type promotion (PyTorch's rules) ------------------------------------------------------
# Operands rank in tiers: dimensioned tensors (2) > 0-dim tensors (1) > Python scalars (0).
# The result category is the highest among all operands; within it, the highest tier present
# decides the dtype. A Python float promoting an integer tensor gives float32 (the default).


def _operand_type(x):
    if isinstance(x, Tensor):
        return x.dtype, (2 if x._impl.ndim > 0 else 1)
    if isinstance(x, (bool, np.bool_)):
        return bool_, 0
    if isinstance(x, numbers.Integral):
        return int64, 0
    if isinstance(x, numbers.Real):
        return float32, 0
    raise TypeError(f"unsupported operand type {type(x).__name__}")


def result_type(*operands):
    types = [_operand_type(x) for x in operands]
    cat = builtins.max(d.category for d, _ in types)
    tier = builtins.max(t for d, t in types if d.category == cat)
    cands = [d for d, t in types if d.category == cat and t == tier]
    return builtins.max(cands, key=lambda d: d.code)


def _as_tensor_like(x, ref: Tensor, dt):
    """x (scalar or tensor) as a tensor of dtype dt on ref's device."""
    if isinstance(x, Tensor):
        return x if x.dtype is dt else x.to(dtype=dt)
    return tensor(x, dtype=dt, device=ref.device)


def _check_device(op, a, b):
    if a._impl.device_type != b._impl.device_type or a._impl.device_index != b._impl.device_index:
        raise RuntimeError(f"{op}: expected all tensors on the same device, got {a.device} and {b.device}")


# ---- elementwise -------------------------------------------------------------------------

def _unary(code, x, float_only=True, name=""):
    if not isinstance(x, Tensor):
        x = tensor(x)
    if float_only and not x.dtype.is_floating_point:
        x = x.to(dtype=float32)
    elif x.dtype is bool_ and code != LOGICAL_NOT:
        x = x.to(dtype=int64)
    return _wrap(_C.unary(code, x._impl))


def _binary(code, a, b, out=None):
    name = _BINARY_NAMES[code]
    a_is_t, b_is_t = isinstance(a, Tensor), isinstance(b, Tensor)
    if not a_is_t and not b_is_t:
        a = tensor(a)
        a_is_t = True
    dt = result_type(a, b)
    if code == DIV and dt.category < 2:
        dt = float32                             # true division
    elif dt is bool_ and code in (MAXIMUM, MINIMUM):
        code = LOGICAL_OR if code == MAXIMUM else LOGICAL_AND
    elif dt is bool_ and code < EQ:
        dt = int64                               # bool arithmetic counts in integers
    # Kernels take one dtype for both inputs; scalars travel as a double argument.
    out_impl = None if out is None else out._impl
    if a_is_t and b_is_t:
        _check_device(name, a, b)
        ai = a._impl if a.dtype is dt else _C.cast(a._impl, dt.code)
        bi = b._impl if b.dtype is dt else _C.cast(b._impl, dt.code)
        return _C.binary(code, ai, bi, out_impl)
    t, s, first = (a, b, False) if a_is_t else (b, a, True)
    ti = t._impl if t.dtype is dt else _C.cast(t._impl, dt.code)
    return _C.binary_scalar(code, ti, float(s), first, out_impl)


def _binop(code):
    def f(a, b):
        return _wrap(_binary(code, a, b))
    f.__name__ = _BINARY_NAMES[code]
    return f


add, sub, mul, div, pow, maximum, minimum = (_binop(c) for c in (ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM))
eq, ne, lt, le, gt, ge = (_binop(c) for c in (EQ, NE, LT, LE, GT, GE))
logical_and, logical_or = _binop(LOGICAL_AND), _binop(LOGICAL_OR)
true_divide = div


def _inplace(code):
    def f(self, other):
        res_dt = result_type(self, other)
        if code == DIV and res_dt.category < 2:
            res_dt = float32
        if res_dt.category > self.dtype.category:
            raise TypeError(f"{_BINARY_NAMES[code]}_: result type {res_dt} can't be cast to the "
                            f"in-place output dtype {self.dtype}")
        other = other.to(dtype=self.dtype) if isinstance(other, Tensor) else other
        if isinstance(other, Tensor):
            _check_device(_BINARY_NAMES[code] + "_", self, other)
            _C.binary(code, self._impl, other._impl, self._impl)
        else:
            _C.binary_scalar(code, self._impl, float(other), False, self._impl)
        return self
    return f


def _uop(code, float_only=True):
    def f(x):
        return _unary(code, x, float_only)
    return f


neg, exp, log, sqrt, sigmoid, tanh, reciprocal, sin, cos = (
    _uop(c) for c in (NEG, EXP, LOG, SQRT, SIGMOID, TANH, RECIPROCAL, SIN, COS))
neg = _uop(NEG, False)
abs = _uop(ABS, False)
relu = _uop(RELU, False)
sign = _uop(SIGN, False)
square = _uop(SQUARE, False)
floor, ceil, round = (_uop(c, False) for c in (FLOOR, CEIL, ROUND))
negative = neg


def logical_not(x):
    x = x if x.dtype is bool_ else ne(x, 0)
    return _wrap(_C.unary(LOGICAL_NOT, x._impl))


def where(condition, input, other):
    if not isinstance(condition, Tensor) or condition.dtype is not bool_:
        raise TypeError("where: condition must be a bool tensor")
    ref = input if isinstance(input, Tensor) else (other if isinstance(other, Tensor) else condition)
    dt = result_type(input, other)
    a = _as_tensor_like(input, ref, dt)
    b = _as_tensor_like(other, ref, dt)
    _check_device("where", condition, a)
    _check_device("where", a, b)
    return _wrap(_C.where(condition._impl, a._impl, b._impl))


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    out = x
    if min is not None:
        out = maximum(out, min)
    if max is not None:
        out = minimum(out, max)
    return out


clip = clamp

# ---- reductions ----------------------------------------------------------------------------

_ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


def _dims(x, dim, op):
    if dim is None:
        return []
    if isinstance(dim, (tuple, list)):
        dims = [_norm_dim(d, x.ndim, op) for d in dim]
        if len(set(dims)) != len(dims):
            raise ValueError(f"{op}: dim {tuple(dim)} repeats a dimension")
        return dims if dims else []
    return [_norm_dim(dim, x.ndim, op)]


def _reduce(code, x, dim, keepdim, op):
    dims = _dims(x, dim, op)
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dims = []
    xi = x._impl if x.dtype is not bool_ else _C.cast(x._impl, int64.code)
    return _wrap(_C.reduce(code, xi, dims, keepdim))


def sum(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x.to(dtype=dtype)
    return _reduce(R_SUM, x, dim, keepdim, "sum")


def prod(x, dim=None, keepdim=False):
    return _reduce(R_PROD, x, dim, keepdim, "prod")


def _count(x, dim):
    dims = _dims(x, dim, "mean") or list(range(x.ndim))
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def mean(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x.to(dtype=dtype)
    if not x.dtype.is_floating_point:
        raise TypeError(f"mean: expected a floating point tensor, got {x.dtype} "
                        "(pass dtype=dlcore.float32 or convert with .float())")
    s = sum(x, dim, keepdim)
    n = _count(x, dim)
    return _wrap(_C.binary_scalar(DIV, s._impl, float(n) if n else float("nan"), False, None)) if n else \
        _wrap(_C.binary_scalar(MUL, s._impl, float("nan"), False, None))


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    if not x.dtype.is_floating_point:
        raise TypeError(f"var: expected a floating point tensor, got {x.dtype}")
    if correction is None:
        correction = 1 if (unbiased is None or unbiased) else 0
    n = _count(x, dim)
    # Two passes (mean, then squared deviations): no catastrophic cancellation.
    m = mean(x, dim, keepdim=True)
    d = sub(x, m)
    ss = sum(mul(d, d), dim, keepdim)
    denom = builtins.max(n - correction, 0)
    return div(ss, float(denom)) if denom > 0 else mul(ss, float("nan"))


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return sqrt(var(x, dim, unbiased, keepdim, correction))


def _extreme(code, arg_code, x, dim, keepdim, op):
    if x.numel() == 0 and (dim is None or x.shape[_norm_dim(dim, x.ndim, op)] == 0):
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    if dim is None:
        return _reduce(code, x, None, False, op)
    if x.dtype is bool_:
        x = x.to(dtype=int64)
    d = _norm_dim(dim, x.ndim, op)
    return _ValuesIndices(_reduce(code, x, d, keepdim, op), _reduce(arg_code, x, d, keepdim, op))


def max(x, dim=None, keepdim=False):
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    return _extreme(R_MAX, R_ARGMAX, x, dim, keepdim, "max")


def min(x, dim=None, keepdim=False):
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    return _extreme(R_MIN, R_ARGMIN, x, dim, keepdim, "min")


def amax(x, dim=None, keepdim=False):
    return _reduce(R_MAX, x, dim, keepdim, "amax")


def amin(x, dim=None, keepdim=False):
    return _reduce(R_MIN, x, dim, keepdim, "amin")


def _arg(code, x, dim, keepdim, op):
    if x.numel() == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    if dim is None:
        r = _reduce(code, x, None, False, op)
        return r.reshape([1] * x.ndim) if keepdim else r
    return _reduce(code, x, _norm_dim(dim, x.ndim, op), keepdim, op)


def argmax(x, dim=None, keepdim=False):
    return _arg(R_ARGMAX, x, dim, keepdim, "argmax")


def argmin(x, dim=None, keepdim=False):
    return _arg(R_ARGMIN, x, dim, keepdim, "argmin")


# ---- views ----------------------------------------------------------------------------------

def as_strided(x, size, stride, storage_offset=None):
    off = x._impl.offset if storage_offset is None else storage_offset
    return _wrap(x._impl.as_strided(list(size), list(stride), int(off)))


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


def view(x, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, Size)) and not isinstance(shape[0], numbers.Integral):
        return x.to(dtype=shape[0])
    shape = _infer_shape(x, _shape_arg(shape, "view"), "view")
    st = _view_strides(x.shape, x.stride(), shape) if x.numel() else [1] * len(shape)
    if st is None:
        raise RuntimeError(f"view: shape {tuple(shape)} is not compatible with the input's size and strides "
                           f"(shape {tuple(x.shape)}, strides {x.stride()}); use .reshape() instead")
    return as_strided(x, shape, st)


def reshape(x, *shape):
    shape = _infer_shape(x, _shape_arg(shape, "reshape"), "reshape")
    st = _view_strides(x.shape, x.stride(), shape) if x.numel() else None
    if st is not None:
        return as_strided(x, shape, st)
    c = x.contiguous() if x.numel() else _wrap(_C.empty(list(shape), x._impl.dtype, x._impl.device_type, x._impl.device_index))
    return as_strided(c, shape, _contig_strides(shape))


def _contig_strides(shape):
    st, acc = [], 1
    for s in reversed(shape):
        st.append(acc)
        acc *= builtins.max(s, 1)
    return st[::-1]


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    s = _norm_dim(start_dim, x.ndim, "flatten")
    e = _norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = list(x.shape)
    return reshape(x, shape[:s] + [-1 if x.numel() else int(np.prod(shape[s:e + 1]))] + shape[e + 1:])


def permute(x, *dims):
    dims = _shape_arg(dims, "permute")
    if len(dims) != x.ndim:
        raise ValueError(f"permute: expected {x.ndim} dims for a tensor of shape {tuple(x.shape)}, got {dims}")
    dims = [_norm_dim(d, x.ndim, "permute") for d in dims]
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {tuple(dims)} is not a permutation of the dims of shape {tuple(x.shape)}")
    sh, st = x.shape, x.stride()
    return as_strided(x, [sh[d] for d in dims], [st[d] for d in dims])


def transpose(x, dim0, dim1):
    if x.ndim == 0:
        return x
    d0, d1 = _norm_dim(dim0, x.ndim, "transpose"), _norm_dim(dim1, x.ndim, "transpose")
    order = list(range(x.ndim))
    order[d0], order[d1] = order[d1], order[d0]
    return permute(x, *order)


def t(x):
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def squeeze(x, dim=None):
    sh, st = list(x.shape), list(x.stride())
    if dim is None:
        keep = [i for i, s in enumerate(sh) if s != 1]
    else:
        dims = set(_dims(x, dim, "squeeze"))
        keep = [i for i, s in enumerate(sh) if not (i in dims and s == 1)]
    return as_strided(x, [sh[i] for i in keep], [st[i] for i in keep])


def unsqueeze(x, dim):
    d = _norm_dim(dim, x.ndim + 1, "unsqueeze")
    sh, st = list(x.shape), list(x.stride())
    new_st = st[d] * sh[d] if d < x.ndim else 1
    return as_strided(x, sh[:d] + [1] + sh[d:], st[:d] + [new_st] + st[d:])


def expand(x, *sizes):
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
    return as_strided(x, out_sh, out_st)


def broadcast_to(x, shape):
    return expand(x, *shape)


def expand_as(x, other):
    return expand(x, *other.shape)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    # PyTorch skips 1-D empty tensors (legacy behaviour) — so do we.
    ref = next((t for t in tensors if not (t.ndim == 1 and t.numel() == 0)), tensors[0])
    d = _norm_dim(dim, ref.ndim, "cat")
    dt = result_type(*tensors) if len(tensors) > 1 else ref.dtype
    parts = [t for t in tensors if not (t.ndim == 1 and t.numel() == 0 and ref.ndim != 1)]
    shape = list(ref.shape)
    total = 0
    for t in parts:
        _check_device("cat", ref, t)
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape)) if i != d):
            raise ValueError(f"cat: tensors must match in every dim but {d}; got shapes "
                             f"{[tuple(x.shape) for x in tensors]}")
        total += t.shape[d]
    shape[d] = total
    out = _wrap(_C.empty(shape, dt.code, ref._impl.device_type, ref._impl.device_index))
    pos = 0
    for t in parts:
        n = t.shape[d]
        if n:
            _C.copy_(narrow(out, d, pos, n)._impl, t._impl)
        pos += n
    return out


concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shape0 = tuple(tensors[0].shape)
    for t in tensors:
        if tuple(t.shape) != shape0:
            raise ValueError(f"stack: all tensors must have the same shape, got {[tuple(x.shape) for x in tensors]}")
    d = _norm_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def narrow(x, dim, start, length):
    d = _norm_dim(dim, x.ndim, "narrow")
    sh, st = list(x.shape), list(x.stride())
    if start < 0:
        start += sh[d]
    if start < 0 or length < 0 or start + length > sh[d]:
        raise IndexError(f"narrow: range [{start}, {start + length}) out of bounds for dim {d} of size {sh[d]}")
    sh[d] = length
    return as_strided(x, sh, st, x._impl.offset + start * st[d])


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
    return as_strided(x, new_sh, new_st, off)


def _advanced_positions(x, idx):
    """The single advanced index (on dim `d` after basic indexing) as an int64 NumPy array."""
    adv = [k for k, i in enumerate(idx) if _is_advanced(i)]
    if len(adv) != 1:
        raise IndexError("only one integer/bool tensor index per indexing expression is supported")
    return adv[0]


def getitem(x, idx):
    idx = _expand_index(x, idx)
    if not builtins.any(_is_advanced(i) for i in idx):
        return _basic_view(x, idx)
    k = _advanced_positions(x, idx)
    sel = idx[k]
    # Apply the basic part with a full slice in place of the advanced index, then gather.
    view_ = _basic_view(x, idx[:k] + [slice(None)] + idx[k + 1:])
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
    # Gather along dim d on the host through NumPy, then return to the tensor's device.
    # (A device-side index_select kernel arrives with the embedding layers.)
    host = np.asarray(view_)
    return tensor(np.take(host, sel_np, axis=d), device=x.device)


def setitem(x, idx, value):
    if isinstance(idx, Tensor) and idx.dtype is bool_ and tuple(idx.shape) == tuple(x.shape):
        v = value if isinstance(value, Tensor) else tensor(value, dtype=x.dtype, device=x.device)
        _C.copy_(x._impl, where(idx, v.to(dtype=x.dtype), x)._impl)
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


# ---- matmul -----------------------------------------------------------------------------------

def matmul(a, b):
    from .backends import cuda as _bc
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: expected tensors, got {type(a).__name__} and {type(b).__name__}")
    return _wrap(_C.matmul(a._impl, b._impl, _bc.matmul.allow_tf32 and a.is_cuda))


mm = matmul


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"bmm: expected 3-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: expected 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


# ---- method installation ----------------------------------------------------------------------

def _install_methods(T):
    def rev(fn):
        return lambda self, other: fn(other, self)

    methods = dict(
        add=add, sub=sub, mul=mul, div=div, pow=pow, maximum=maximum, minimum=minimum,
        eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, logical_and=logical_and, logical_or=logical_or,
        logical_not=logical_not, neg=neg, negative=neg, abs=abs, exp=exp, log=log, sqrt=sqrt,
        sigmoid=sigmoid, tanh=tanh, relu=relu, sign=sign, reciprocal=reciprocal, square=square,
        sin=sin, cos=cos, floor=floor, ceil=ceil, round=round, clamp=clamp, clip=clamp,
        sum=sum, prod=prod, mean=mean, var=var, std=std, max=max, min=min, amax=amax, amin=amin,
        argmax=argmax, argmin=argmin, view=view, reshape=reshape, flatten=flatten, permute=permute,
        transpose=transpose, t=t, squeeze=squeeze, unsqueeze=unsqueeze, expand=expand,
        expand_as=expand_as, broadcast_to=broadcast_to, narrow=narrow, as_strided=as_strided,
        matmul=matmul, mm=mm, bmm=bmm, dot=dot,
        __add__=add, __radd__=rev(add), __sub__=sub, __rsub__=rev(sub), __mul__=mul, __rmul__=rev(mul),
        __truediv__=div, __rtruediv__=rev(div), __pow__=pow, __rpow__=rev(pow),
        __matmul__=matmul, __rmatmul__=rev(matmul),
        __eq__=eq, __ne__=ne, __lt__=lt, __le__=le, __gt__=gt, __ge__=ge,
        __neg__=neg, __abs__=abs, __getitem__=getitem, __setitem__=setitem,
        __and__=logical_and, __or__=logical_or, __invert__=logical_not,
    )
    for code, name in ((ADD, "add"), (SUB, "sub"), (MUL, "mul"), (DIV, "div")):
        f = _inplace(code)
        methods[name + "_"] = f
        methods[f"__i{name if name != 'div' else 'truediv'}__"] = f
    methods["__floordiv__"] = floor_divide
    methods["__rfloordiv__"] = rev(floor_divide)
    for name, fn in methods.items():
        setattr(T, name, fn)
    T.T = property(lambda self: permute(self, *reversed(range(self.ndim))))
    T.mT = property(lambda self: transpose(self, -2, -1))


def floor_divide(a, b):
    """a // b: floor of the true quotient for floats; exact floor division for int64."""
    if result_type(a, b).category == 2:
        return floor(div(a, b))
    a = a if isinstance(a, Tensor) else tensor(a, dtype=int64, device=b.device)
    if isinstance(b, Tensor):       # the kernel's int64 Div is floor division
        _check_device("floor_divide", a, b)
        return _wrap(_C.binary(DIV, a.long()._impl, b.long()._impl, None))
    return _wrap(_C.binary_scalar(DIV, a.long()._impl, float(b), False, None))

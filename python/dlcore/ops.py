"""Tensor operations: promotion, broadcasting and views in Python, the work in ``_C``.

Each function here is the forward computation; ``Tensor`` methods and operators are bound to
these functions by ``_install_methods`` at the end.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import builtins
import collections
import numbers

import numpy as np

from . import _C
from . import backends as _backends

if TYPE_CHECKING:
    from ._dtype import dtype

_tf32_switch = _backends.cuda.matmul   # the object `dlcore.backends.cuda.matmul.allow_tf32 = x` sets
from ._dtype import as_device, as_dtype, bool_, float32, float64, int64, CPU
from .autograd import record, needs_grad, _enabled as _grad_enabled
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


def result_type(*operands: Tensor | float) -> dtype:
    """The dtype an operation on these operands produces, by PyTorch's promotion rules."""
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
    a_is_t, b_is_t = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_is_t and b_is_t:   # fast path (decided in C++): same float dtype, same device
        r = _C.binary_same(code, a._impl, b._impl, None if out is None else out._impl)
        if r is not None:
            return r
    elif a_is_t and a._impl.dtype >= 2 and isinstance(b, (float, int)) and not isinstance(b, bool):
        return _C.binary_scalar(code, a._impl, float(b), False, None if out is None else out._impl)
    name = _BINARY_NAMES[code]
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


def sum_to(g: Tensor, shape: Sequence[int]) -> Tensor:
    """Sums a broadcast gradient back down to `shape` (the inverse of broadcasting)."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    lead = g.ndim - len(shape)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1]
    r = sum(g, dims, keepdim=True) if dims else g
    return reshape(r, shape)


def _grads(a, b, ga, gb):
    """Per-input gradients, reduced to each tensor input's shape (None for scalars)."""
    return (sum_to(ga(), a.shape) if isinstance(a, Tensor) and a.requires_grad else None,
            sum_to(gb(), b.shape) if isinstance(b, Tensor) and b.requires_grad else None)


def add(a: Tensor | float, b: Tensor | float) -> Tensor:
    """a + b elementwise, with broadcasting and type promotion."""
    out = _wrap(_binary(ADD, a, b))
    if not needs_grad(a, b):   # checked first: building the backward closure costs ~0.1 us
        return out
    return record(out, "add", (a, b), lambda g: _grads(a, b, lambda: g, lambda: g))


def sub(a: Tensor | float, b: Tensor | float) -> Tensor:
    """a - b elementwise, with broadcasting and type promotion."""
    out = _wrap(_binary(SUB, a, b))
    if not needs_grad(a, b):
        return out
    return record(out, "sub", (a, b), lambda g: _grads(a, b, lambda: g, lambda: neg(g)))


def mul(a: Tensor | float, b: Tensor | float) -> Tensor:
    """a * b elementwise, with broadcasting and type promotion."""
    out = _wrap(_binary(MUL, a, b))
    if not needs_grad(a, b):
        return out
    return record(out, "mul", (a, b), lambda g: _grads(a, b, lambda: mul(g, b), lambda: mul(g, a)))


def div(a: Tensor | float, b: Tensor | float) -> Tensor:
    """a / b elementwise (true division: integers give float32), with broadcasting."""
    out = _wrap(_binary(DIV, a, b))
    if not needs_grad(a, b):
        return out
    return record(out, "div", (a, b),
                  lambda g: _grads(a, b, lambda: div(g, b), lambda: neg(mul(g, div(out, b)))))


def pow(a: Tensor | float, b: Tensor | float) -> Tensor:
    """a ** b elementwise, with broadcasting."""
    out = _wrap(_binary(POW, a, b))
    if not needs_grad(a, b):
        return out

    def backward(g):
        # d(a^b)/da = b a^(b-1);  d(a^b)/db = a^b log a
        return _grads(a, b, lambda: mul(g, mul(b, pow(a, sub(b, 1) if isinstance(b, Tensor) else b - 1))),
                      lambda: mul(g, mul(out, log(a))))
    return record(out, "pow", (a, b), backward)


def _extremum(code, a, b):
    out = _wrap(_binary(code, a, b))
    if not needs_grad(a, b):
        return out

    def backward(g):
        # The larger (smaller) input takes the gradient; exact ties split it evenly.
        a_wins = (gt if code == MAXIMUM else lt)(a, b)
        ties = eq(a, b)
        if not isinstance(b, Tensor):     # against a constant, a tie counts for the tensor
            return (where(a_wins | ties, g, 0.0), None)
        if not isinstance(a, Tensor):
            return (None, where(a_wins | ties, 0.0, g))
        half = mul(g, 0.5)
        ga = where(a_wins, g, where(ties, half, 0.0))
        gb = where(a_wins, 0.0, where(ties, half, g))
        return (sum_to(ga, a.shape) if a.requires_grad else None,
                sum_to(gb, b.shape) if b.requires_grad else None)
    return record(out, "maximum" if code == MAXIMUM else "minimum", (a, b), backward)


def maximum(a: Tensor | float, b: Tensor | float) -> Tensor:
    """The elementwise maximum of a and b, with broadcasting."""
    return _extremum(MAXIMUM, a, b)


def minimum(a: Tensor | float, b: Tensor | float) -> Tensor:
    """The elementwise minimum of a and b, with broadcasting."""
    return _extremum(MINIMUM, a, b)


def _cmp(code: int) -> Callable[[Tensor | float, Tensor | float], Tensor]:
    def f(a, b):
        return _wrap(_binary(code, a, b))
    f.__name__ = _BINARY_NAMES[code]
    return f


eq, ne, lt, le, gt, ge = (_cmp(c) for c in (EQ, NE, LT, LE, GT, GE))
logical_and, logical_or = _cmp(LOGICAL_AND), _cmp(LOGICAL_OR)
true_divide = div


def _check_inplace(self, op):
    if needs_grad(self):
        raise RuntimeError(f"{op}: in-place operation on a tensor that requires grad "
                           "(wrap it in dlcore.no_grad() or use the out-of-place op)")


def _inplace(code: int) -> Callable[[Tensor, Tensor | float], Tensor]:
    def f(self, other):
        _check_inplace(self, _BINARY_NAMES[code] + "_")
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


def _unary_op(code: int, name: str, float_only: bool, grad_fn: Any) -> Callable[[Tensor], Tensor]:
    """A unary op; grad_fn(x, out, g) is its backward (None: not differentiable)."""
    def f(x):
        out = _unary(code, x, float_only)
        if grad_fn is None or not needs_grad(x):
            return out
        return record(out, name, (x,), lambda g: (grad_fn(x, out, g),))
    f.__name__ = name
    return f


neg: Callable[[Tensor], Tensor] = _unary_op(NEG, "neg", False, lambda x, y, g: neg(g))
abs = _unary_op(ABS, "abs", False, lambda x, y, g: mul(g, sign(x)))
exp = _unary_op(EXP, "exp", True, lambda x, y, g: mul(g, y))
log = _unary_op(LOG, "log", True, lambda x, y, g: div(g, x))
sqrt = _unary_op(SQRT, "sqrt", True, lambda x, y, g: div(g, mul(y, 2.0)))
sigmoid = _unary_op(SIGMOID, "sigmoid", True, lambda x, y, g: mul(g, mul(y, sub(1.0, y))))
tanh = _unary_op(TANH, "tanh", True, lambda x, y, g: mul(g, sub(1.0, mul(y, y))))
relu = _unary_op(RELU, "relu", False, lambda x, y, g: where(gt(x, 0), g, 0.0))
reciprocal = _unary_op(RECIPROCAL, "reciprocal", True, lambda x, y, g: neg(mul(g, mul(y, y))))
square = _unary_op(SQUARE, "square", False, lambda x, y, g: mul(g, mul(x, 2.0)))
sin: Callable[[Tensor], Tensor] = _unary_op(SIN, "sin", True, lambda x, y, g: mul(g, cos(x)))
cos: Callable[[Tensor], Tensor] = _unary_op(COS, "cos", True, lambda x, y, g: neg(mul(g, sin(x))))
# Piecewise-constant functions: zero gradient almost everywhere (as in PyTorch).
_zero_grad = lambda x, y, g: mul(g, 0.0)  # noqa: E731
sign: Callable[[Tensor], Tensor] = _unary_op(SIGN, "sign", False, _zero_grad)
floor = _unary_op(FLOOR, "floor", False, _zero_grad)
ceil = _unary_op(CEIL, "ceil", False, _zero_grad)
round = _unary_op(ROUND, "round", False, _zero_grad)
negative = neg


def logical_not(x: Tensor) -> Tensor:
    """True where x is zero, elementwise (a bool tensor)."""
    x = x if x.dtype is bool_ else ne(x, 0)
    return _wrap(_C.unary(LOGICAL_NOT, x._impl))


def where(condition: Tensor, input: Tensor | float, other: Tensor | float) -> Tensor:
    """input where condition is True, other elsewhere (all three broadcast together)."""
    if not isinstance(condition, Tensor) or condition.dtype is not bool_:
        raise TypeError("where: condition must be a bool tensor")
    ref = input if isinstance(input, Tensor) else (other if isinstance(other, Tensor) else condition)
    dt = result_type(input, other)
    a = _as_tensor_like(input, ref, dt)
    b = _as_tensor_like(other, ref, dt)
    _check_device("where", condition, a)
    _check_device("where", a, b)
    out = _wrap(_C.where(condition._impl, a._impl, b._impl))
    return record(out, "where", (input, other), lambda g: _grads(
        input, other, lambda: where(condition, g, 0.0), lambda: where(condition, 0.0, g)))


def clamp(x: Tensor, min: Tensor | float | None = None, max: Tensor | float | None = None) -> Tensor:
    """x clipped to [min, max] elementwise (either bound may be None)."""
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

_ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])  # type: ignore[name-match]


def _dims(x, dim, op):
    if dim is None:
        return []
    if type(dim) is int:   # the common case, checked without the general path's calls
        n = x._impl.ndim or 1
        if -n <= dim < n:
            return [dim % n]
    if isinstance(dim, (tuple, list)):
        dims = [_norm_dim(d, x.ndim, op) for d in dim]
        if len(set(dims)) != len(dims):
            raise ValueError(f"{op}: dim {tuple(dim)} repeats a dimension")
        return dims if dims else []
    return [_norm_dim(dim, x.ndim, op)]


def _reduce(code, x, dim, keepdim, op):
    # (The kernel reduces bool as int64 and wraps negative dims itself.)
    return _wrap(_C.reduce(code, x._impl, _dims(x, dim, op), keepdim))


def _expand_back(g, x, dim, keepdim):
    """A reduced gradient re-expanded (as a broadcast view) to x's shape."""
    if not keepdim:
        dims = sorted(_dims(x, dim, "backward")) if dim is not None and dim != () else list(range(x.ndim))
        for d in dims:
            g = unsqueeze(g, d)
    return expand(g, *x.shape)


def sum(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False,
        dtype: dtype | str | type | None = None) -> Tensor:
    """The sum over dim (one int, several, or all dims when None); keepdim keeps reduced dims as size 1."""
    if dtype is not None:
        x = x.to(dtype=dtype)
    if type(dim) is int:    # the common case: the kernel's binding checks and wraps the dim
        out = _wrap(_C.reduce(R_SUM, x._impl, [dim], keepdim))
    else:
        out = _reduce(R_SUM, x, dim, keepdim, "sum")
    if not needs_grad(x):   # checked first, as in add: no backward closure to build
        return out
    return record(out, "sum", (x,), lambda g: (_expand_back(g, x, dim, keepdim),))


def prod(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """The product over dim (all elements when None)."""
    out = _reduce(R_PROD, x, dim, keepdim, "prod")
    # d(prod)/dx_i = prod / x_i (inputs with zeros get no special care).
    return record(out, "prod", (x,), lambda g: (div(mul(_expand_back(g, x, dim, keepdim),
                                                          _expand_back(out, x, dim, keepdim)), x),))


def _count(x, dim):
    dims = _dims(x, dim, "mean") or list(range(x.ndim))
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def mean(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False,
         dtype: dtype | str | type | None = None) -> Tensor:
    """The mean over dim (one int, several, or all dims when None)."""
    if dtype is not None:
        x = x.to(dtype=dtype)
    if not x.dtype.is_floating_point:
        raise TypeError(f"mean: expected a floating point tensor, got {x.dtype} "
                        "(pass dtype=dlcore.float32 or convert with .float())")
    n = _count(x, dim)
    s = float(n) if n else float("nan")
    out = _reduce(R_SUM, x, dim, keepdim, "mean")
    _C.binary_scalar(DIV, out._impl, s, False, out._impl)   # in place: one op, not sum then div
    if not needs_grad(x):
        return out
    return record(out, "mean", (x,), lambda g: (_expand_back(div(g, s), x, dim, keepdim),))


def var(x: Tensor, dim: int | Sequence[int] | None = None, unbiased: Optional[bool] = None,
        keepdim: bool = False, correction: Optional[float] = None) -> Tensor:
    """The variance over dim, with Bessel's correction unless unbiased=False or correction says otherwise."""
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


def std(x: Tensor, dim: int | Sequence[int] | None = None, unbiased: Optional[bool] = None,
        keepdim: bool = False, correction: Optional[float] = None) -> Tensor:
    """The standard deviation over dim: sqrt(var(...))."""
    return sqrt(var(x, dim, unbiased, keepdim, correction))


def _extreme_values(code, x, dim, keepdim, op):
    out = _reduce(code, x, dim, keepdim, op)
    if not needs_grad(x):
        return out

    def backward(g):
        # Elements equal to the extreme share the gradient evenly (as torch.amax does).
        hit = eq(x, _expand_back(out, x, dim, keepdim)).to(dtype=x.dtype)
        count = sum(hit, dim, keepdim=True) if dim is not None else sum(hit)
        return (mul(hit, div(_expand_back(g, x, dim, keepdim), count)),)
    return record(out, op, (x,), backward)


def _extreme(code, arg_code, x, dim, keepdim, op):
    if x.numel() == 0 and (dim is None or x.shape[_norm_dim(dim, x.ndim, op)] == 0):
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    if dim is None:
        return _extreme_values(code, x, None, False, op)
    if x.dtype is bool_:
        x = x.to(dtype=int64)
    d = _norm_dim(dim, x.ndim, op)
    return _ValuesIndices(_extreme_values(code, x, d, keepdim, op), _reduce(arg_code, x, d, keepdim, op))


def max(x: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Any:
    """max(x): the largest element; max(x, dim): (values, indices) along dim; max(x, other): the
    elementwise maximum."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    return _extreme(R_MAX, R_ARGMAX, x, dim, keepdim, "max")


def min(x: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Any:
    """min(x): the smallest element; min(x, dim): (values, indices) along dim; min(x, other): the
    elementwise minimum."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    return _extreme(R_MIN, R_ARGMIN, x, dim, keepdim, "min")


def amax(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """The largest values over dim (one int, several, or all dims when None), without indices."""
    return _extreme_values(R_MAX, x, dim, keepdim, "amax")


def amin(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """The smallest values over dim (one int, several, or all dims when None), without indices."""
    return _extreme_values(R_MIN, x, dim, keepdim, "amin")


def _arg(code, x, dim, keepdim, op):
    if x.numel() == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    if dim is None:
        r = _reduce(code, x, None, False, op)
        return r.reshape([1] * x.ndim) if keepdim else r
    return _reduce(code, x, _norm_dim(dim, x.ndim, op), keepdim, op)


def all(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """True where every element (along dim) is nonzero: no element equals zero."""
    return eq(_reduce(R_SUM, eq(x, 0), dim, keepdim, "all"), 0)


def any(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """True where some element (along dim) is nonzero."""
    return gt(_reduce(R_SUM, ne(x, 0), dim, keepdim, "any"), 0)


def argmax(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """The index of the largest value along dim (of the flattened tensor when dim is None)."""
    return _arg(R_ARGMAX, x, dim, keepdim, "argmax")


def argmin(x: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """The index of the smallest value along dim (of the flattened tensor when dim is None)."""
    return _arg(R_ARGMIN, x, dim, keepdim, "argmin")


# ---- matmul -----------------------------------------------------------------------------------

def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: vectors, matrices and broadcast batches of matrices."""
    if type(a) is not Tensor or type(b) is not Tensor:   # (a subclass takes the slower check)
        if not isinstance(a, Tensor) or not isinstance(b, Tensor):
            raise TypeError(f"matmul: expected tensors, got {type(a).__name__} and {type(b).__name__}")
    ai, bi = a._impl, b._impl
    tf32 = _tf32_switch.allow_tf32   # read by the CUDA GEMM only
    if not (a.requires_grad or b.requires_grad) or not _grad_enabled[0]:
        return _wrap(_C.matmul(ai, bi, tf32))
    if a.ndim == 1 or b.ndim == 1:
        # Vectors as (1, K) / (K, 1) matrices, so one backward rule covers every case.
        a2 = unsqueeze(a, 0) if a.ndim == 1 else a
        b2 = unsqueeze(b, -1) if b.ndim == 1 else b
        out = matmul(a2, b2)
        if b.ndim == 1:
            out = squeeze(out, -1)
        if a.ndim == 1:
            out = squeeze(out, -2 if b.ndim > 1 else -1)
        return out
    out = _wrap(_C.matmul(ai, bi, tf32))
    # dA = dC @ B^T, dB = A^T @ dC; transposes are views the GEMM reads in place.
    return record(out, "matmul", (a, b), lambda g: (
        sum_to(matmul(g, b.mT), a.shape) if a.requires_grad else None,
        sum_to(matmul(a.mT, g), b.shape) if b.requires_grad else None))


mm = matmul


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched matrix product of (B, n, k) and (B, k, m) tensors."""
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"bmm: expected 3-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    """The inner product of two 1-D tensors."""
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: expected 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


# ---- method installation ----------------------------------------------------------------------

from .views import (view, reshape, flatten, permute, transpose, t, squeeze, unsqueeze, expand,  # noqa: E402
                    expand_as, broadcast_to, narrow, as_strided, cat, concatenate, stack, getitem,
                    setitem, contiguous, clone, to, index_select, diagonal)


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
        argmax=argmax, argmin=argmin, all=all, any=any, view=view, reshape=reshape, flatten=flatten, permute=permute,
        transpose=transpose, t=t, squeeze=squeeze, unsqueeze=unsqueeze, expand=expand,
        expand_as=expand_as, broadcast_to=broadcast_to, narrow=narrow, as_strided=as_strided,
        matmul=matmul, mm=mm, bmm=bmm, dot=dot, contiguous=contiguous, clone=clone, to=to,
        index_select=index_select, diagonal=diagonal,
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


def floor_divide(a: Tensor | float, b: Tensor | float) -> Tensor:
    """a // b: floor of the true quotient for floats; exact floor division for int64."""
    if result_type(a, b).category == 2:
        return floor(div(a, b))
    if not isinstance(a, Tensor):   # two Python ints: a 0-d int64 result on the CPU, as add(7, 2)
        a = tensor(a, dtype=int64, device=b.device if isinstance(b, Tensor) else None)
    if isinstance(b, Tensor):       # the kernel's int64 Div is floor division
        _check_device("floor_divide", a, b)
        return _wrap(_C.binary(DIV, a.long()._impl, b.long()._impl, None))
    return _wrap(_C.binary_scalar(DIV, a.long()._impl, float(b), False, None))

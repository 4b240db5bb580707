"""Numerics: norms (norm, linalg.vector_norm, linalg.matrix_norm), comparisons (allclose,
isclose, equal), NaN/inf tests and repair (isnan, isinf, isfinite, nan_to_num), lerp, and the
in-place fills and clamps (uniform_, normal_, clamp_).

All but the singular-value matrix norms (ord 2, -2, 'nuc': LAPACK's SVD through NumPy) are
compositions of the elementwise and reduction kernels; all run on either device and carry their
gradients.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import math
import numbers

import numpy as np

from . import _C, random as _random
from ._dtype import float32
from .tensor import Tensor, _wrap, _norm_dim, tensor
from . import ops as _ops

if TYPE_CHECKING:
    from ._dtype import dtype


def _float(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a tensor, got {type(x).__name__}")
    return x if x.dtype.is_floating_point else x.to(dtype=float32)


# ---- norms ----------------------------------------------------------------------------------------

def vector_norm(x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False,
                dtype: dtype | str | type | None = None) -> Tensor:
    """The vector p-norm over dim (all dims when None): ord in {inf, -inf, 0, p > 0, p < 0}."""
    x = _float(x, "vector_norm")
    if dtype is not None:
        x = x.to(dtype=dtype)
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if dim is not None and len(dim) == 0:
        dim = None
    a = _ops.abs(x)
    if ord == math.inf:
        return _ops.amax(a, dim, keepdim) if dim is not None or x.numel() else tensor(0.0, dtype=x.dtype)
    if ord == -math.inf:
        return _ops.amin(a, dim, keepdim)
    if ord == 0:
        return _ops.sum(_ops.ne(x, 0).to(dtype=x.dtype), dim, keepdim)
    if ord == 1:
        return _ops.sum(a, dim, keepdim)
    if ord == 2:
        return _ops.sqrt(_ops.sum(_ops.mul(x, x), dim, keepdim))
    if not isinstance(ord, numbers.Real):
        raise ValueError(f"vector_norm: ord must be a number or +-inf, got {ord!r}")
    return _ops.pow(_ops.sum(_ops.pow(a, float(ord)), dim, keepdim), 1.0 / float(ord))


def matrix_norm(A: Tensor, ord: str | float = "fro", dim: Sequence[int] = (-2, -1),
                keepdim: bool = False) -> Tensor:
    """Matrix norms over the two dims `dim`: 'fro', 1 / -1 (max / min column abs sum),
    inf / -inf (max / min row abs sum), 2 / -2 (largest / smallest singular value) and 'nuc'
    (sum of the singular values)."""
    A = _float(A, "matrix_norm")
    if A.ndim < 2:
        raise ValueError(f"matrix_norm: expected a tensor with >= 2 dims, got shape {tuple(A.shape)}")
    r, c = (_norm_dim(d, A.ndim, "matrix_norm") for d in dim)
    if r == c:
        raise ValueError(f"matrix_norm: dim {tuple(dim)} names one dimension twice")
    if ord == "fro":
        return vector_norm(A, 2, (r, c), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        a = _ops.abs(A)
        first, second = (r, c) if ord in (1, -1) else (c, r)   # sum over rows for column sums
        s = _ops.sum(a, first, keepdim=True)
        red = _ops.amax if ord in (1, math.inf) else _ops.amin
        out = red(s, second, keepdim=True)
        if not keepdim:
            out = out.squeeze((r, c))
        return out
    if ord in (2, -2, "nuc"):
        return _singular_value_norm(A, ord, r, c, keepdim)
    raise ValueError(f"matrix_norm: ord {ord!r} is not supported (use 'fro', 'nuc', 1, -1, 2, -2, "
                     "inf or -inf)")


def _singular_value_norm(A, ord, r, c, keepdim):
    """ord 2 / -2 / 'nuc' from the singular values of each matrix. They come from LAPACK's SVD
    through NumPy (the one run-time dependency), on the host: a norm of this kind is evaluated
    once per matrix, far from any hot loop, and an SVD kernel of our own would add nothing.
    Gradients: d s_max = u_1 v_1^T, d s_min = u_k v_k^T, d sum(s) = U V^T (distinct singular
    values; the same as torch.linalg.matrix_norm)."""
    nd = A.ndim
    perm = [d for d in range(nd) if d not in (r, c)] + [r, c]
    a = np.ascontiguousarray(np.transpose(A.detach().cpu().numpy(), perm))
    m, n = a.shape[-2], a.shape[-1]
    if min(m, n) == 0:
        if ord == -2:
            raise ValueError(f"matrix_norm: ord -2 of an empty matrix (shape {tuple(A.shape)})")
        val = np.zeros(a.shape[:-2], a.dtype)
        G = np.zeros_like(a)
    else:
        u, sv, vh = np.linalg.svd(a, full_matrices=False)
        if ord == "nuc":
            val, G = sv.sum(-1), u @ vh
        else:
            k = 0 if ord == 2 else min(m, n) - 1   # (singular values come sorted, largest first)
            val, G = sv[..., k], u[..., :, k:k + 1] @ vh[..., k:k + 1, :]
    out = tensor(np.asarray(val, dtype=a.dtype), dtype=A.dtype, device=A.device)
    if keepdim:
        for d in sorted((r, c)):
            out = out.unsqueeze(d)
    inv = list(np.argsort(perm))

    def backward(g):
        gg = g if not keepdim else g.squeeze((r, c))
        Gt = tensor(np.ascontiguousarray(G), dtype=A.dtype, device=A.device)
        return (_ops.mul(Gt, gg.unsqueeze(-1).unsqueeze(-1)).permute(*inv),)
    return _ops.record(out, "matrix_norm", (A,), backward)


def norm(input: Tensor, p: str | float | None = "fro", dim: int | Sequence[int] | None = None,
         keepdim: bool = False, dtype: dtype | str | type | None = None) -> Tensor:
    """torch.norm: 'fro' / a number p as the vector norm over dim; 'nuc' over two dims (all of a
    2-D input when dim is None)."""
    if isinstance(p, str):
        if p == "nuc":
            d2 = (-2, -1) if dim is None and input.ndim == 2 else dim
            if d2 is None or isinstance(d2, numbers.Integral) or len(d2) != 2:
                raise ValueError(f"norm: p='nuc' needs two dims (or a 2-D input), got dim={dim!r}")
            return matrix_norm(input, "nuc", tuple(d2), keepdim)
        if p != "fro":
            raise ValueError(f"norm: p={p!r} is not supported (use 'fro', 'nuc' or a number)")
        if dim is not None and not isinstance(dim, numbers.Integral) and len(dim) == 2:
            return matrix_norm(input, "fro", tuple(dim), keepdim)
        p = 2
    if p is None:
        p = 2
    return vector_norm(input, p, dim, keepdim, dtype)


class linalg:
    """dlcore.linalg: the norms (a namespace, as torch.linalg)."""
    vector_norm = staticmethod(vector_norm)
    matrix_norm = staticmethod(matrix_norm)

    @staticmethod
    def norm(A: Tensor, ord: str | float | None = None, dim: int | Sequence[int] | None = None,
             keepdim: bool = False) -> Tensor:
        if ord is None:
            return vector_norm(A, 2, dim, keepdim)
        if isinstance(ord, str) or (dim is not None and not isinstance(dim, numbers.Integral) and len(dim) == 2) \
                or (dim is None and A.ndim == 2):
            return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim)
        return vector_norm(A, ord, dim, keepdim)


# ---- comparisons and special values ---------------------------------------------------------

def isnan(input: Tensor) -> Tensor:
    if not input.dtype.is_floating_point:
        return _ops.ne(input, input)   # all False, in the right shape
    return _ops.ne(input, input)


def isinf(input: Tensor) -> Tensor:
    if not input.dtype.is_floating_point:
        return _ops.ne(input, input)
    return _ops.eq(_ops.abs(input), math.inf)


def isfinite(input: Tensor) -> Tensor:
    if not input.dtype.is_floating_point:
        return _ops.eq(input, input)
    return _ops.logical_not(_ops.logical_or(isnan(input), isinf(input)))


def isposinf(input: Tensor) -> Tensor:
    return _ops.eq(input, math.inf) if input.dtype.is_floating_point else _ops.ne(input, input)


def isneginf(input: Tensor) -> Tensor:
    return _ops.eq(input, -math.inf) if input.dtype.is_floating_point else _ops.ne(input, input)


def isclose(input: Tensor, other: Tensor | float, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|a - b| <= atol + rtol |b| elementwise (infinities equal when they match)."""
    a, b = input, other if isinstance(other, Tensor) else tensor(other, dtype=input.dtype, device=input.device)
    if not a.dtype.is_floating_point and not b.dtype.is_floating_point:
        return _ops.eq(a, b)
    close = _ops.le(_ops.abs(_ops.sub(a, b)), _ops.add(_ops.mul(_ops.abs(b), rtol), atol))
    close = _ops.logical_or(close, _ops.eq(a, b))
    if equal_nan:
        close = _ops.logical_or(close, _ops.logical_and(isnan(a), isnan(b)))
    return close


def allclose(input: Tensor, other: Tensor | float, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(_ops.all(isclose(input, other, rtol, atol, equal_nan)))


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same elements."""
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool(_ops.all(_ops.eq(input, other)))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: Optional[float] = None,
               neginf: Optional[float] = None) -> Tensor:
    """NaN -> nan, +inf -> posinf (default the dtype's largest), -inf -> neginf (its lowest)."""
    if not input.dtype.is_floating_point:
        return input.clone()
    info = np.finfo(input.dtype.numpy)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = _ops.where(isnan(input), nan, input)
    out = _ops.where(_ops.eq(input, math.inf), posinf, out)
    return _ops.where(_ops.eq(input, -math.inf), neginf, out)


def lerp(input: Tensor, end: Tensor, weight: Tensor | float) -> Tensor:
    """input + weight (end - input)."""
    return _ops.add(input, _ops.mul(weight, _ops.sub(end, input)))


# ---- in-place fills and clamps ----------------------------------------------------------------

def _fill_random(self, fn, a, b, op):
    _ops._check_inplace(self, op)
    if not self.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating point tensor, got {self.dtype}")
    target = self if self._impl.is_contiguous() else _wrap(_C.empty(list(self.shape), self._impl.dtype,
                                                                     self._impl.device_type,
                                                                     self._impl.device_index))
    seed, offset = _random._next(self.numel())
    fn(target._impl, seed, offset, float(a), float(b))
    if target is not self:
        _C.copy_(self._impl, target._impl)
    return self


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _fill_random(self, _C.uniform_, a, b, "uniform_")


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _fill_random(self, _C.normal_, mean, std, "normal_")


def clamp_(self: Tensor, min: Tensor | float | None = None, max: Tensor | float | None = None) -> Tensor:
    _ops._check_inplace(self, "clamp_")
    res = _ops.clamp(self.detach(), min, max)
    _C.copy_(self._impl, res.to(dtype=self.dtype)._impl)
    return self


def clamp_min(input: Tensor, min: Tensor | float) -> Tensor:
    return _ops.clamp(input, min=min)


def clamp_max(input: Tensor, max: Tensor | float) -> Tensor:
    return _ops.clamp(input, max=max)

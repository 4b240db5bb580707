"""More of torch.nn.functional: pad, one_hot, smooth_l1 / huber / kl_div losses,
cosine_similarity, normalize, and the activations hardtanh, relu6, softsign, mish, hardswish,
hardsigmoid, prelu, selu, celu, glu, dropout2d. Re-exported by nn.functional.

Compositions of kernels that carry their own backward (elementwise ops, where, reductions,
index_select): each is differentiable wherever torch's is. pad's reflect / replicate / circular
modes are an index_select per padded dim (the C++ gather), so their gradient is the
scatter-add (index_add) of that kernel.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence


import numpy as np

from .. import _C, ops
from .._dtype import float32, int64
from ..tensor import Tensor, _wrap, _norm_dim, tensor
from .. import views as _views
from .. import indexing as _indexing
from .. import numerics as _num

if TYPE_CHECKING:
    from .._dtype import dtype

__all__ = ["pad", "one_hot", "smooth_l1_loss", "huber_loss", "kl_div", "cosine_similarity",
           "normalize", "hardtanh", "relu6", "softsign", "mish", "hardswish", "hardsigmoid", "prelu",
           "selu", "celu", "glu", "dropout2d", "dropout1d", "pairwise_distance", "softmin",
           "tanhshrink", "threshold"]

_REDUCTIONS = ("none", "mean", "sum")


# ---- pad ------------------------------------------------------------------------------------------

def _pad_index(n, before, after, mode):
    """Source positions along a dim of size n for each output position (reflect/replicate/circular)."""
    pos = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    if mode == "circular":
        return np.mod(pos, n)
    period = 2 * (n - 1)   # reflect: mirror about the edges without repeating them
    p = np.mod(pos, period) if period else np.zeros_like(pos)
    return np.where(p >= n, period - p, p)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Optional[float] = None) -> Tensor:
    """Pads the last len(pad)//2 dims: pad = (left, right, top, bottom, ...) from the last dim
    backwards. mode 'constant' (value, negative pads crop), 'reflect', 'replicate', 'circular'."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: expected a tensor, got {type(input).__name__}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding {tuple(pad)} must have an even length of at most 2 * {input.ndim} "
                         f"(input shape {tuple(input.shape)})")
    k = len(pad) // 2
    pairs = [(input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(k)]
    if mode == "constant":
        v = 0.0 if value is None else value
        x = input
        for d, lo, hi in pairs:   # negative pads crop first
            n = x.shape[d]
            a, b = max(-lo, 0), max(-hi, 0)
            if a or b:
                if a + b > n:
                    raise ValueError(f"pad: cropping {a + b} from dim {d} of size {n}")
                x = _views.narrow(x, d, a, n - a - b)
        shape = list(x.shape)
        for d, lo, hi in pairs:
            shape[d] += max(lo, 0) + max(hi, 0)
        out = _wrap(_C.empty(shape, x._impl.dtype, x._impl.device_type, x._impl.device_index))
        if out.numel():
            _C.fill_(out._impl, float(v))
        region = out
        for d, lo, hi in pairs:
            region = _views._narrow_raw(region, d, max(lo, 0), x.shape[d])
        if x.numel():
            _C.copy_(region._impl, x._impl)
        if not (ops.needs_grad(x)):
            return out

        def backward(g):
            r = g
            for d, lo, hi in pairs:
                r = _views._narrow_raw(r, d, max(lo, 0), x.shape[d])
            return (r,)
        return ops.record(out, "pad", (x,), backward)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if value not in (None, 0, 0.0):
        raise ValueError(f"pad: value is only used by mode 'constant', got value={value} with {mode!r}")
    x = input
    for d, lo, hi in pairs:
        n = x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than dim {d} of size {n}")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: circular padding ({lo}, {hi}) can't exceed dim {d} of size {n}")
        if n == 0:
            raise ValueError(f"pad: can't {mode}-pad an empty dim {d} (shape {tuple(input.shape)})")
        if lo == 0 and hi == 0:
            continue
        idx = _pad_index(n, lo, hi, mode)
        x = _views.index_select(x, d, tensor(idx, dtype=int64, device=x.device))
    return x if x is not input else _views.clone(input)


# ---- encodings -------------------------------------------------------------------------------------

def one_hot(tensor_: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape (*input.shape, num_classes) with a 1 at each input value."""
    if not isinstance(tensor_, Tensor) or tensor_.dtype is not int64:
        raise TypeError("one_hot: expected an int64 tensor of class indices")
    if num_classes == -1:
        if tensor_.numel() == 0:
            raise ValueError("one_hot: can't infer num_classes from an empty tensor")
        num_classes = int(ops.max(tensor_).item()) + 1
    if tensor_.numel() and (int(ops.min(tensor_).item()) < 0 or int(ops.max(tensor_).item()) >= num_classes):
        raise IndexError(f"one_hot: class values must be in [0, {num_classes}), got values in "
                         f"[{int(ops.min(tensor_).item())}, {int(ops.max(tensor_).item())}]")
    shape = list(tensor_.shape) + [num_classes]
    out = _wrap(_C.empty(shape, int64.code, tensor_._impl.device_type, tensor_._impl.device_index))
    if out.numel() == 0:
        return out
    _C.fill_(out._impl, 0.0)
    idx = _views.unsqueeze(tensor_, -1)
    ones = _views.expand(tensor(1, dtype=int64, device=tensor_.device), *idx.shape)
    return _indexing.scatter_(out, -1, idx, ones)


# ---- losses --------------------------------------------------------------------------------------

def _reduce(v, reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (expected 'none', 'mean' or 'sum')")
    if reduction == "none":
        return v
    return ops.sum(v) if reduction == "sum" else ops.mean(v)


def _pair(op, input, target):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(target.shape)} differ (expected the same shape)")
    return target if target.dtype is input.dtype else target.to(dtype=input.dtype)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
                   reduce: Optional[bool] = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    target = _pair("smooth_l1_loss", input, target)
    d = ops.sub(input, target)
    a = ops.abs(d)
    if beta == 0:
        return _reduce(a, reduction, "smooth_l1_loss")
    v = ops.where(ops.lt(a, beta), ops.div(ops.mul(ops.mul(d, d), 0.5), beta), ops.sub(a, 0.5 * beta))
    return _reduce(v, reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    target = _pair("huber_loss", input, target)
    d = ops.sub(input, target)
    a = ops.abs(d)
    v = ops.where(ops.lt(a, delta), ops.mul(ops.mul(d, d), 0.5), ops.mul(ops.sub(a, 0.5 * delta), delta))
    return _reduce(v, reduction, "huber_loss")


def kl_div(input: Tensor, target: Tensor, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target (log target - input) with input log-probabilities; 0 where target is 0.
    reduction 'batchmean' divides the sum by the batch size (the true KL divergence)."""
    target = _pair("kl_div", input, target)
    if log_target:
        v = ops.mul(ops.exp(target), ops.sub(target, input))
    else:
        safe = ops.where(ops.gt(target, 0), target, 1.0)
        v = ops.where(ops.gt(target, 0), ops.mul(target, ops.sub(ops.log(safe), input)),
                      ops.mul(target, 0.0))
    if reduction == "batchmean":
        return ops.div(ops.sum(v), float(input.shape[0]) if input.ndim else 1.0)
    return _reduce(v, reduction, "kl_div")


# ---- similarity and normalisation ----------------------------------------------------------------

def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along dim (inputs broadcast)."""
    n1 = ops.clamp(_num.vector_norm(x1, 2, dim, keepdim=True), min=eps)
    n2 = ops.clamp(_num.vector_norm(x2, 2, dim, keepdim=True), min=eps)
    return ops.sum(ops.mul(ops.div(x1, n1), ops.div(x2, n2)), dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    return _num.vector_norm(ops.add(ops.sub(x1, x2), eps), p, -1, keepdim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Optional[Tensor] = None) -> Tensor:
    """input / max(||input||_p along dim, eps)."""
    return ops.div(input, ops.clamp(_num.vector_norm(input, p, dim, keepdim=True), min=eps))


# ---- activations -----------------------------------------------------------------------------------

def _f(x):
    return x if x.dtype.is_floating_point else x.to(dtype=float32)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} is greater than max_val {max_val}")
    x = _f(input)
    # Gradient 1 strictly inside (min, max), 0 outside and at the edges, as torch.
    inside = ops.logical_and(ops.gt(x, min_val), ops.lt(x, max_val))
    return ops.where(inside, x, ops.clamp(x.detach(), min_val, max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0)


def softsign(input: Tensor) -> Tensor:
    x = _f(input)
    return ops.div(x, ops.add(ops.abs(x), 1.0))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    from . import functional as F
    x = _f(input)
    return ops.mul(x, ops.tanh(F.softplus(x)))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    x = _f(input)
    inside = ops.logical_and(ops.gt(x, -3.0), ops.lt(x, 3.0))
    return ops.where(inside, ops.add(ops.div(x, 6.0), 0.5), ops.gt(x.detach(), 0.0).to(dtype=x.dtype))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    x = _f(input)
    # x * relu6(x + 3) / 6; gradient (2x + 3) / 6 on [-3, 3] (torch's convention at the edges).
    mid = ops.div(ops.mul(x, ops.add(x, 3.0)), 6.0)
    return ops.where(ops.lt(x, -3.0), ops.mul(x, 0.0), ops.where(ops.gt(x, 3.0), x, mid))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight min(0, x); weight has 1 or C entries (C = input.shape[1])."""
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise ValueError(f"prelu: weight of {weight.numel()} entries for input of shape "
                             f"{tuple(input.shape)} (expected 1 or the channel count)")
        w = _views.reshape(weight, [1, weight.numel()] + [1] * (input.ndim - 2))
    else:
        w = _views.reshape(weight, [1] * input.ndim) if input.ndim else _views.reshape(weight, [])
    return ops.where(ops.gt(input, 0), input, ops.mul(w, input))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    from . import functional as F
    return ops.mul(F.elu(_f(input), _SELU_ALPHA), _SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise ValueError("celu: alpha must be non-zero")
    from . import functional as F
    x = _f(input)
    return ops.mul(F.elu(ops.div(x, alpha)), alpha)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) with (a, b) the two halves of input along dim."""
    d = _norm_dim(dim, input.ndim, "glu")
    n = input.shape[d]
    if n % 2:
        raise ValueError(f"glu: dim {d} of size {n} must be even (input shape {tuple(input.shape)})")
    a, b = _views.narrow(input, d, 0, n // 2), _views.narrow(input, d, n // 2, n // 2)
    return ops.mul(a, ops.sigmoid(b))


def softmin(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype: dtype | str | type | None = None) -> Tensor:
    from . import functional as F
    return F.softmax(ops.neg(input), dim, dtype=dtype)


def tanhshrink(input: Tensor) -> Tensor:
    return ops.sub(input, ops.tanh(input))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    return ops.where(ops.gt(input, threshold), input, tensor(value, dtype=input.dtype, device=input.device))


def _channel_dropout(op, input, p, training, min_dims):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.ndim < min_dims:
        raise ValueError(f"{op}: expected an input with >= {min_dims} dims, got shape {tuple(input.shape)}")
    if p == 1.0:
        return ops.mul(input, 0.0)
    # One Bernoulli draw per (sample, channel), broadcast over the spatial dims.
    lead = list(input.shape[:2]) if input.ndim >= min_dims + 1 else [input.shape[0]]
    mask_shape = lead + [1] * (input.ndim - len(lead))
    from ..creation import rand
    keep = ops.ge(rand(*mask_shape, dtype=input.dtype if input.dtype.is_floating_point else float32,
                       device=input.device), p)
    return ops.mul(input, ops.div(keep.to(dtype=input.dtype), 1.0 - p))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels (N, C, H, W) / (C, H, W) with probability p, scaling the rest."""
    return _channel_dropout("dropout2d", input, p, training, 3)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    return _channel_dropout("dropout1d", input, p, training, 2)

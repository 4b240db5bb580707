"""dlcore.nn.functional — layers' maths as functions: forward and backward, each calling _C.

Names, arguments and semantics follow ``torch.nn.functional``. Every differentiable function
computes its forward with one (or few) kernel calls and attaches one autograd node whose
closure is the backward written out by hand — no chain of small elementwise nodes — so the
per-op Python cost stays small (this is what an MLP's training step is made of).

The backward formulas, for the reader who wants to connect them to the textbook derivation:

* linear   y = x W^T + b:     dx = g W,  dW = g^T x,  db = sum_rows g   (three GEMM/reduce calls)
* relu     y = max(x, 0):      dx = g * [y > 0]      (the output suffices, see linear(activation=))
* sigmoid  dx = g y (1 - y);   tanh  dx = g (1 - y^2)
* softmax  dx = y (g - <g, y>);  log_softmax  dx = g - softmax(x) sum(g)
* cross_entropy (log_softmax + nll fused):  dx = (softmax(x) - onehot(t)) * weight / norm
* mse_loss  d/dy sum (y - t)^2 = 2 (y - t).  The classic backprop derivation uses the error
  E = 1/2 ||y - t||^2, whose gradient is exactly the output error (y - t) — that is
  ``0.5 * mse_loss(y, t, reduction='sum')``. reduction='mean' (the default, as in torch)
  additionally divides by the number of elements (batch size x outputs), which only rescales
  the gradient (equivalently, the learning rate).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import math
import numbers

from .. import _C, ops, random as _random
from .._dtype import float32
from ..autograd import Node, _enabled, no_grad
from ..backends import cuda as _bc
from ..tensor import Tensor, _wrap, _norm_dim

if TYPE_CHECKING:
    from .._dtype import dtype

__all__ = ["linear", "relu", "relu_", "leaky_relu", "elu", "softplus", "sigmoid", "tanh", "gelu",
           "silu", "logsigmoid", "softmax", "log_softmax", "maxout", "dropout", "mse_loss",
           "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "nll_loss"]

# Activation codes: must match dlcore::cpu::ActOp (csrc/cpu/kernels.h).
RELU, LEAKY_RELU, ELU, SOFTPLUS, SIGMOID, TANH, GELU, GELU_TANH, SILU = range(9)
_R_SUM = ops.R_SUM
_SUB, _MUL = ops.SUB, ops.MUL
_FLOAT_CODES = (2, 3)                      # float32, float64 dtype codes of TensorImpl
_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _attach(out, name, inputs, backward):
    """Like autograd.record, for callers that already know a graph is being recorded."""
    out.requires_grad = True
    out._node = Node(name, inputs, backward)
    return out


def _grad_on(*xs):
    return _enabled[0] and any(x.requires_grad for x in xs if isinstance(x, Tensor))


def _check_tensor(op, x, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor {what}, got {type(x).__name__}")


def _contig_view(impl, shape):
    """A contiguous impl seen as `shape` (no copy)."""
    strides, s = [0] * len(shape), 1
    for i in range(len(shape) - 1, -1, -1):
        strides[i] = s
        s *= shape[i]
    return impl.as_strided(list(shape), strides, impl.offset)


def _t(impl):
    """The transpose of a 2-D impl as a view (GEMM reads any strides in place)."""
    (r, c), (sr, sc) = impl.shape, impl.strides
    return impl.as_strided([c, r], [sc, sr], impl.offset)


def _reduction_code(op, reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:      # torch's legacy arguments
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
    code = _REDUCTIONS.get(reduction)
    if code is None:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                         "(expected 'none', 'mean' or 'sum')")
    return code


# ---- linear ---------------------------------------------------------------------------------

def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
           activation: Optional[str] = None) -> Tensor:
    """y = input @ weight.T + bias, weight (out_features, in_features), as torch.

    One fused GEMM call (bias add in its epilogue). activation='relu' (dlcore extension) also
    applies relu in the epilogue; its backward takes relu' from the output, so the
    pre-activation is never stored. input may have any number of leading dims.
    """
    _check_tensor("linear", input)
    _check_tensor("linear", weight, "weight")
    xi, wi = input._impl, weight._impl
    xs, ws = xi.shape, wi.shape
    if len(ws) != 2 or len(xs) == 0 or xs[-1] != ws[1]:
        raise ValueError(f"linear: input of shape {tuple(xs)} does not fit weight of shape "
                         f"{tuple(ws)} (expected input (..., {ws[-1] if ws else '?'}) for weight "
                         "(out_features, in_features))")
    if xi.dtype != wi.dtype:
        raise TypeError(f"linear: input dtype {input.dtype} does not match weight dtype {weight.dtype}")
    bi = None
    if bias is not None:
        bi = bias._impl
        if bi.shape != (ws[0],):
            raise ValueError(f"linear: bias of shape {tuple(bi.shape)} does not fit weight of "
                             f"shape {tuple(ws)} (expected ({ws[0]},))")
    act = 0
    if activation is not None:
        if activation != "relu":
            raise ValueError(f"linear: activation must be None or 'relu', got {activation!r}")
        act = 1
    # 2-D view of the input: (M, K) with M = product of the leading dims.
    if len(xs) == 2:
        x2 = xi
    elif xi.is_contiguous():
        x2 = _contig_view(xi, (xi.numel() // xs[-1] if xs[-1] else math.prod(xs[:-1]), xs[-1]))
    else:
        x2 = input.reshape(-1, xs[-1])._impl
    tf32 = xi.device_type == 1 and _bc.matmul.allow_tf32
    yi = _C.gemm(x2, _t(wi), bi, act, 1.0, 0.0, None, False, tf32)
    if len(xs) != 2:
        yi = _contig_view(yi, tuple(xs[:-1]) + (ws[0],))
    out = _wrap(yi)
    if not (_enabled[0] and (input.requires_grad or weight.requires_grad
                             or (bias is not None and bias.requires_grad))):
        return out
    y2 = yi if len(xs) == 2 else _contig_view(yi, (x2.shape[0], ws[0]))

    def backward(g):
        gi = g._impl
        if act:
            gi = _C.act_backward(RELU, gi, None, yi, 0.0, 0.0)
        g2 = gi if len(xs) == 2 else (_contig_view(gi, y2.shape) if gi.is_contiguous()
                                      else _wrap(gi).reshape(y2.shape)._impl)
        gx = gw = gb = None
        if input.requires_grad:          # dx = g W: (M, N) @ (N, K)
            gx = _C.gemm(g2, wi, None, 0, 1.0, 0.0, None, False, tf32)
            gx = _wrap(gx if len(xs) == 2 else _contig_view(gx, xs))
        if weight.requires_grad:         # dW = g^T x: (N, M) @ (M, K)
            gw = _wrap(_C.gemm(_t(g2), x2, None, 0, 1.0, 0.0, None, False, tf32))
        if bias is not None and bias.requires_grad:
            gb = _wrap(_C.reduce(_R_SUM, g2, [0], False))
        return gx, gw, gb
    return _attach(out, "linear_relu" if act else "linear", (input, weight, bias), backward)


# ---- elementwise activations ------------------------------------------------------------------

def _act(code, name, x, a=0.0, b=0.0, inplace=False):
    _check_tensor(name, x)
    xi = x._impl
    if xi.dtype not in _FLOAT_CODES:
        if code in (RELU, LEAKY_RELU) and xi.dtype == 1 and not inplace:
            return ops.relu(x) if code == RELU else ops.where(x > 0, x, x * a)
        x = x.to(dtype=float32)
        xi = x._impl
    grad = _enabled[0] and x.requires_grad
    if inplace and not grad and xi.is_contiguous():
        _C.act_forward(code, xi, a, b, xi)
        return x
    yi = _C.act_forward(code, xi, a, b, None)
    out = _wrap(yi)
    if not grad:
        return out
    # Save only what the derivative reads (csrc/core/activation_math.h): y for relu/sigmoid/tanh.
    xs = None if code in (RELU, SIGMOID, TANH) else xi
    ys = yi if code in (RELU, SIGMOID, TANH, ELU) else None
    return _attach(out, name, (x,),
                   lambda g: (_wrap(_C.act_backward(code, g._impl, xs, ys, a, b)),))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _act(RELU, "relu", input, inplace=inplace)


def relu_(input: Tensor) -> Tensor:
    return _act(RELU, "relu", input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _act(LEAKY_RELU, "leaky_relu", input, float(negative_slope), inplace=inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _act(ELU, "elu", input, float(alpha), inplace=inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, computed stably; linear where beta x > threshold."""
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return _act(SOFTPLUS, "softplus", input, float(beta), float(threshold))


def sigmoid(input: Tensor) -> Tensor:
    return _act(SIGMOID, "sigmoid", input)


def tanh(input: Tensor) -> Tensor:
    return _act(TANH, "tanh", input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _act(GELU if approximate == "none" else GELU_TANH, "gelu", input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return _act(SILU, "silu", input, inplace=inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return ops.neg(_act(SOFTPLUS, "softplus", ops.neg(input), 1.0, math.inf))


# ---- softmax ------------------------------------------------------------------------------------

def _softmax_dim(ndim):
    return 0 if ndim in (0, 1, 3) else 1       # torch's legacy implicit choice


def _softmax(x, dim, dtype, log):
    name = "log_softmax" if log else "softmax"
    _check_tensor(name, x)
    if dtype is not None:
        x = x.to(dtype=dtype)
    elif x._impl.dtype not in _FLOAT_CODES:
        raise TypeError(f"{name}: expected a floating point input, got {x.dtype}")
    nd = x._impl.ndim
    d = _norm_dim(_softmax_dim(nd) if dim is None else dim, nd, name)
    last = nd <= 1 or d == nd - 1
    xt = x if last else ops.transpose(x.detach(), d, -1)     # kernel works on the last dim
    yi = _C.softmax_forward(xt._impl, log)
    out = _wrap(yi)
    if not last:
        out = ops.transpose(out, d, -1)
    if not _grad_on(x):
        return out

    def backward(g):
        gt = g if last else ops.transpose(g, d, -1)
        gx = _wrap(_C.softmax_backward(gt._impl, yi, log))
        return (gx if last else ops.transpose(gx, d, -1),)
    return _attach(out, name, (x,), backward)


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype: dtype | str | type | None = None) -> Tensor:
    return _softmax(input, dim, dtype, False)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype: dtype | str | type | None = None) -> Tensor:
    return _softmax(input, dim, dtype, True)


# ---- maxout / dropout ---------------------------------------------------------------------------

def maxout(input: Tensor, pool_size: int, dim: int = 1) -> Tensor:
    """Max over groups of pool_size consecutive entries of `dim` (Goodfellow et al., 2013):
    (N, C, *) -> (N, C // pool_size, *). Ties share the gradient evenly."""
    _check_tensor("maxout", input)
    d = _norm_dim(dim, input.ndim, "maxout")
    c = input.shape[d]
    if pool_size < 1 or c % pool_size:
        raise ValueError(f"maxout: dim {dim} of size {c} is not divisible by pool_size {pool_size} "
                         f"(input shape {tuple(input.shape)})")
    s = tuple(input.shape)
    return ops.amax(input.reshape(s[:d] + (c // pool_size, pool_size) + s[d + 1:]), d + 1)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: in training each element is zeroed with probability p and survivors
    are scaled by 1/(1-p); in eval (training=False) the identity. Masks come from the global
    Philox generator (dlcore.manual_seed), identical on CPU and CUDA, and are regenerated in
    the backward rather than stored."""
    _check_tensor("dropout", input)
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return ops.mul(input, 0.0)
    xi = input._impl
    if xi.dtype not in _FLOAT_CODES:
        raise TypeError(f"dropout: expected a floating point input, got {input.dtype}")
    seed, offset = _random._next(xi.numel())
    yi = _C.dropout(xi, float(p), seed, offset)
    if inplace and not _grad_on(input) and xi.is_contiguous():
        _C.copy_(xi, yi)
        return input
    out = _wrap(yi)
    if not _grad_on(input):
        return out
    return _attach(out, "dropout", (input,),
                   lambda g: (_wrap(_C.dropout(g._impl, float(p), seed, offset)),))


# ---- losses ---------------------------------------------------------------------------------------

def _same_shape(op, input, target):
    _check_tensor(op, input)
    _check_tensor(op, target, "target")
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(target.shape)} differ (expected the same shape)")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating point input, got {input.dtype}")
    if target.dtype is not input.dtype:
        target = target.to(dtype=input.dtype)
    return target


def _reduce(v, code):
    """Apply reduction `code` to an elementwise loss (no graph: callers attach their own)."""
    if code == 0:
        return v
    s = ops.sum(v)
    return s if code == 2 else ops.div(s, float(v.numel()) if v.numel() else math.nan)


def _expand_grad(g, shape, code, n):
    """The incoming gradient of a reduced loss as a full elementwise factor."""
    if code == 0:
        return g
    if code == 1:
        g = ops.div(g, float(n))
    return g.expand(*shape) if shape else g


def _pointwise_loss(name, input, target, code, fwd, dfdx):
    """loss_i = f(x_i - t_i); one node whose backward is g * f'(x - t) (negated for target)."""
    with no_grad():
        diff = ops.sub(input, target)
        out = _reduce(fwd(diff), code)
    if not _grad_on(input, target):
        return out

    def backward(g):
        gd = ops.mul(_expand_grad(g, tuple(input.shape), code, input.numel()), dfdx(diff))
        return (gd if input.requires_grad else None,
                ops.neg(gd) if target.requires_grad else None)
    return _attach(out, name, (input, target), backward)


def mse_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
             reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced. reduction='sum' is ||y - t||^2 = 2 E for the classic
    E = 1/2 ||y - t||^2; 'mean' divides by numel. See the module docstring."""
    code = _reduction_code("mse_loss", reduction, size_average, reduce)
    target = _same_shape("mse_loss", input, target)
    return _pointwise_loss("mse_loss", input, target, code, lambda d: ops.mul(d, d),
                           lambda d: ops.mul(d, 2.0))


def l1_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
            reduction: str = "mean") -> Tensor:
    code = _reduction_code("l1_loss", reduction, size_average, reduce)
    target = _same_shape("l1_loss", input, target)
    return _pointwise_loss("l1_loss", input, target, code, ops.abs, ops.sign)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                         reduction: str = "mean") -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) on probabilities x; logs clamped at -100 like torch.
    Prefer binary_cross_entropy_with_logits, which never takes log of a rounded sigmoid."""
    code = _reduction_code("binary_cross_entropy", reduction, size_average, reduce)
    target = _same_shape("binary_cross_entropy", input, target)
    with no_grad():
        if input.numel() and (ops.amin(input).item() < 0 or ops.amax(input).item() > 1):
            raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
        log_x = ops.maximum(ops.log(input), -100.0)
        log_1mx = ops.maximum(ops.log(ops.sub(1.0, input)), -100.0)
        v = ops.neg(ops.add(ops.mul(target, log_x), ops.mul(ops.sub(1.0, target), log_1mx)))
        if weight is not None:
            v = ops.mul(v, weight)
        out = _reduce(v, code)
    if not _grad_on(input, target):
        return out

    def backward(g):
        ge = _expand_grad(g, tuple(input.shape), code, input.numel())
        if weight is not None:
            ge = ops.mul(ge, weight)
        gx = gt = None
        if input.requires_grad:     # (x - t) / (x (1 - x)), denominator clamped like torch
            den = ops.maximum(ops.mul(input, ops.sub(1.0, input)), 1e-12)
            gx = ops.div(ops.mul(ge, ops.sub(input, target)), den)
        if target.requires_grad:
            gt = ops.mul(ge, ops.sub(log_1mx, log_x))
        return gx, gt
    return _attach(out, "binary_cross_entropy", (input, target), backward)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                     size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                                     reduction: str = "mean", pos_weight: Optional[Tensor] = None) -> Tensor:
    """BCE on logits x, in the stable form (1 - t) x + (1 + (pw - 1) t) softplus(-x), where
    softplus(-x) = log(1 + e^-x) is computed as max(-x, 0) + log1p(e^-|x|): no overflow, and
    no log(0) for confident predictions. Gradient: w ((1 - t) - lw (1 - sigmoid(x)))."""
    code = _reduction_code("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    target = _same_shape("binary_cross_entropy_with_logits", input, target)
    with no_grad():
        sp = _act(SOFTPLUS, "softplus", ops.neg(input), 1.0, math.inf)
        lw = None if pos_weight is None else ops.add(ops.mul(ops.sub(pos_weight, 1.0), target), 1.0)
        v = ops.add(ops.mul(ops.sub(1.0, target), input), sp if lw is None else ops.mul(lw, sp))
        if weight is not None:
            v = ops.mul(v, weight)
        out = _reduce(v, code)
    if not _grad_on(input, target):
        return out

    def backward(g):
        ge = _expand_grad(g, tuple(input.shape), code, input.numel())
        if weight is not None:
            ge = ops.mul(ge, weight)
        gx = gt = None
        if input.requires_grad:
            one_m_s = _wrap(_C.act_forward(SIGMOID, ops.neg(input)._impl, 0.0, 0.0, None))
            gx = ops.mul(ge, ops.sub(ops.sub(1.0, target),
                                     one_m_s if lw is None else ops.mul(lw, one_m_s)))
        if target.requires_grad:    # d/dt = -x + (pw - 1) softplus(-x)
            dt = ops.neg(input) if pos_weight is None else ops.sub(ops.mul(ops.sub(pos_weight, 1.0), sp), input)
            gt = ops.mul(ge, dt)
        return gx, gt
    return _attach(out, "binary_cross_entropy_with_logits", (input, target), backward)


def _class_loss(name, input, target, weight, ignore_index, code, label_smoothing, log_input):
    """Shared by cross_entropy and nll_loss: normalises (C,), (N, C), (N, C, d1, ...) inputs to
    a [rows, C] block and one kernel call each way."""
    _check_tensor(name, input)
    _check_tensor(name, target, "target")
    xi, ti = input._impl, target._impl
    if ti.dtype != 1:
        raise TypeError(f"{name}: expected int64 class-index targets, got a {target.dtype} target "
                        f"of shape {tuple(target.shape)}"
                        + (" (float class probabilities must have the input's shape "
                           f"{tuple(input.shape)})" if target.dtype.is_floating_point and not log_input else ""))
    if xi.dtype not in _FLOAT_CODES:
        raise TypeError(f"{name}: expected a floating point input, got {input.dtype}")
    xs, ts = xi.shape, ti.shape
    nd = len(xs)
    ok = (nd == 1 and ts == ()) or (nd >= 2 and ts == (xs[0],) + xs[2:])
    if not ok:
        raise ValueError(f"{name}: input of shape {tuple(xs)} does not match target of shape "
                         f"{tuple(ts)} (expected input (N, C) or (N, C, d1, ...) and target (N,) "
                         "or (N, d1, ...), or input (C,) with a 0-dim target)")
    if nd == 2:
        x2, t1 = xi, ti
    elif nd == 1:
        x2, t1 = _contig_view(_C.contiguous(xi), (1, xs[0])), _contig_view(_C.contiguous(ti), (1,))
    else:            # (N, C, d...) -> (N, d..., C) -> (rows, C)
        xm = ops.permute(input.detach(), 0, *range(2, nd), 1).reshape(-1, xs[1])
        x2, t1 = xm._impl, target.reshape(-1)._impl
    wi = None
    if weight is not None:
        wi = weight._impl if weight.dtype is input.dtype else weight.to(dtype=input.dtype)._impl
    lossi, lse, norm = _C.cross_entropy_forward(x2, t1, wi, int(ignore_index), float(label_smoothing),
                                                log_input, code)
    if code == 0 and nd != 2:
        lossi = _contig_view(lossi, ts)
    out = _wrap(lossi)
    if not _grad_on(input):
        return out

    def backward(g):
        gi = g._impl
        if code == 0 and nd != 2:
            gi = _C.contiguous(gi)
            gi = _contig_view(gi, (gi.numel(),))
        gx = _C.cross_entropy_backward(x2, t1, wi, lse, gi, norm, int(ignore_index),
                                       float(label_smoothing), log_input, code)
        if nd == 2:
            return (_wrap(gx),)
        if nd == 1:
            return (_wrap(_contig_view(gx, xs)),)
        gm = _wrap(_contig_view(gx, (xs[0],) + tuple(xs[2:]) + (xs[1],)))
        return (ops.permute(gm, 0, nd - 1, *range(1, nd - 1)),)
    return _attach(out, name, (input,), backward)


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average: Optional[bool] = None, ignore_index: int = -100,
                  reduce: Optional[bool] = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Fused log_softmax + nll_loss on logits (N, C) / (N, C, d1, ...) and int64 class targets.

    weight: per-class weights (C,) for imbalanced data; 'mean' then divides by the sum of the
    targets' weights (as torch). label_smoothing eps mixes the one-hot target with the uniform
    distribution: (1 - eps) onehot + eps / C. A float target of the input's shape is taken as
    class probabilities (soft labels)."""
    code = _reduction_code("cross_entropy", reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if isinstance(target, Tensor) and target.dtype.is_floating_point and isinstance(input, Tensor) \
            and tuple(target.shape) == tuple(input.shape):
        return _soft_cross_entropy(input, target, weight, code, label_smoothing)
    return _class_loss("cross_entropy", input, target, weight, ignore_index, code,
                       label_smoothing, False)


def _soft_cross_entropy(input, target, weight, code, eps):
    """-sum_c w_c q_c log_softmax(x)_c with q the (smoothed) class probabilities."""
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    if eps > 0:
        target = ops.add(ops.mul(target, 1.0 - eps), eps / c)
    if weight is not None:
        shape = [1] * input.ndim
        shape[cdim] = c
        logp = ops.mul(logp, weight.reshape(shape))
    v = ops.neg(ops.sum(ops.mul(target, logp), cdim))
    if code == 0:
        return v
    return ops.sum(v) if code == 2 else ops.mean(v)


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             size_average: Optional[bool] = None, ignore_index: int = -100, reduce: Optional[bool] = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities input (N, C) at int64 class targets:
    -weight[t] input[n, t]; 'mean' divides by the sum of the targets' weights."""
    code = _reduction_code("nll_loss", reduction, size_average, reduce)
    return _class_loss("nll_loss", input, target, weight, ignore_index, code, 0.0, True)


# ---- the families that live in their own files (each imports helpers from here) -------------
# conv family
from .conv import conv1d, conv2d, conv_transpose2d  # noqa: E402
__all__ += ["conv1d", "conv2d", "conv_transpose2d"]

# pool family
from .pooling import (max_pool1d, max_pool2d, avg_pool1d, avg_pool2d, lp_pool1d,  # noqa: E402
                      lp_pool2d, adaptive_avg_pool1d, adaptive_max_pool1d, adaptive_avg_pool2d,
                      adaptive_max_pool2d, max_unpool1d, max_unpool2d)
__all__ += ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d",
            "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_avg_pool2d",
            "adaptive_max_pool2d", "max_unpool1d", "max_unpool2d"]
from .upsampling import interpolate, upsample, upsample_nearest, upsample_bilinear  # noqa: E402
__all__ += ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

# batchnorm family
from .normalization import batch_norm, local_response_norm  # noqa: E402
__all__ += ["batch_norm", "local_response_norm"]

# rnn family
from .sparse import embedding  # noqa: E402
__all__ += ["embedding"]


# tensor-api family
from .functional_extra import (pad, one_hot, smooth_l1_loss, huber_loss, kl_div,  # noqa: E402
                               cosine_similarity, normalize, hardtanh, relu6, softsign, mish,
                               hardswish, hardsigmoid, prelu, selu, celu, glu, dropout2d, dropout1d,
                               pairwise_distance, softmin, tanhshrink, threshold)
from .normalization_layer import layer_norm, group_norm, instance_norm  # noqa: E402
__all__ += ["pad", "one_hot", "smooth_l1_loss", "huber_loss", "kl_div", "cosine_similarity",
            "normalize", "hardtanh", "relu6", "softsign", "mish", "hardswish", "hardsigmoid",
            "prelu", "selu", "celu", "glu", "dropout2d", "dropout1d", "pairwise_distance",
            "softmin", "tanhshrink", "threshold", "layer_norm", "group_norm", "instance_norm"]

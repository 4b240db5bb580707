"""Normalization layers: batch norm (functional and BatchNorm1d/2d/3d) and local response norm.

Batch normalization (Ioffe & Szegedy, 2015) normalises every channel of an (N, C, *) input
with statistics taken over the batch and the spatial dims, then applies a learned affine map:

    y = (x - mean) / sqrt(var + eps) * weight + bias        (per channel c)

In training the batch's own mean and (biased) variance are used, and the running estimates
used at evaluation time move towards them:

    running_mean = (1 - momentum) running_mean + momentum mean
    running_var  = (1 - momentum) running_var  + momentum var * M / (M - 1)   (unbiased, M = N*S)

momentum=None in the modules gives the cumulative average (factor 1 / num_batches_tracked).
Everything follows torch.nn.functional.batch_norm / torch.nn.BatchNorm*d, names of parameters
and buffers included, so a torch state_dict loads.

The compute is one C++/CUDA kernel per direction (csrc/cpu/batchnorm.cpp): the forward reads x
once for both per-channel sums and once to write y; the backward reads dy and x once for
sum(dy) and sum(dy * (x - mean)) and once to write dx. The backward keeps only the per-channel
mean and 1/std of the forward, never the normalised input.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import math
import numbers

from .. import _C, creation
from .._dtype import int64 as _int64
from ..autograd import no_grad
from ..tensor import Tensor, _wrap
from .functional import _attach, _check_tensor, _grad_on
from .module import Module, Parameter
from . import init

if TYPE_CHECKING:
    from .._dtype import device, dtype

__all__ = ["batch_norm", "local_response_norm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
           "LocalResponseNorm"]


def _impl_or_none(t, op, what):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor or None, got {type(t).__name__}")
    return t._impl


# ---- functional ------------------------------------------------------------------------------

def batch_norm(input: Tensor, running_mean: Tensor, running_var: Tensor, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalization of an (N, C, *) input over N and the spatial dims, per channel.

    training=True: normalise with the batch statistics and, when running_mean / running_var
    are given, update them in place (momentum; unbiased variance). training=False: normalise
    with running_mean / running_var, which must then be given. weight / bias (C,) are the
    optional affine parameters (gamma, beta). Gradients flow to input, weight and bias.
    """
    op = "batch_norm"
    _check_tensor(op, input)
    xi = input._impl
    shape = tuple(xi.shape)
    if len(shape) < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *) with at least 2 dims, "
                         f"got shape {shape}")
    if training:
        m = shape[0] * math.prod(shape[2:])
        if m == 1:
            raise ValueError("batch_norm: Expected more than 1 value per channel when training, "
                             f"got input size {shape}")
    if momentum is None:
        momentum = 0.0      # torch's modules pass a number; None means "no update factor"
    if not isinstance(momentum, numbers.Real) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{op}: momentum and eps must be real numbers, got {momentum!r}, {eps!r}")
    wi = _impl_or_none(weight, op, "weight")
    bi = _impl_or_none(bias, op, "bias")
    rmi = _impl_or_none(running_mean, op, "running_mean")
    rvi = _impl_or_none(running_var, op, "running_var")
    training = bool(training)
    yi, mean, invstd = _C.batch_norm_forward(xi, wi, bi, rmi, rvi, training, float(momentum),
                                             float(eps))
    out = _wrap(yi)
    if not _grad_on(input, weight, bias):
        return out
    need_x = input.requires_grad
    need_w = weight is not None and weight.requires_grad
    need_b = bias is not None and bias.requires_grad

    def backward(g):
        gx, gw, gb = _C.batch_norm_backward(g._impl, xi, wi, mean, invstd, training, need_x,
                                            need_w, need_b)
        return (_wrap(gx) if gx is not None else None, _wrap(gw) if gw is not None else None,
                _wrap(gb) if gb is not None else None)
    return _attach(out, op, (input, weight, bias), backward)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalization across channels of an (N, C, *) input (as torch):

        y = x / (k + alpha / size * sum_{c' in window(c)} x[c']^2) ** beta

    window(c) = channels c - size//2 .. c + (size-1)//2, zero padded; the sum is always
    divided by size (an average over the padded window).
    """
    op = "local_response_norm"
    _check_tensor(op, input)
    dim = input.ndim
    if dim < 3:
        raise ValueError(f"{op}: Expected 3D or higher dimensionality input (got {dim} dimensions, "
                         f"shape {tuple(input.shape)})")
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
        raise ValueError(f"{op}: size must be a positive integer, got {size!r}")
    if input.numel() == 0:
        return input
    xi = input._impl
    alpha, beta, k = float(alpha), float(beta), float(k)
    yi, scale = _C.local_response_norm_forward(xi, int(size), alpha, beta, k)
    out = _wrap(yi)
    if not _grad_on(input):
        return out
    return _attach(out, op, (input,), lambda g: (
        _wrap(_C.local_response_norm_backward(g._impl, xi, scale, int(size), alpha, beta)),))


# ---- modules ---------------------------------------------------------------------------------

class _BatchNorm(Module):
    """Common part of BatchNorm1d/2d/3d: parameters weight/bias (C,), buffers running_mean,
    running_var (C,) and num_batches_tracked (int64 scalar) — torch's names and defaults."""

    _ranks: tuple[int, ...] = ()          # accepted input ranks
    _rank_text = ""
    num_features: int
    eps: float
    momentum: Optional[float]
    affine: bool
    track_running_stats: bool
    weight: Tensor                        # Parameters (None when affine=False, as in torch)
    bias: Tensor
    running_mean: Optional[Tensor]        # buffers when track_running_stats
    running_var: Optional[Tensor]
    num_batches_tracked: Optional[Tensor]

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        if not isinstance(num_features, numbers.Integral) or num_features < 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a non-negative integer, "
                             f"got {num_features!r}")
        if momentum is not None and not isinstance(momentum, numbers.Real):
            raise TypeError(f"{type(self).__name__}: momentum must be a number or None, got {momentum!r}")
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        kw = dict(dtype=dtype, device=device)
        if affine:
            self.weight = Parameter(creation.empty(self.num_features, **kw))
            if bias:
                self.bias = Parameter(creation.empty(self.num_features, **kw))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(self.num_features, **kw))
            self.register_buffer("running_var", creation.ones(self.num_features, **kw))
            self.register_buffer("num_batches_tracked",
                                 creation.zeros((), dtype=_int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, input):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        shape = tuple(input.shape)
        if len(shape) not in self._ranks:
            raise ValueError(f"{name}: expected {self._rank_text} input (got {len(shape)}D input "
                             f"of shape {shape})")
        if shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): expected input with "
                             f"{self.num_features} channels in dim 1, got input of shape {shape}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:   # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        # Batch statistics in training, and in eval when there are no running statistics.
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
                          bn_training, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input (statistics over N, or N and L)."""
    _ranks = (2, 3)
    _rank_text = "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input (statistics over N, H and W per channel)."""
    _ranks = (4,)
    _rank_text = "4D"


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) input."""
    _ranks = (5,)
    _rank_text = "5D"


class LocalResponseNorm(Module):
    """Local response normalization across channels (AlexNet): see local_response_norm."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

"""Per-sample normalisation: layer norm, group norm, instance norm (functional and modules).

    layer_norm: each sample normalised over its trailing normalized_shape dims,
                y = (x - mean) / sqrt(var + eps) * weight + bias  (weight, bias of normalized_shape)
    group_norm: (N, C, *) with C split into G groups; each (sample, group) normalised over its
                C/G channels and the spatial dims, then a per-channel affine (C,)
    instance_norm: group norm with one group per channel (and optional running statistics)

One C++ kernel per direction (csrc/cpu/layernorm.cpp): the forward saves the per-row mean and
1/std; the backward computes dx and the parameter gradients in one sweep over dy and x. Group
and instance norm call the same kernel without the affine on (N*G, C/G * spatial) rows and
apply their per-channel affine with broadcast elementwise ops. Names of parameters and buffers
follow torch.nn, so a torch state_dict loads.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import numbers

from .. import _C, creation, ops
from ..autograd import no_grad
from ..tensor import Tensor, _wrap
from .. import views as _views
from .functional import _attach, _check_tensor, _grad_on
from .module import Module, Parameter

if TYPE_CHECKING:
    from .._dtype import device, dtype

__all__ = ["layer_norm", "group_norm", "instance_norm", "LayerNorm", "GroupNorm", "InstanceNorm1d",
           "InstanceNorm2d", "InstanceNorm3d"]


def _normalize_rows(op, x, cols, weight, bias, eps):
    """The kernel's layer norm of x as rows of `cols` elements, with its backward attached."""
    if not x.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")
    for p, what in ((weight, "weight"), (bias, "bias")):
        if p is not None and not isinstance(p, Tensor):
            raise TypeError(f"{op}: {what} must be a Tensor or None, got {type(p).__name__}")
    w = None if weight is None else weight.to(dtype=x.dtype)
    b = None if bias is None else bias.to(dtype=x.dtype)
    yi, mean, rstd = _C.layer_norm_forward(x._impl, int(cols), None if w is None else w._impl,
                                           None if b is None else b._impl, float(eps))
    out = _wrap(yi)
    inputs = tuple(t for t in (x, w, b))
    if not _grad_on(*[t for t in inputs if t is not None]):
        return out, mean, rstd

    def backward(g):
        dx, dw, db = _C.layer_norm_backward(g._impl, x._impl, mean, rstd,
                                            None if w is None else w._impl, int(cols),
                                            x.requires_grad, w is not None and w.requires_grad,
                                            b is not None and b.requires_grad)
        dw = None if dw is None else _views.reshape(_wrap(dw), w.shape)
        db = None if db is None else _views.reshape(_wrap(db), b.shape)
        return (None if dx is None else _wrap(dx), dw, db)
    return _attach(out, op, inputs, backward), mean, rstd


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing dims normalized_shape (an int or a tuple)."""
    op = "layer_norm"
    _check_tensor(op, input)
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or k > input.ndim or tuple(input.shape[input.ndim - k:]) != shape:
        raise ValueError(f"{op}: normalized_shape {shape} does not match the trailing dims of the input "
                         f"of shape {tuple(input.shape)}")
    for p, what in ((weight, "weight"), (bias, "bias")):
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(f"{op}: {what} of shape {tuple(p.shape)} does not match normalized_shape {shape}")
    cols = 1
    for s in shape:
        cols *= s
    if cols == 0:
        raise ValueError(f"{op}: normalized_shape {shape} has no elements")
    return _normalize_rows(op, input, cols, weight, bias, eps)[0]


def _channel_affine(y, weight, bias, C, ndim):
    shape = [1, C] + [1] * (ndim - 2)
    if weight is not None:
        y = ops.mul(y, _views.reshape(weight, shape))
    if bias is not None:
        y = ops.add(y, _views.reshape(bias, shape))
    return y


def _check_channel_param(op, p, C, what):
    if p is not None and (not isinstance(p, Tensor) or p.numel() != C):
        raise ValueError(f"{op}: {what} must have {C} entries, got "
                         f"{tuple(p.shape) if isinstance(p, Tensor) else type(p).__name__}")


def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each of num_groups channel groups of an (N, C, *) input per sample."""
    op = "group_norm"
    _check_tensor(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *), got {tuple(input.shape)}")
    N, C = input.shape[0], input.shape[1]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 or C % num_groups:
        raise ValueError(f"{op}: num_groups {num_groups} must divide the {C} channels "
                         f"(input shape {tuple(input.shape)})")
    _check_channel_param(op, weight, C, "weight")
    _check_channel_param(op, bias, C, "bias")
    cols = input.numel() // max(N * num_groups, 1) if N else 1
    if N and cols == 0:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has no elements per group")
    y = _normalize_rows(op, input, max(cols, 1), None, None, eps)[0]
    return _channel_affine(y, weight, bias, C, input.ndim)


def instance_norm(input: Tensor, running_mean: Optional[Tensor] = None, running_var: Optional[Tensor] = None,
                  weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) plane of an (N, C, *) input; with use_input_stats the
    running statistics (when given) move towards the batch's (unbiased variance), otherwise
    they normalise the input."""
    op = "instance_norm"
    _check_tensor(op, input)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected an input of shape (N, C, *spatial), got {tuple(input.shape)}")
    N, C = input.shape[0], input.shape[1]
    _check_channel_param(op, weight, C, "weight")
    _check_channel_param(op, bias, C, "bias")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: use_input_stats=False needs running_mean and running_var")
        shape = [1, C] + [1] * (input.ndim - 2)
        y = ops.div(ops.sub(input, _views.reshape(running_mean, shape)),
                    ops.sqrt(ops.add(_views.reshape(running_var, shape), eps)))
        return _channel_affine(y, weight, bias, C, input.ndim)
    cols = input.numel() // max(N * C, 1) if N else 1
    y, mean, rstd = _normalize_rows(op, input, max(cols, 1), None, None, eps)
    if running_mean is not None or running_var is not None:
        with no_grad():
            m = _views.reshape(_wrap(mean), [N, C])
            var = ops.sub(ops.reciprocal(ops.square(_views.reshape(_wrap(rstd), [N, C]))), eps)
            unbiased = ops.mul(var, cols / max(cols - 1, 1))
            for buf, stat in ((running_mean, m), (running_var, unbiased)):
                if buf is not None:
                    new = ops.add(ops.mul(buf, 1.0 - momentum), ops.mul(ops.mean(stat, 0), momentum))
                    buf.copy_(new.to(dtype=buf.dtype))
    return _channel_affine(y, weight, bias, C, input.ndim)


# ---- modules -------------------------------------------------------------------------------------

class LayerNorm(Module):
    """Layer normalisation over the trailing normalized_shape dims (weight = 1, bias = 0 at start)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: device | str | int | None = None,
                 dtype: dtype | str | type | None = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        kw = dict(device=device, dtype=dtype)
        if elementwise_affine:
            self.weight = Parameter(creation.ones(*self.normalized_shape, **kw))
            self.bias = Parameter(creation.zeros(*self.normalized_shape, **kw)) if bias else None
        else:
            self.weight = None
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalises each sample over groups of num_channels // num_groups channels, then applies a
    per-channel affine."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups {num_groups} must divide num_channels {num_channels}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        kw = dict(device=device, dtype=dtype)
        self.weight = Parameter(creation.ones(num_channels, **kw)) if affine else None
        self.bias = Parameter(creation.zeros(num_channels, **kw)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    _spatial = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: device | str | int | None = None,
                 dtype: dtype | str | type | None = None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        kw = dict(device=device, dtype=dtype)
        self.weight = Parameter(creation.ones(num_features, **kw)) if affine else None
        self.bias = Parameter(creation.zeros(num_features, **kw)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, **kw))
            self.register_buffer("running_var", creation.ones(num_features, **kw))
        else:
            self.running_mean = None
            self.running_var = None

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == self._spatial + 1:   # unbatched (C, *spatial)
            return _views.squeeze(self.forward(_views.unsqueeze(x, 0)), 0)
        if x.ndim != self._spatial + 2:
            raise ValueError(f"{type(self).__name__}: expected a {self._spatial + 2}-D input, got shape "
                             f"{tuple(x.shape)}")
        use_input = self.training or not self.track_running_stats
        return instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             use_input, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Normalises each (sample, channel) of an (N, C, L) input over L (no running statistics unless
    track_running_stats)."""
    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Normalises each (sample, channel) of an (N, C, H, W) input over H and W."""
    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Normalises each (sample, channel) of an (N, C, D, H, W) input over D, H and W."""
    _spatial = 3

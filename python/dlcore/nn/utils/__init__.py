"""Gradient utilities: clip_grad_norm_ and clip_grad_value_ (as torch.nn.utils).

    loss.backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()

Both take the parameters as an iterable (or one tensor) and modify their ``.grad`` in place.
"""
from __future__ import annotations

from typing import Iterable, Optional

import math

from ...tensor import Tensor, tensor
from ...autograd import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_", "rnn"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _norm(g, norm_type):
    """The norm_type-norm of one gradient as a Python float (float64 from here on)."""
    if norm_type == math.inf:
        return float(g.abs().max()) if g.numel() else 0.0
    if norm_type == -math.inf:
        return float(g.abs().min()) if g.numel() else math.inf
    if norm_type == 2.0:
        return math.sqrt(float((g * g).sum()))
    if norm_type == 1.0:
        return float(g.abs().sum())
    if norm_type == 0.0:
        return float((g != 0).sum())
    return float((g.abs() ** norm_type).sum()) ** (1.0 / norm_type)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """The norm of the per-tensor norms (= the norm of all elements concatenated)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    with no_grad():
        norms = [_norm(t, norm_type) for t in tensors]
    if norm_type == math.inf:
        total = max(norms)
    elif norm_type == -math.inf:
        total = min(norms)
    elif norm_type == 0.0:
        total = sum(norms)
    else:
        total = sum(n ** norm_type for n in norms) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return tensor(total, dtype=tensors[0].dtype, device=tensors[0].device)


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor | float) -> None:
    """Scales the gradients by min(1, max_norm / (total_norm + 1e-6)) in place."""
    grads = _grads(parameters)
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if coef >= 1.0 and not math.isnan(coef):
        return   # a multiply by 1 changes nothing
    with no_grad():
        for g in grads:
            g.mul_(coef)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Rescales the gradients so their total norm is at most max_norm; returns the total norm
    (before clipping) as a 0-dim tensor. ``foreach`` is accepted for PyTorch compatibility."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if grads:
        clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    """Clamps every gradient element into [-clip_value, clip_value] in place."""
    v = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.copy_(g.clamp(-v, v))


from . import rnn  # noqa: E402  (PackedSequence, pad_sequence, pack_padded_sequence, ...)

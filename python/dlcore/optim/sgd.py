"""SGD with momentum, dampening, Nesterov momentum and (L2) weight decay, as torch.optim.SGD.

Per element (g = grad, negated when maximize):
    g = g + weight_decay * p
    buf = g                                   on the first step
    buf = momentum * buf + (1 - dampening) * g  afterwards
    g = g + momentum * buf  (nesterov)  or  g = buf
    p = p - lr * g
One fused kernel call per parameter (dlcore._C.sgd_step).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .. import _C
from .optimizer import Optimizer, _check_range

if TYPE_CHECKING:
    from ..tensor import Tensor


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
    decay (the update rule of torch.optim.SGD; see the module docstring)."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, g):
        _check_range("learning rate", g["lr"])
        _check_range("momentum value", g["momentum"])
        _check_range("weight_decay value", g["weight_decay"])
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p, grad, group, state):
        momentum = float(group["momentum"])
        buf = None
        first = False
        if momentum != 0:
            first = state.get("momentum_buffer") is None
            buf = self._buffer(state, "momentum_buffer", p)
        _C.sgd_step(p._impl, grad._impl, None if buf is None else buf._impl, float(group["lr"]), momentum,
                    float(group["dampening"]), float(group["weight_decay"]), bool(group["nesterov"]),
                    bool(group["maximize"]), first)

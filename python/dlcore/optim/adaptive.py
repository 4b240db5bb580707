"""Per-coordinate adaptive optimizers, as torch.optim: Adagrad, RMSprop, Adadelta.

Per element (g = grad, negated when maximize; g += weight_decay * p first):
  Adagrad:  sum += g^2; p -= lr/(1 + (t-1)*lr_decay) * g / (sqrt(sum) + eps)
  RMSprop:  sq = alpha*sq + (1-alpha)*g^2; avg = sqrt(sq) + eps, or when centered
            ga = lerp(ga, g, 1-alpha), avg = sqrt(sq - ga^2) + eps;
            momentum > 0: buf = momentum*buf + g/avg, p -= lr*buf; else p -= lr*g/avg
  Adadelta: sq = rho*sq + (1-rho)*g^2; d = sqrt(acc + eps)/sqrt(sq + eps) * g;
            acc = rho*acc + (1-rho)*d^2; p -= lr*d
Each step is one fused kernel call per parameter (dlcore._C.*_step).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .. import _C
from .optimizer import Optimizer, _check_range

if TYPE_CHECKING:
    from ..tensor import Tensor


class Adagrad(Optimizer):
    """Adagrad: per-element steps lr / (sqrt(sum of squared gradients) + eps), with optional lr decay."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2,
                 lr_decay: float = 0.0, weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)
        # As PyTorch: the accumulator exists (filled with initial_accumulator_value) from the start.
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = 0
                self._buffer(state, "sum", p, float(group["initial_accumulator_value"]))

    def _validate_group(self, g):
        _check_range("learning rate", g["lr"])
        _check_range("lr_decay value", g["lr_decay"])
        _check_range("weight_decay value", g["weight_decay"])
        _check_range("initial_accumulator_value value", g["initial_accumulator_value"])
        _check_range("epsilon value", g["eps"])

    def _update(self, p, grad, group, state):
        s = self._buffer(state, "sum", p, float(group["initial_accumulator_value"]))
        step = state.get("step", 0) + 1
        _C.adagrad_step(p._impl, grad._impl, s._impl, float(group["lr"]), float(group["lr_decay"]),
                        float(group["weight_decay"]), float(group["eps"]), bool(group["maximize"]), step)
        state["step"] = step


class RMSprop(Optimizer):
    """RMSprop: steps scaled by a running mean of squared gradients (alpha), optionally centered and with
    momentum."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, g):
        _check_range("learning rate", g["lr"])
        _check_range("epsilon value", g["eps"])
        _check_range("momentum value", g["momentum"])
        _check_range("weight_decay value", g["weight_decay"])
        _check_range("alpha value", g["alpha"])

    def _update(self, p, grad, group, state):
        if "step" not in state:
            state["step"] = 0
        sq = self._buffer(state, "square_avg", p)
        momentum = float(group["momentum"])
        buf = self._buffer(state, "momentum_buffer", p) if momentum > 0 else None
        ga = self._buffer(state, "grad_avg", p) if group["centered"] else None
        _C.rmsprop_step(p._impl, grad._impl, sq._impl, None if ga is None else ga._impl,
                        None if buf is None else buf._impl, float(group["lr"]), float(group["alpha"]),
                        float(group["eps"]), float(group["weight_decay"]), momentum, bool(group["maximize"]))
        state["step"] += 1


class Adadelta(Optimizer):
    """Adadelta: steps from running means of squared gradients and squared updates (rho), scaled by lr."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, g):
        _check_range("learning rate", g["lr"])
        _check_range("rho value", g["rho"], 0.0, 1.0)
        _check_range("epsilon value", g["eps"])
        _check_range("weight_decay value", g["weight_decay"])

    def _update(self, p, grad, group, state):
        if "step" not in state:
            state["step"] = 0
        sq = self._buffer(state, "square_avg", p)
        acc = self._buffer(state, "acc_delta", p)
        _C.adadelta_step(p._impl, grad._impl, sq._impl, acc._impl, float(group["lr"]), float(group["rho"]),
                         float(group["eps"]), float(group["weight_decay"]), bool(group["maximize"]))
        state["step"] += 1

"""The Adam family, as torch.optim: Adam (amsgrad), AdamW, Adamax, NAdam.

Per element, t = step count after this update, g = grad (negated when maximize):
  Adam:   g += wd*p (AdamW instead: p *= 1 - lr*wd); m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g^2;
          vmax = max(vmax, v) (amsgrad, used in place of v);
          p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
  Adamax: m = lerp(m, g, 1-b1); u = max(b2*u, |g| + eps); p -= lr/(1-b1^t) * m/u
  NAdam:  mu_t = b1*(1 - 0.5*0.96^(t*momentum_decay)); m, v as Adam; d = sqrt(v/(1-b2^t)) + eps;
          p -= lr*(1-mu_t)/(1-prod mu_1..t) * g/d + lr*mu_{t+1}/(1-prod mu_1..t+1) * m/d
Each step is one fused kernel call per parameter (dlcore._C.*_step).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .. import _C
from .optimizer import Optimizer, _check_betas, _check_range

if TYPE_CHECKING:
    from ..tensor import Tensor


class _AdamFamily(Optimizer):
    """Shared hyper-parameter checks of Adam, AdamW, Adamax and NAdam (lr, eps, betas, decay)."""

    def _validate_group(self, g):
        _check_range("learning rate", g["lr"])
        _check_range("epsilon value", g["eps"])
        g["betas"] = _check_betas(g["betas"])
        _check_range("weight_decay value", g["weight_decay"])


class Adam(_AdamFamily):
    """Adam (Kingma & Ba) with bias-corrected moments, optional AMSGrad and L2 weight decay added to the
    gradient; the update rule and state of torch.optim.Adam."""
    _decoupled = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, grad, group, state):
        if "step" not in state:
            state["step"] = 0
        m = self._buffer(state, "exp_avg", p)
        v = self._buffer(state, "exp_avg_sq", p)
        vmax = self._buffer(state, "max_exp_avg_sq", p) if group["amsgrad"] else None
        step = state["step"] + 1
        beta1, beta2 = group["betas"]
        _C.adam_step(p._impl, grad._impl, m._impl, v._impl, None if vmax is None else vmax._impl,
                     float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                     float(group["weight_decay"]), self._decoupled, bool(group["maximize"]), step)
        state["step"] = step


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr*weight_decay."""
    _decoupled = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class Adamax(_AdamFamily):
    """Adamax: Adam with the infinity norm of past gradients in place of the second moment."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p, grad, group, state):
        if "step" not in state:
            state["step"] = 0
        m = self._buffer(state, "exp_avg", p)
        u = self._buffer(state, "exp_inf", p)
        step = state["step"] + 1
        beta1, beta2 = group["betas"]
        _C.adamax_step(p._impl, grad._impl, m._impl, u._impl, float(group["lr"]), float(beta1),
                       float(beta2), float(group["eps"]), float(group["weight_decay"]),
                       bool(group["maximize"]), step)
        state["step"] = step


class NAdam(_AdamFamily):
    """Adam with Nesterov momentum (Dozat, 2016), with PyTorch's momentum_decay schedule."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, g):
        super()._validate_group(g)
        _check_range("momentum_decay value", g["momentum_decay"])

    def _update(self, p, grad, group, state):
        if "step" not in state:
            state["step"] = 0
            state["mu_product"] = 1.0
        m = self._buffer(state, "exp_avg", p)
        v = self._buffer(state, "exp_avg_sq", p)
        step = state["step"] + 1
        beta1, beta2 = group["betas"]
        mu_product = _C.nadam_step(p._impl, grad._impl, m._impl, v._impl, float(group["lr"]),
                                   float(beta1), float(beta2), float(group["eps"]),
                                   float(group["weight_decay"]), float(group["momentum_decay"]),
                                   bool(group["decoupled_weight_decay"]), bool(group["maximize"]),
                                   step, float(state.get("mu_product", 1.0)))
        state["step"] = step
        state["mu_product"] = mu_product

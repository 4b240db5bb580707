"""Optimizer: the base class of dlcore's optimizers (param groups, state, state_dict).

Mirrors ``torch.optim.Optimizer``: ``param_groups`` is a list of dicts, each holding its
``params`` and its own copy of every hyper-parameter (a scheduler changes ``group["lr"]`` and the
next step uses it); ``state`` maps a parameter to its per-parameter dict (``step``, moment
buffers...), created lazily on the parameter's first step.

A subclass implements ``_update(p, grad, group, state)``, which makes ONE ``dlcore._C`` call:
the fused kernel reads the parameter, its gradient and its state once and writes them back in
place (the update maths is csrc/core/optim_math.h, run over the elements by csrc/cpu/optim.cpp
and csrc/cuda/optim.cu). No tensor math happens in Python.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import numbers
from collections import defaultdict
from itertools import chain

import numpy as np

from ..tensor import Tensor, tensor
from ..creation import full_like, zeros_like


class _RequiredParameter:
    """Marks a hyper-parameter without a default (SGD's lr in old PyTorch)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _check_range(name, value, low=0.0, high=None, high_open=False):
    """ValueError unless low <= value (<= or <) high; the message names the value (as PyTorch)."""
    v = float(value)
    ok = v >= low and (high is None or (v < high if high_open else v <= high))
    if not ok or v != v:
        raise ValueError(f"Invalid {name}: {value}")


def _check_betas(betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: expected a pair (beta1, beta2), got {betas!r}")
    _check_range("beta parameter at index 0", betas[0], 0.0, 1.0, high_open=True)
    _check_range("beta parameter at index 1", betas[1], 0.0, 1.0, high_open=True)
    return (float(betas[0]), float(betas[1]))


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``; params are Tensors or dicts (param groups)."""

    # State entries that are plain numbers (PyTorch keeps them in 0-dim tensors).
    _scalar_state = ("step", "mu_product")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got {type(params).__name__}")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ---- groups ------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group of parameters (with optional per-group hyper-parameters)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if not p.dtype.is_floating_point:
                raise TypeError(f"optimizer can only optimize floating point Tensors, got {p.dtype}")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self._validate_group(group)
        self.param_groups.append(group)

    def _validate_group(self, group):
        """Subclasses check their hyper-parameters here (ValueError on a bad value)."""

    # ---- gradients ---------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drops every parameter's gradient (or zeroes it in place when set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    g.requires_grad = False
                    g._node = None
                    g.fill_(0.0)

    # ---- the step ----------------------------------------------------------------------
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient. ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if not isinstance(g, Tensor):
                    raise TypeError(f"{type(self).__name__}.step: p.grad must be a dlcore Tensor, "
                                    f"got {type(g).__name__}")
                if not g.is_contiguous():
                    g = g.contiguous()
                self._update(p, g, group, self.state[p])
        return loss

    def _update(self, p, grad, group, state):
        raise NotImplementedError

    @staticmethod
    def _buffer(state, key, p, fill=0.0):
        """state[key], created as a tensor like p (zeros, or `fill`) when missing."""
        buf = state.get(key)
        if buf is None:
            buf = zeros_like(p) if fill == 0.0 else full_like(p, fill)
            state[key] = buf
        return buf

    # ---- state_dict --------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}, as PyTorch.

        Parameters are numbered in group order; state tensors are copies, so the dict is a
        snapshot that later steps do not change.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index and s:
                state[index[id(p)]] = {k: (v.detach().clone() if isinstance(v, Tensor) else v)
                                       for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores hyper-parameters and state saved by state_dict() (here or by torch.optim)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} vs {len(self.param_groups)})")
        for g, sg in zip(self.param_groups, saved_groups):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the "
                                 f"size of optimizer's group ({len(sg['params'])} vs {len(g['params'])})")
        id_map = dict(zip(chain.from_iterable(sg["params"] for sg in saved_groups),
                          chain.from_iterable(g["params"] for g in self.param_groups)))
        new_state = defaultdict(dict)
        for key, s in state_dict["state"].items():
            if key not in id_map:
                continue
            p = id_map[key]
            new_state[p] = {k: self._restore_value(k, v, p) for k, v in s.items()}
        new_groups = []
        for g, sg in zip(self.param_groups, saved_groups):
            ng = {k: v for k, v in sg.items() if k != "params"}
            if "betas" in ng:
                ng["betas"] = tuple(float(b) for b in ng["betas"])
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups

    def _restore_value(self, key, v, p):
        if v is None or isinstance(v, (bool, str)):
            return v
        if key in self._scalar_state:
            x = float(np.asarray(v.detach().cpu().numpy() if isinstance(v, Tensor) else v))
            return int(x) if key == "step" else x
        if isinstance(v, numbers.Number):
            return v
        if isinstance(v, Tensor):
            t = v.detach().to(device=p.device, dtype=p.dtype)
            t = t.clone() if t._impl is v._impl else t
        else:   # a NumPy array or a torch tensor (np.asarray reads any CPU array-like)
            src = v.detach().cpu() if hasattr(v, "detach") and hasattr(v, "cpu") else v
            t = tensor(np.asarray(src), dtype=p.dtype, device=p.device)
        if tuple(t.shape) != tuple(p.shape):
            raise ValueError(f"load_state_dict: state '{key}' has shape {tuple(t.shape)} but the "
                             f"parameter has shape {tuple(p.shape)}")
        return t.contiguous()

    # ---- printing ----------------------------------------------------------------------
    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)

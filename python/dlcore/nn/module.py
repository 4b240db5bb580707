"""Module and Parameter: the building blocks every layer, container and model is made of.

A Module owns three ordered tables, filled by plain attribute assignment:
  _parameters  name -> Parameter (trainable tensors; what an optimizer updates)
  _buffers     name -> Tensor    (state that is saved but not trained, e.g. BatchNorm's running mean)
  _modules     name -> Module    (children; their entries appear in state_dict as "child.name")
Everything recursive (parameters(), state_dict(), to(), train()) walks these tables, so a model
built from nested modules needs no bookkeeping of its own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional

import collections
import itertools
import numbers
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor, tensor as _tensor, _wrap
from ..autograd import no_grad
from .._dtype import as_device, as_dtype, device as _device
from .. import _C

if TYPE_CHECKING:
    import builtins

    from typing_extensions import Self

    from .._dtype import device, dtype


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable. ``Parameter(t)`` shares t's storage."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = _wrap(_C.empty([0], 0, 0, 0))
        elif not isinstance(data, Tensor):
            data = _tensor(data)
        self._impl = data._impl
        self.grad = None
        self._node = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce__(self):
        return (Parameter, (_tensor(np.asarray(self).copy(), dtype=self.dtype.name), self.requires_grad))


class RemovableHandle:
    """Returned by register_*_hook; ``handle.remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, table: dict[int, Any]) -> None:
        self._table = table
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_IncompatibleKeys = collections.namedtuple(  # type: ignore[name-match]
    "IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _addindent(s, n):
    lines = s.split("\n")
    return lines[0] + "".join("\n" + " " * n + line for line in lines[1:])


class Module:
    """Base class of all layers and models. Subclasses call ``super().__init__()`` and define forward()."""

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    # ---- forward -------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """hook(module, inputs_tuple, output) runs after forward; a non-None result replaces the output."""
        h = RemovableHandle(self._forward_hooks)
        self._forward_hooks[h.id] = hook
        return h

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """hook(module, inputs_tuple) runs before forward; a non-None result replaces the inputs."""
        h = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = hook
        return h

    # ---- registration --------------------------------------------------------------------
    def _check_name(self, name, kind):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain '.', got {name!r}")

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute {name!r} already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} object to parameter {name!r} "
                            "(dlcore.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Optional[Tensor], persistent: bool = True) -> None:
        """A tensor saved in state_dict (when persistent) and moved by to(), but not trained."""
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} object to buffer {name!r} "
                            "(dlcore.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Optional[Module]) -> None:
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute {name!r} already exists")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params, buffers, modules = d.get("_parameters"), d.get("_buffers"), d.get("_modules")
        if isinstance(value, Parameter):
            self._check_name(name, "parameter")
            self._remove_from(name, d, buffers, modules)
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(dlcore.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._check_name(name, "module")
            self._remove_from(name, d, params, buffers)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                "(dlcore.nn.Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(dlcore.Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, d, *tables):
        d.pop(name, None)
        for t in tables:
            if t is not None:
                t.pop(name, None)

    def __getattr__(self, name: str) -> Any:        # only called when normal lookup fails
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            t = d.get(table)
            if t is not None and name in t:
                return t[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(self._parameters) | set(self._buffers) | set(self._modules))

    # ---- traversal -----------------------------------------------------------------------
    def named_modules(self, memo: Optional[set[Any]] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, table, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in getattr(m, table).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(name, Parameter) pairs; a parameter shared by two layers is listed once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        m = self
        for part in target.split(".") if target else []:
            if part not in m._modules or m._modules[part] is None:
                raise AttributeError(f"{type(m).__name__} has no submodule {part!r} (looking up {target!r})")
            m = m._modules[part]
        return m

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        m = self.get_submodule(mod_path)
        if name not in m._parameters:
            raise AttributeError(f"{type(m).__name__} has no parameter {name!r}")
        return m._parameters[name]

    def apply(self, fn: Callable[[Module], Any]) -> Self:
        """fn(module) on every submodule (children first) and then on self, as torch does."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients -------------------------------------------------------------
    def train(self, mode: bool = True) -> Self:
        if not isinstance(mode, bool):
            raise ValueError("train: mode is expected to be a bool")
        self.training = mode
        for m in self.children():        # children's own train() overrides run, as in torch
            m.train(mode)
        return self

    def eval(self) -> Self:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        """Turns gradient tracking of every parameter on or off (False freezes the layer)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                with no_grad():
                    p.grad = p.grad.detach()
                    p.grad.zero_()

    # ---- device and dtype ----------------------------------------------------------------
    def _apply_impl(self, fn):
        """Replaces the storage of every parameter, gradient and buffer by fn(tensor) in place.

        The Parameter objects themselves stay the same, so an optimizer built before
        ``model.to("cuda")`` keeps updating the right tensors.
        """
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    if t is None:
                        continue
                    new = fn(t)
                    if new is not t:
                        t._impl = new._impl
                    if t.grad is not None:
                        g = fn(t.grad)
                        if g is not t.grad:
                            t.grad._impl = g._impl
        return self

    def to(self, *args: Any, device: device | str | int | None = None,
           dtype: dtype | str | type | None = None, non_blocking: bool = False) -> Self:
        """Moves and/or casts parameters and buffers in place: to("cuda"), to(dlcore.float64), to(t).

        Only floating point tensors change dtype (integer buffers such as counters keep theirs).
        """
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) and a in ("float32", "float64", "float", "double"):
                dtype = a
            elif isinstance(a, (str, _device)):
                device = a
            elif a is not None:
                dtype = a
        dev = as_device(device) if device is not None else None
        dt = as_dtype(dtype) if dtype is not None else None
        if dt is not None and not dt.is_floating_point:
            raise TypeError(f"Module.to only accepts floating point dtypes, got {dt}")

        def convert(t):
            out = t
            if dev is not None and out.device != dev:
                out = _wrap(_C.to_device(out._impl, dev.code, dev.index or 0))
            if dt is not None and out.dtype.is_floating_point and out.dtype is not dt:
                out = _wrap(_C.cast(out._impl, dt.code))
            return out

        return self._apply_impl(convert)

    def cpu(self) -> Self:
        return self.to("cpu")

    def cuda(self, device: device | str | int | None = None) -> Self:
        return self.to("cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device))

    def float(self) -> Self:
        return self.to(dtype="float32")

    def double(self) -> Self:
        return self.to(dtype="float64")

    # ---- state dict ----------------------------------------------------------------------
    def state_dict(self, destination: Optional[dict[str, Any]] = None, prefix: str = "",
                   keep_vars: builtins.bool = False) -> dict[str, Any]:
        """OrderedDict name -> tensor ('0.weight', 'fc1.bias', 'bn.running_mean').

        Values share storage with the module's tensors (detached unless keep_vars=True);
        dlcore.save copies them to disk.
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _state_targets(self):
        """name -> (owning module, table, local name) for every entry state_dict() would hold."""
        out = OrderedDict()
        for mod_prefix, m in self.named_modules(remove_duplicate=False):
            pre = mod_prefix + "." if mod_prefix else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[pre + name] = p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[pre + name] = b
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any],
                        strict: builtins.bool = True) -> _IncompatibleKeys:
        """Copies tensors from state_dict into this module's parameters and buffers.

        strict=True: missing or unexpected keys raise KeyError naming them. A shape mismatch
        always raises ValueError naming the key and both shapes. Nothing is written unless every
        check passes, so a failed load leaves the module unchanged. Returns
        (missing_keys, unexpected_keys).
        """
        if not isinstance(state_dict, collections.abc.Mapping):
            raise TypeError(f"load_state_dict: expected a dict-like state_dict, got {type(state_dict).__name__}")
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        name = type(self).__name__
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing key(s): " + ", ".join(repr(k) for k in missing))
            if unexpected:
                parts.append("unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
            raise KeyError(f"Error(s) in loading state_dict for {name}: " + "; ".join(parts))
        sources = {}
        bad = []
        for k, t in targets.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            if not isinstance(v, Tensor):
                if isinstance(v, (np.ndarray, numbers.Number, list)):
                    v = _tensor(np.asarray(v))
                else:
                    raise TypeError(f"load_state_dict: value for {k!r} is a {type(v).__name__}, expected a tensor")
            if tuple(v.shape) != tuple(t.shape):
                bad.append(f"{k!r}: checkpoint has shape {tuple(v.shape)}, the model expects {tuple(t.shape)}")
            sources[k] = v
        if bad:
            raise ValueError(f"Error(s) in loading state_dict for {name}: size mismatch for " + "; ".join(bad))
        with no_grad():
            for k, v in sources.items():
                _C.copy_(targets[k]._impl, v._impl)
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(m), 2))
        head = type(self).__name__ + "("
        if not lines:
            return head + ")"
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + "\n" + "".join("  " + line + "\n" for line in lines) + ")"

    def num_parameters(self, trainable_only: builtins.bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

"""Tensor: a Python handle on a C++ TensorImpl (shape, strides, dtype, device, shared storage).

Operations live in ``dlcore.ops``; the methods here are the PyTorch-named spellings of them.
Views (reshape, transpose, slicing...) are computed here as (sizes, strides, offset) and
checked against the storage bounds in C++, so no view can reach outside its memory.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, overload

import numbers

import numpy as np

from . import _C
from ._dtype import CPU, as_device, as_dtype, device, dtype, from_numpy_dtype, _BY_CODE
from ._dtype import bool_, float32, float64, int64

if TYPE_CHECKING:
    import builtins

    from ._dtype import device as _Device, dtype as _DType
    from .nn.module import RemovableHandle

if TYPE_CHECKING:   # the methods dlcore.ops / dlcore.tensor_api install at import, for type checkers
    from ._tensor_methods import _TensorMethods
else:
    _TensorMethods = object


class Size(tuple[int, ...]):
    """A tensor's shape: a tuple, as ``torch.Size`` is."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"dlcore.Size({list(self)})"


def _wrap(impl, requires_grad=False) -> "Tensor":
    t = Tensor.__new__(Tensor)
    t._impl = impl
    t.requires_grad = requires_grad
    t.grad = None
    t._node = None
    return t


def _infer_dtype(data):
    """dtype of nested Python data: any float -> float32, else any int -> int64, else bool."""
    kinds = set()

    def walk(x):
        if isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif isinstance(x, Tensor):
            kinds.add(x.dtype.category)
        elif isinstance(x, (bool, np.bool_)):
            kinds.add(0)
        elif isinstance(x, numbers.Integral):
            kinds.add(1)
        elif isinstance(x, numbers.Real):
            kinds.add(2)
        else:
            raise TypeError(f"tensor: can't convert {type(x).__name__} to a tensor element")

    walk(data)
    return {0: bool_, 1: int64, 2: float32}[max(kinds) if kinds else 2]


def tensor(data: Any, dtype: dtype | str | type | None = None, device: device | str | int | None = None,
           requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, NumPy arrays, tensors)."""
    if isinstance(data, Tensor):
        out = data.detach().clone() if dtype is None else data.detach().to(dtype=dtype).clone()
        out = out.to(device) if device is not None else out
        out.requires_grad = requires_grad
        return out
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.asarray(data)
        dt = as_dtype(dtype) if dtype is not None else from_numpy_dtype(arr.dtype)
    else:
        dt = as_dtype(dtype) if dtype is not None else _infer_dtype(data)
        if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
            data = _to_nested(data)
        arr = np.asarray(data)
    if arr.dtype == object:
        raise ValueError("tensor: ragged nested sequences can't form a tensor")
    t = _wrap(_C.from_numpy(np.array(arr, dtype=dt.numpy, order="C")))   # always a private copy
    if device is not None and as_device(device) != CPU:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _flat(seq):
    for v in seq:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def _to_nested(seq):
    return [(_to_nested(v) if isinstance(v, (list, tuple)) else (v.numpy() if isinstance(v, Tensor) else v))
            for v in seq]


def from_numpy(a: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``a`` (float32, float64, int64 or bool)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    return _wrap(_C.from_numpy(a))


def _norm_dim(dim, ndim, op="dim"):
    n = max(ndim, 1)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if dim < -n or dim >= n:
        raise IndexError(f"{op}: dim {dim} out of range for a tensor with {ndim} dims "
                         f"(expected in [{-n}, {n - 1}])")
    return dim % n


def _shape_arg(shape, op):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    if all(type(s) is int for s in shape):   # the common case, without the ABC checks below
        return tuple(shape)
    for s in shape:
        if not isinstance(s, numbers.Integral):
            raise TypeError(f"{op}: shape entries must be ints, got {shape!r}")
    return tuple(int(s) for s in shape)


class Tensor(_TensorMethods):
    """An n-dimensional array on the CPU or a CUDA device, with autograd fields."""

    __slots__ = ("_impl", "requires_grad", "grad", "_node", "_post_acc_hooks", "__weakref__")
    _impl: Any                     # the C++ TensorImpl
    requires_grad: builtins.bool
    grad: Optional[Tensor]
    _node: Any                     # the autograd graph node that made it (None for a leaf)
    _post_acc_hooks: Any           # hooks run after .grad accumulates (DistributedDataParallel)
    __array_priority__ = 1000     # make ndarray + Tensor defer to Tensor.__radd__

    def __init__(self, data: Any = None, dtype: dtype | str | type | None = None,
                 device: device | str | int | None = None) -> None:
        src = tensor([] if data is None else data, dtype=dtype, device=device)
        self._impl = src._impl
        self.requires_grad = False
        self.grad = None
        self._node = None

    # ---- metadata -------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._impl.shape)

    @overload
    def size(self, dim: None = None) -> Size: ...
    @overload
    def size(self, dim: int) -> int: ...

    def size(self, dim: Optional[int] = None) -> Size | int:
        s = self._impl.shape
        return Size(s) if dim is None else s[_norm_dim(dim, len(s), "size")]

    @overload
    def stride(self, dim: None = None) -> tuple[int, ...]: ...
    @overload
    def stride(self, dim: int) -> int: ...

    def stride(self, dim: Optional[int] = None) -> tuple[int, ...] | int:
        s = self._impl.strides
        return tuple(s) if dim is None else s[_norm_dim(dim, len(s), "stride")]

    def storage_offset(self) -> int:
        return self._impl.offset

    @property
    def ndim(self) -> int:
        return self._impl.ndim

    def dim(self) -> int:
        return self._impl.ndim

    def numel(self) -> int:
        return self._impl.numel()

    def __len__(self):
        if self._impl.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._impl.shape[0]

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def dtype(self) -> _DType:
        return _BY_CODE[self._impl.dtype]

    @property
    def device(self) -> _Device:
        i = self._impl
        return CPU if i.device_type == 0 else device("cuda", i.device_index)

    @property
    def is_cuda(self) -> builtins.bool:
        return self._impl.device_type == 1

    def is_contiguous(self) -> builtins.bool:
        return self._impl.is_contiguous()

    def is_floating_point(self) -> builtins.bool:
        return self.dtype.is_floating_point

    def data_ptr(self) -> int:
        return self._impl.data_ptr

    # ---- conversion ------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; use t.detach().numpy()")
        return _C.to_numpy(self._impl)

    def __array__(self, dtype=None, copy=None):
        # NumPy 2 trusts copy=True to mean a fresh array; copy=False forbids copying.
        was_cpu = not self.is_cuda
        arr = _C.to_numpy(self.cpu()._impl)
        if copy is False and (not was_cpu or (dtype is not None and np.dtype(dtype) != arr.dtype)):
            raise ValueError("__array__: a copy is needed (CUDA tensor or dtype change) but copy=False")
        if dtype is not None:
            arr = arr.astype(dtype, copy=bool(copy))
        elif copy:
            arr = arr.copy()
        return arr

    def tolist(self) -> Any:
        return self.cpu().detach().numpy().tolist()

    def item(self) -> Any:
        return self._impl.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with {self.numel()} elements is ambiguous")
        return bool(self.item())

    def __index__(self):
        if self.dtype is not int64 or self.numel() != 1:
            raise TypeError("only one-element integer tensors can be used as an index")
        return int(self.item())

    def cpu(self) -> Tensor:
        return self.to(device=CPU)

    def cuda(self, device: _Device | str | int | None = None) -> Tensor:
        return self.to(device=as_device("cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device)))

    def float(self) -> Tensor:
        return self.to(dtype=float32)

    def double(self) -> Tensor:
        return self.to(dtype=float64)

    def long(self) -> Tensor:
        return self.to(dtype=int64)

    def bool(self) -> Tensor:
        return self.to(dtype=bool_)

    def detach(self) -> Tensor:
        return _wrap(self._impl)

    def detach_(self) -> Tensor:
        self._node = None
        self.requires_grad = False
        return self

    # ---- autograd ----------------------------------------------------------------------
    def backward(self, gradient: Optional[Tensor] = None, retain_graph: builtins.bool = False) -> None:
        from .autograd import backward
        backward(self, gradient, retain_graph)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if self._node is not None and not requires_grad:
            raise RuntimeError("requires_grad_: only leaf tensors can stop requiring grad; use detach()")
        if requires_grad and not self.dtype.is_floating_point:
            raise TypeError(f"requires_grad_: only floating point tensors can require gradients, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], Any]) -> RemovableHandle:
        """``hook(self)`` runs each time backward has accumulated this leaf's ``.grad``;
        returns a handle whose ``remove()`` unregisters it."""
        from .autograd import register_post_accumulate_grad_hook
        return register_post_accumulate_grad_hook(self, hook)

    @property
    def is_leaf(self) -> builtins.bool:
        return self._node is None

    @property
    def grad_fn(self) -> Any:
        return self._node

    # ---- in-place writes (not recorded by autograd: use them on leaves under no_grad) ----
    def _check_write(self, op):
        from .autograd import is_grad_enabled
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{op}: in-place operation on a tensor that requires grad "
                               "(wrap it in dlcore.no_grad())")

    def copy_(self, src: Any) -> Tensor:
        self._check_write("copy_")
        src = src if isinstance(src, Tensor) else tensor(src, dtype=self.dtype)
        _C.copy_(self._impl, src._impl)
        return self

    def fill_(self, value: builtins.float) -> Tensor:
        self._check_write("fill_")
        _C.fill_(self._impl, float(value))
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0.0)

    # ---- DLPack ------------------------------------------------------------------------
    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        if self.is_cuda:
            _C.cuda_synchronize(self._impl.device_index)
        versioned = max_version is not None and tuple(max_version)[0] >= 1
        return _C.to_dlpack(self._impl, versioned)

    def __dlpack_device__(self):
        return (2, self._impl.device_index) if self.is_cuda else (1, 0)

    # ---- printing ----------------------------------------------------------------------
    def __repr__(self):
        body = np.array2string(np.asarray(self), separator=", ", prefix="tensor(")
        extras = []
        if self.dtype is not float32 and not (self.dtype is int64 and self.numel() > 0) and self.dtype is not bool_:
            extras.append(f"dtype={self.dtype}")
        if self.is_cuda:
            extras.append(f"device='{self.device}'")
        if self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __hash__(self):
        return id(self)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __reduce__(self):
        return (tensor, (np.asarray(self).copy(), self.dtype.name, str(self.device), self.requires_grad))


from . import ops as _ops  # noqa: E402  (ops need Tensor defined first)

_ops._install_methods(Tensor)

"""dtypes and devices: the small value types every tensor carries."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


class dtype:
    """An element type. ``dlcore.float32`` etc. are the only instances."""

    __slots__ = ("name", "code", "itemsize", "numpy", "is_floating_point", "category")

    def __init__(self, name: str, code: int, itemsize: int, np_dtype: Any, category: int) -> None:
        self.name = name
        self.code = code                  # the C++ DType enum value
        self.itemsize = itemsize
        self.numpy = np.dtype(np_dtype)
        self.is_floating_point = category == 2
        self.category = category          # 0 bool, 1 integer, 2 floating (type promotion)

    def __repr__(self):
        return f"dlcore.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


bool_ = dtype("bool", 0, 1, np.bool_, 0)
int64 = dtype("int64", 1, 8, np.int64, 1)
float32 = dtype("float32", 2, 4, np.float32, 2)
float64 = dtype("float64", 3, 8, np.float64, 2)

_BY_CODE = {d.code: d for d in (bool_, int64, float32, float64)}
_BY_NAME = {"bool": bool_, "int64": int64, "long": int64, "float32": float32, "float": float32,
            "float64": float64, "double": float64}


def _dtype_by_name(name):
    return _BY_NAME[name]


def as_dtype(d: Any) -> dtype:
    """Accepts a dlcore dtype, a NumPy dtype / type, or a name such as "float32"."""
    if isinstance(d, dtype):
        return d
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    if d is bool:
        return bool_
    if d is int:
        return int64
    if d is float:
        return float32
    try:
        nd = np.dtype(d)
    except TypeError:
        raise TypeError(f"unsupported dtype {d!r}: dlcore supports float32, float64, int64 and bool") from None
    for cand in (float32, float64, int64, bool_):
        if cand.numpy == nd:
            return cand
    raise TypeError(f"unsupported dtype {nd}: dlcore supports float32, float64, int64 and bool")


def from_numpy_dtype(nd: Any, op: str = "tensor") -> dtype:
    """The dlcore dtype a NumPy array converts to under ``dlcore.tensor`` (copying)."""
    nd = np.dtype(nd)
    if nd.kind == "f":
        return float64 if nd.itemsize == 8 else float32
    if nd.kind in "iu":
        return int64
    if nd.kind == "b":
        return bool_
    raise TypeError(f"{op}: unsupported NumPy dtype {nd} (dlcore supports float32, float64, int64 and bool)")


class device:
    """``device("cpu")``, ``device("cuda")`` (= cuda:0) or ``device("cuda", 1)``."""

    __slots__ = ("type", "index")
    type: str                  # "cpu" or "cuda"
    index: Optional[int]       # None on the CPU

    def __init__(self, spec: str | device = "cpu", index: Optional[int] = None) -> None:
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {spec!r}")
        name, _, idx = spec.partition(":")
        if name not in ("cpu", "cuda"):
            raise ValueError(f"device: unknown device type {name!r} (expected 'cpu' or 'cuda')")
        if idx:
            if not idx.isdigit():
                raise ValueError(f"device: bad device index in {spec!r}")
            index = int(idx)
        self.type = name
        self.index = None if name == "cpu" else (0 if index is None else int(index))

    @property
    def code(self) -> int:
        return 0 if self.type == "cpu" else 1

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (ValueError, TypeError):
                return False
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return "cpu" if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"


CPU = device("cpu")


def as_device(d: device | str | int | None) -> device:
    if d is None:
        return CPU
    if isinstance(d, device):
        return d
    if isinstance(d, int):
        return device("cuda", d)
    return device(d)

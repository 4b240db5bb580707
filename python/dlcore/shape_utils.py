"""Shape utilities built from views: split, chunk, unbind, flip, roll, tril, triu, repeat, tile,
repeat_interleave, meshgrid, outer, view_as, type_as.

Each is a composition of ops that already carry their backward (narrow, expand, reshape,
index_select, where, cat), so autograd comes with them; only flip and roll copy.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numbers

import numpy as np

from ._dtype import bool_, int64
from .tensor import Tensor, _norm_dim, _shape_arg, tensor
from . import ops as _ops
from . import views as _views


def split(tensor_: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Views of consecutive pieces along dim: equal pieces of split_size (the last may be
    shorter) or the listed section sizes (which must add up to the dim's size)."""
    d = _norm_dim(dim, tensor_.ndim, "split")
    n = tensor_.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sections {sizes} do not add up to dim {d} of size {n}")
    out, pos = [], 0
    for s in sizes:
        out.append(_views.narrow(tensor_, d, pos, s))
        pos += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most `chunks` views of ceil(n / chunks) elements along dim (as torch.chunk)."""
    if not isinstance(chunks, numbers.Integral) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    d = _norm_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    size = -(-n // chunks) if n else 0
    if size == 0:
        return tuple(_views.narrow(input, d, 0, 0) for _ in range(chunks)) if n == 0 else ()
    return split(input, size, d)


def tensor_split(input: Tensor, indices_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    d = _norm_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    if isinstance(indices_or_sections, numbers.Integral):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"tensor_split: sections must be positive, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        bounds = [0] + [min(max(int(i), 0), n) for i in indices_or_sections] + [n]
    return tuple(_views.narrow(input, d, a, max(b - a, 0)) for a, b in zip(bounds[:-1], bounds[1:]))


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along dim, each without that dim."""
    d = _norm_dim(dim, input.ndim, "unbind")
    return tuple(_views.squeeze(_views.narrow(input, d, i, 1), d) for i in range(input.shape[d]))


def _dims_arg(dims, ndim, op):
    if isinstance(dims, numbers.Integral):
        dims = (dims,)
    out = [_norm_dim(k, ndim, op) for k in dims]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dims {tuple(dims)} repeat a dimension")
    return out


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    """A copy of input reversed along each of dims."""
    out = input
    for d in _dims_arg(dims, input.ndim, "flip"):
        n = input.shape[d]
        if n > 1:
            out = _views.index_select(out, d, tensor(np.arange(n - 1, -1, -1), dtype=int64, device=input.device))
    return out if out is not input else _views.clone(input)


def fliplr(input: Tensor) -> Tensor:
    if input.ndim < 2:
        raise ValueError(f"fliplr: expected a tensor with >= 2 dims, got shape {tuple(input.shape)}")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    if input.ndim < 1:
        raise ValueError("fliplr: expected a tensor with >= 1 dim")
    return flip(input, 0)


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Elements shifted along dims, wrapping around (dims=None: the flattened tensor)."""
    if dims is None:
        if not isinstance(shifts, numbers.Integral):
            if len(shifts) != 1:
                raise ValueError("roll: several shifts need as many dims")
            shifts = shifts[0]
        return _views.reshape(roll(_views.reshape(input, -1), shifts, 0), input.shape)
    shifts = (shifts,) if isinstance(shifts, numbers.Integral) else tuple(shifts)
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: got {len(shifts)} shifts for {len(dims)} dims")
    out = input
    for s, dd in zip(shifts, dims):
        d = _norm_dim(dd, input.ndim, "roll")
        n = input.shape[d]
        if n == 0 or s % n == 0:
            continue
        s %= n
        out = _views.cat([_views.narrow(out, d, n - s, s), _views.narrow(out, d, 0, n - s)], d)
    return out if out is not input else _views.clone(input)


def _tri(op, input, diagonal, lower):
    if input.ndim < 2:
        raise ValueError(f"{op}: expected a tensor with >= 2 dims, got shape {tuple(input.shape)}")
    r, c = input.shape[-2], input.shape[-1]
    i, j = np.arange(r)[:, None], np.arange(c)[None, :]
    keep = (j - i <= diagonal) if lower else (j - i >= diagonal)
    mask = tensor(keep, dtype=bool_, device=input.device)
    zero = tensor(0, dtype=input.dtype, device=input.device)
    return _ops.where(_views.expand(mask, *input.shape), input, zero)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (j - i <= diagonal) of the last two dims; zeros elsewhere."""
    return _tri("tril", input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (j - i >= diagonal) of the last two dims; zeros elsewhere."""
    return _tri("triu", input, diagonal, False)


def repeat(input: Tensor, *sizes: int | Sequence[int]) -> Tensor:
    """input tiled sizes[k] times along dim k (leading sizes add new dims), as Tensor.repeat."""
    sizes = _shape_arg(sizes, "repeat")
    if len(sizes) < input.ndim:
        raise ValueError(f"repeat: got {len(sizes)} repeat counts for a tensor of {input.ndim} dims")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: repeat counts must be >= 0, got {sizes}")
    shape = [1] * (len(sizes) - input.ndim) + list(input.shape)
    x = _views.reshape(input, shape)
    # (a, b) -> (1, a, 1, b) -> expand (r0, a, r1, b) -> (r0 a, r1 b): each copy a broadcast.
    inter, big, final = [], [], []
    for s, r in zip(shape, sizes):
        inter += [1, s]
        big += [r, s]
        final.append(r * s)
    return _views.reshape(_views.expand(_views.reshape(x, inter), *big), final)


def tile(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    dims = tuple(dims) if not isinstance(dims, numbers.Integral) else (dims,)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, *dims)


def repeat_interleave(input: Tensor, repeats: Tensor | int | Sequence[int] | None = None,
                      dim: Optional[int] = None, output_size: Optional[int] = None) -> Tensor:
    """Each element repeated `repeats` times (an int, or one count per element) along dim
    (dim=None: the flattened input). repeat_interleave(counts) alone gives the repeated arange."""
    if repeats is None:   # torch.repeat_interleave(repeats): index i repeated repeats[i] times
        counts = np.asarray(input.cpu() if isinstance(input, Tensor) else input, dtype=np.int64)
        return tensor(np.repeat(np.arange(counts.size), counts), dtype=int64,
                      device=input.device if isinstance(input, Tensor) else None)
    x = input
    if dim is None:
        x, d = _views.reshape(input, -1), 0
    else:
        d = _norm_dim(dim, input.ndim, "repeat_interleave")
    n = x.shape[d] if x.ndim else 1
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.ndim <= 1 and n != 1:
        repeats = int(repeats.item())
    if isinstance(repeats, numbers.Integral):
        if repeats < 0:
            raise ValueError(f"repeat_interleave: repeats must be >= 0, got {repeats}")
        if x.ndim == 0:
            x, d = _views.reshape(x, 1), 0
        shape = list(x.shape)
        big = shape[:d + 1] + [int(repeats)] + shape[d + 1:]
        out_shape = shape[:d] + [shape[d] * int(repeats)] + shape[d + 1:]
        return _views.reshape(_views.expand(_views.unsqueeze(x, d + 1), *big), out_shape)
    counts = np.asarray(repeats.cpu() if isinstance(repeats, Tensor) else repeats, dtype=np.int64).reshape(-1)
    if counts.size != n:
        raise ValueError(f"repeat_interleave: got {counts.size} repeat counts for dim {d} of size {n}")
    if (counts < 0).any():
        raise ValueError("repeat_interleave: repeat counts must be >= 0")
    idx = tensor(np.repeat(np.arange(n), counts), dtype=int64, device=x.device)
    return _views.index_select(x, d, idx)


def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids: output k varies along dim k ('ij'); 'xy' swaps the first two dims."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expected 0-d or 1-d tensors, got shape {tuple(t.shape)}")
    ts = [_views.reshape(t, -1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.shape[0] for t in ts]
    out = []
    for k, t in enumerate(ts):
        view = [1] * len(ts)
        view[k] = shape[k]
        out.append(_views.expand(_views.reshape(t, view), *shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """input[i] * vec2[j] (1-D inputs)."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"outer: expected 1-D tensors, got shapes {tuple(input.shape)} and {tuple(vec2.shape)}")
    return _ops.mul(_views.unsqueeze(input, 1), _views.unsqueeze(vec2, 0))


ger = outer


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return _views.view(input, *other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return _views.reshape(input, *other.shape)


def type_as(input: Tensor, other: Tensor) -> Tensor:
    return input.to(dtype=other.dtype)

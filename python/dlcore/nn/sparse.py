"""Embedding: a lookup table of num_embeddings vectors, as torch.nn.Embedding / F.embedding.

    emb = nn.Embedding(10000, 128, padding_idx=0)
    vectors = emb(token_ids)                 # (N, T) int64 -> (N, T, 128)

The forward gathers rows of the weight (the index_select kernel); the backward scatter-adds the
output gradient into a zero table with index_add (repeated indices accumulate, in index order,
so the result does not depend on the thread count). The padding_idx row receives no gradient
and starts at zero. ``sparse=True`` is accepted for compatibility; the gradient is dense.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numbers

import numpy as np

from .. import _C, creation
from .._dtype import int64
from ..autograd import no_grad
from ..tensor import Tensor, _wrap, tensor as _tensor
from . import init
from .functional import _attach, _grad_on
from .module import Module, Parameter

if TYPE_CHECKING:
    from .._dtype import device, dtype

__all__ = ["Embedding", "embedding"]


def _norm_padding_idx(name, padding_idx, num):
    if padding_idx is None:
        return None
    if not isinstance(padding_idx, numbers.Integral) or isinstance(padding_idx, bool):
        raise TypeError(f"{name}: padding_idx must be an int or None, got {type(padding_idx).__name__}")
    if not -num <= padding_idx < num:
        raise ValueError(f"{name}: padding_idx {padding_idx} must be within num_embeddings "
                         f"({num}): in [-{num}, {num})")
    return int(padding_idx) + num if padding_idx < 0 else int(padding_idx)


def _range_error(name, input, weight, host):
    num = weight.shape[0]
    lo, hi = int(host.min()), int(host.max())
    bad = lo if lo < 0 else hi
    return IndexError(f"{name}: index {bad} is out of range for num_embeddings={num} "
                      f"(input shape {tuple(input.shape)}, weight shape "
                      f"{tuple(weight.shape)}; valid indices are 0..{num - 1})")


def _indices(name, input, weight, need_host):
    """input as a 1-D int64 index tensor on the weight's device, and its values on the host
    (None unless need_host). The range is checked by the gather (`_lookup`), which reads the
    indices anyway: a host copy and a min/max pass here cost ~8 us of a ~30 us lookup of
    1600 tokens."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor of indices, got {type(input).__name__}")
    if input.dtype != int64:
        if input.is_floating_point() or input.dtype.name == "bool":
            raise TypeError(f"{name}: expected an int64 index tensor, got {input.dtype} "
                            f"(shape {tuple(input.shape)})")
        input = input.to(dtype=int64)
    if input.device != weight.device:
        raise ValueError(f"{name}: indices are on {input.device} but the weight is on "
                         f"{weight.device}")
    host = None
    if need_host:
        host = np.asarray(input.detach().cpu()).reshape(-1)
        if host.size and (host.min() < 0 or host.max() >= weight.shape[0]):
            raise _range_error(name, input, weight, host)
    flat = input.detach().reshape(-1)
    return flat if flat._impl.is_contiguous() else flat.contiguous(), host


def _lookup(name, input, weight, idx):
    """weight's rows at idx; an index outside [0, num_embeddings) raises IndexError naming the
    layer (the kernel checks; negative indices do not count from the end here)."""
    try:
        return _wrap(_C.index_select(weight._impl, 0, idx._impl, False))
    except IndexError:
        raise _range_error(name, input, weight, np.asarray(idx.cpu())) from None


def _renorm_(weight, rows, max_norm, norm_type):
    """torch's max_norm: every looked-up row whose norm exceeds max_norm is scaled in place to
    max_norm (x max_norm / (norm + 1e-7)), before the lookup."""
    with no_grad():
        sel = weight.index_select(0, rows)
        a = sel.abs()
        norms = a.amax(1) if norm_type == float("inf") else (a ** norm_type).sum(1) ** (1.0 / norm_type)
        scale = (max_norm / (norms + 1e-7)).clamp(max=1.0)
        scale = (norms > max_norm).to(dtype=sel.dtype) * (scale - 1.0) + 1.0
        _C.index_add_(weight._impl, 0, rows._impl, (sel * scale.unsqueeze(1) - sel)._impl)


def _embedding(name, input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
               scale_grad_by_freq=False):
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"{name}: weight must be a 2-D (num_embeddings, embedding_dim) tensor, "
                         f"got {tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
    num, dim = weight.shape
    pad = _norm_padding_idx(name, padding_idx, num)
    idx, host = _indices(name, input, weight, max_norm is not None or scale_grad_by_freq)
    if max_norm is not None and host.size:
        rows = _tensor(np.unique(host), dtype=int64, device=weight.device)
        _renorm_(weight, rows, float(max_norm), float(norm_type))
    out_shape = tuple(input.shape) + (dim,)
    out = _lookup(name, input, weight, idx)                        # (len(idx), dim)
    if _grad_on(weight):
        out = _attach(out, "embedding", (weight,),
                      _embedding_backward(weight, idx, host, pad, scale_grad_by_freq))
    return out.reshape(out_shape) if len(out_shape) != 2 else out


def _embedding_backward(weight, idx, host, pad, scale_grad_by_freq):
    num, dim = weight.shape
    scale = None
    count = idx.numel()
    if scale_grad_by_freq and count:
        counts = np.bincount(host, minlength=num)
        scale = _tensor((1.0 / counts[host]).reshape(-1, 1), dtype=weight.dtype,
                        device=weight.device)

    def backward(g):
        g2 = g.reshape(count, dim)
        if scale is not None:
            g2 = g2 * scale
        acc = creation.zeros(num, dim, dtype=weight.dtype, device=weight.device)
        _C.index_add_(acc._impl, 0, idx._impl, _C.contiguous(g2._impl))
        if pad is not None:
            acc[pad] = 0.0
        return (acc,)
    return backward


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """Rows of weight (num_embeddings, embedding_dim) at the int64 indices of input (any shape):
    output input.shape + (embedding_dim,). padding_idx's row gets no gradient; max_norm renorms
    the looked-up rows in place; scale_grad_by_freq divides each gradient by the index's count in
    the batch. sparse=True is accepted (the gradient is dense)."""
    return _embedding("embedding", input, weight, padding_idx, max_norm, norm_type,
                      scale_grad_by_freq)


class Embedding(Module):
    """A table of num_embeddings vectors of size embedding_dim, initialised N(0, 1) (the
    padding_idx row zero), looked up by int64 indices of any shape."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None,
                 max_norm: Optional[float] = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Optional[Tensor] = None, _freeze: bool = False,
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__()
        for what, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
                raise ValueError(f"Embedding: {what} must be a non-negative int, got {v!r}")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = _norm_padding_idx("Embedding", padding_idx, self.num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(creation.empty(self.num_embeddings, self.embedding_dim,
                                                   dtype=dtype, device=device),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight of shape {tuple(_weight.shape)} does not "
                                 f"match ({self.num_embeddings}, {self.embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Tensor) -> Tensor:
        name = f"Embedding({self.num_embeddings}, {self.embedding_dim})"
        return _embedding(name, input, self.weight, self.padding_idx, self.max_norm,
                          self.norm_type, self.scale_grad_by_freq)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: Optional[int] = None,
                        max_norm: Optional[float] = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, sparse: bool = False) -> Embedding:
        """An Embedding whose weight is `embeddings` (2-D); freeze=True: no gradient."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError("Embedding.from_pretrained: embeddings must be a 2-D tensor, got "
                             f"{tuple(embeddings.shape) if isinstance(embeddings, Tensor) else type(embeddings).__name__}")
        rows, cols = embeddings.shape
        return cls(rows, cols, _weight=embeddings.detach(), _freeze=freeze,
                   padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s

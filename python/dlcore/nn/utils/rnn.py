"""Variable-length batches for the recurrent layers, as torch.nn.utils.rnn.

    padded = pad_sequence([a, b, c])                          # (T_max, 3, F), zeros past each end
    packed = pack_padded_sequence(padded, [5, 3, 2])          # only the real steps
    out, (h_n, c_n) = lstm(packed)                            # h_n: each sequence's last step
    out, lengths = pad_packed_sequence(out)                   # (T_max, 3, H), zeros past each end

A PackedSequence stores the steps time-major: ``data`` holds, for t = 0, 1, ..., the rows of the
``batch_sizes[t]`` sequences still running at step t (sequences sorted by decreasing length).
``sorted_indices`` says which original batch entry each sorted position holds (None when the
batch was already sorted); ``unsorted_indices`` is its inverse. Packing, padding and unpacking
are gathers (index_select), so gradients flow through them.
"""
from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from ... import views
from ..._dtype import int64
from ...creation import full
from ...tensor import Tensor, tensor

if TYPE_CHECKING:
    from ..._dtype import device

# lengths / indices given as a tensor, a NumPy array or a list of ints
_Ints = Union[Tensor, np.ndarray, Sequence[int]]

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpack_sequence", "unpad_sequence", "invert_permutation"]


def invert_permutation(permutation: Optional[_Ints]) -> Optional[Tensor]:
    """The inverse of a permutation given as a 1-D int64 tensor (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(permutation.cpu() if isinstance(permutation, Tensor) else permutation,
                   dtype=np.int64)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=np.int64)
    dev = permutation.device if isinstance(permutation, Tensor) else None
    return tensor(inv, dtype=int64, device=dev)


def _host_ints(x, what):
    a = np.asarray(x.cpu() if isinstance(x, Tensor) else x)
    if a.dtype.kind not in "iu":
        if a.size and not np.all(np.equal(np.mod(a, 1), 0)):
            raise TypeError(f"{what} must be integers, got {a.dtype}")
    return a.astype(np.int64).reshape(-1)


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices); build it with
    pack_padded_sequence / pack_sequence rather than by hand. batch_sizes is a CPU int64
    tensor (it sizes the kernels' steps), the index tensors live with the data."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise ValueError("PackedSequence: batch_sizes is required")
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = tensor(_host_ints(batch_sizes, "batch_sizes"), dtype=int64)
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = (lambda t: None if t is None else t.to(device=data.device))
        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cpu(self) -> PackedSequence:
        return self.to(device="cpu")

    def cuda(self, device: device | str | int | None = None) -> PackedSequence:
        return self.to(device="cuda" if device is None else device)

    def double(self) -> PackedSequence:
        return self.to(dtype="float64")

    def float(self) -> PackedSequence:
        return self.to(dtype="float32")

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def pack_padded_sequence(input: Tensor, lengths: _Ints, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Packs a padded batch (T, B, *) ((B, T, *) with batch_first) of sequences with the given
    lengths. enforce_sorted=True requires lengths in decreasing order; False sorts them and
    records sorted_indices so the layers can return states in the original order."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected an input with at least 2 dims (T, B, *), "
                         f"got shape {tuple(input.shape)}")
    lens = _host_ints(lengths, "pack_padded_sequence: lengths")
    x = input.transpose(0, 1) if batch_first else input
    T, B = x.shape[0], x.shape[1]
    if lens.size != B:
        raise ValueError(f"pack_padded_sequence: got {lens.size} lengths for a batch of {B} "
                         f"(input shape {tuple(input.shape)}, batch_first={batch_first})")
    if B and lens.min() <= 0:
        raise ValueError(f"pack_padded_sequence: length of all samples has to be greater than 0, "
                         f"got lengths {lens.tolist()}")
    if B and lens.max() > T:
        raise ValueError(f"pack_padded_sequence: a length {int(lens.max())} exceeds the "
                         f"sequence length {T} of the input of shape {tuple(input.shape)}")
    sorted_indices = None
    if enforce_sorted:
        if np.any(lens[:-1] < lens[1:]):
            raise ValueError("pack_padded_sequence: `lengths` array must be sorted in decreasing "
                             f"order when `enforce_sorted` is True, got {lens.tolist()}; pass "
                             "enforce_sorted=False to pack an unsorted batch")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = tensor(order, dtype=int64, device=input.device)
        x = x.index_select(1, sorted_indices)
    steps = int(lens.max()) if B else 0
    batch_sizes = np.array([(lens > t).sum() for t in range(steps)], dtype=np.int64)
    rows = np.concatenate([t * B + np.arange(n) for t, n in enumerate(batch_sizes)]
                          ) if steps else np.zeros(0, np.int64)
    flat = x.reshape((T * B,) + tuple(x.shape[2:]))
    data = flat.index_select(0, tensor(rows.astype(np.int64), dtype=int64, device=input.device))
    return PackedSequence(data, tensor(batch_sizes, dtype=int64), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: Optional[int] = None) -> tuple[Tensor, Tensor]:
    """Inverse of pack_padded_sequence: returns (padded (T, B, *), lengths) with entries past
    each length equal to padding_value, in the batch's original order; total_length pads T
    further (it must be at least the longest length)."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    data, bs_t, _, unsorted = sequence
    bs = _host_ints(bs_t, "batch_sizes")
    T = bs.size
    B = int(bs[0]) if T else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: expected total_length to be at least the "
                             f"length of the longest sequence ({T}), got {total_length}")
        T_out = int(total_length)
    else:
        T_out = T
    R = int(bs.sum())
    idx = np.full(T_out * B, R, dtype=np.int64)          # row R is the padding row
    off = 0
    for t, n in enumerate(bs):
        idx[t * B:t * B + n] = off + np.arange(n)
        off += n
    feat = tuple(data.shape[1:])
    pad = full((1,) + feat, padding_value, dtype=data.dtype, device=data.device)
    ext = views.cat([data, pad], 0)
    out = ext.index_select(0, tensor(idx, dtype=int64, device=data.device)).reshape(
        (T_out, B) + feat)
    lengths = np.array([(bs > b).sum() for b in range(B)], dtype=np.int64)
    if unsorted is not None:
        out = out.index_select(1, unsorted)
        lengths = lengths[_host_ints(unsorted, "unsorted_indices")]
    if batch_first:
        out = out.transpose(0, 1)
    return out, tensor(lengths, dtype=int64)


def pad_sequence(sequences: Union[Tensor, Sequence[Tensor]], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stacks tensors of shape (L_i, *) into (L_max, B, *) ((B, L_max, *) with batch_first),
    filling with padding_value on padding_side ('right' or 'left')."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0)) if hasattr(sequences, "unbind") else [
            sequences[i] for i in range(sequences.shape[0])]
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if not isinstance(s, Tensor) or s.ndim < 1 or tuple(s.shape[1:]) != trailing:
            raise ValueError("pad_sequence: every sequence must be a tensor of shape (L, *) with "
                             f"the same trailing dims {trailing}, got "
                             f"{tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__}")
    L = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        k = L - s.shape[0]
        if k:
            pad = full((k,) + trailing, padding_value, dtype=s.dtype, device=s.device)
            s = views.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        padded.append(s)
    return views.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of tensors (L_i, *); = pack_padded_sequence(pad_sequence(seqs), lengths)."""
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: _Ints, batch_first: bool = False) -> list[Tensor]:
    """The list of sequences (L_i, *) of a padded batch."""
    x = padded_sequences.transpose(0, 1) if not batch_first else padded_sequences
    lens = _host_ints(lengths, "lengths")
    return [x[b, :int(n)] for b, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences (L_i, *) of a PackedSequence, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

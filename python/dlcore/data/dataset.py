"""Datasets: the map-style protocol, tensors held in memory, subsets, random splits, k folds.

A dataset is anything with ``__len__`` and ``__getitem__(i)`` for ``0 <= i < len``. The
DataLoader asks for samples one at a time for a generic dataset, but for a ``TensorDataset``
(or a ``Subset`` of one) it gathers a whole batch with one NumPy fancy-index per tensor, so
this module also exposes the pieces it needs for that: the tensors' NumPy views and the
composition of subset indices.

Randomness: every shuffle here is a permutation keyed by dlcore's global generator state (the
one ``dlcore.manual_seed`` seeds, which it then advances) or, when a ``seed`` is given, by a
private ``(seed, offset)`` pair that leaves the global generator untouched.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional, Sequence

import math
import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor, from_numpy


def permutation(n: int, seed: Optional[int] = None, offset: int = 0) -> np.ndarray:
    """A random permutation of 0..n-1 as an int64 NumPy array.

    seed None: keyed by the global generator's (seed, offset), which then advances by n, as
    dlcore.randperm(n) would advance it — so dlcore.manual_seed(s) makes every later shuffle
    repeatable. seed given: keyed by (seed, offset); the same pair always gives the same
    permutation and the global generator is not touched.

    Why not argsort of n uniform keys (what randperm does)? Sorting random doubles is branchy:
    ~110 us for n = 1797 against ~30 us for NumPy's Fisher-Yates shuffle, and an epoch's
    shuffle is paid once per epoch by every loader, so it shows up in the per-batch overhead.
    The (seed, offset) pair goes through NumPy's SeedSequence hash, so neighbouring offsets
    (epoch e and e + 1) give unrelated permutations.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"permutation: n must be >= 0, got {n}")
    if seed is None:
        s, o = _random._next(n)
    else:
        s, o = int(seed), int(offset)
    mask = (1 << 64) - 1
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence([s & mask, o & mask])))
    return g.permutation(n).astype(np.int64, copy=False)


def _as_seed(seed, generator, op):
    if generator is not None:
        if seed is not None:
            raise ValueError(f"{op}: give seed or generator, not both")
        seed = generator
    if seed is not None and not isinstance(seed, numbers.Integral):
        raise TypeError(f"{op}: seed must be an int or None, got {type(seed).__name__}")
    return seed


class Dataset:
    """Map-style dataset: subclasses implement ``__len__`` and ``__getitem__(index)``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _check_index(i, n, op):
    if not isinstance(i, (numbers.Integral, np.integer)):
        raise TypeError(f"{op}: index must be an int, got {type(i).__name__}")
    i = int(i)
    if i < -n or i >= n:
        raise IndexError(f"{op}: index {i} out of range for a dataset of length {n}")
    return i % n


class TensorDataset(Dataset):
    """Samples are the rows of some tensors (or arrays) that share their first dimension.

    ``ds[i]`` is the tuple ``(t0[i], t1[i], ...)``. NumPy arrays are turned into tensors (zero
    copy for float32/float64/int64/bool; other ints become int64, float16 float32).
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        ts = []
        for k, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = _array_to_tensor(t)
            elif not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {k} must be a Tensor or numpy array, "
                                f"got {type(t).__name__}")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {k} is 0-dimensional; every tensor needs "
                                 f"a first (sample) dimension")
            ts.append(t.detach() if t.requires_grad else t)
        n = ts[0].shape[0]
        for k, t in enumerate(ts):
            if t.shape[0] != n:
                shapes = ", ".join(str(tuple(u.shape)) for u in ts)
                raise ValueError(f"TensorDataset: all tensors must have the same first dimension; "
                                 f"got shapes {shapes} (argument {k} has {t.shape[0]}, expected {n})")
        self.tensors = tuple(ts)
        self._n = int(n)
        self._arrays = None

    def __len__(self):
        return self._n

    def __getitem__(self, index):
        i = _check_index(index, self._n, "TensorDataset")
        return tuple(t[i] for t in self.tensors)

    def arrays(self) -> Optional[tuple[np.ndarray, ...]]:
        """The tensors as NumPy views (zero copy) when all live on the CPU, else None."""
        if self._arrays is None:
            if any(t.is_cuda for t in self.tensors):
                return None
            self._arrays = tuple(np.asarray(t.numpy()) for t in self.tensors)
        return self._arrays


class Subset(Dataset):
    """The samples ``dataset[indices[0]], dataset[indices[1]], ...``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        idx = np.asarray(indices.numpy() if isinstance(indices, Tensor) else indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"Subset: indices must be a 1-D sequence of ints, got dtype {idx.dtype} "
                            f"and shape {idx.shape}")
        n = len(dataset)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = int(idx[(idx < 0) | (idx >= n)][0])
            raise IndexError(f"Subset: index {bad} out of range for a dataset of length {n}")
        self.dataset = dataset
        self.indices = idx.astype(np.int64)

    def __len__(self):
        return int(self.indices.size)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_index(index, self.indices.size, "Subset")])]


def flatten_subsets(dataset: Dataset) -> tuple[Dataset, Any]:
    """(base dataset, index array or None): folds nested Subsets into one index array."""
    idx = None
    while isinstance(dataset, Subset):
        idx = dataset.indices if idx is None else dataset.indices[idx]
        dataset = dataset.dataset
    return dataset, idx


class ConcatDataset(Dataset):
    """The samples of several datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        i = _check_index(index, len(self), "ConcatDataset")
        k = int(np.searchsorted(self.cumulative_sizes, i, side="right"))
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][i - start]


def _array_to_tensor(a: np.ndarray) -> Tensor:
    """NumPy array -> CPU tensor: zero copy for the dtypes dlcore has, else one conversion."""
    if a.dtype in (np.float32, np.float64, np.int64, np.bool_):
        return from_numpy(np.ascontiguousarray(a))
    if np.issubdtype(a.dtype, np.integer):
        return from_numpy(a.astype(np.int64))
    if np.issubdtype(a.dtype, np.floating):
        return from_numpy(a.astype(np.float32))
    raise TypeError(f"can't make a tensor from a numpy array of dtype {a.dtype}")


def _split_lengths(n, lengths, op):
    lengths = list(lengths)
    if not lengths:
        raise ValueError(f"{op}: lengths is empty")
    if all(isinstance(x, (numbers.Integral, np.integer)) for x in lengths):
        out = [int(x) for x in lengths]
        if any(x < 0 for x in out):
            raise ValueError(f"{op}: lengths must be >= 0, got {out}")
        if sum(out) != n:
            raise ValueError(f"{op}: lengths {out} sum to {sum(out)}, but the dataset has {n} samples")
        return out
    fr = [float(x) for x in lengths]
    if any(not (0.0 <= f <= 1.0) for f in fr) or not math.isclose(sum(fr), 1.0, abs_tol=1e-6):
        raise ValueError(f"{op}: fractions must lie in [0, 1] and sum to 1, got {lengths}")
    out = [int(math.floor(n * f)) for f in fr]
    for k in range(n - sum(out)):           # the remainder goes round-robin, as in PyTorch
        out[k % len(out)] += 1
    return out


def random_split(dataset: Dataset, lengths: Sequence[int] | Sequence[float], seed: Optional[int] = None,
                 generator: Any = None) -> list[Subset]:
    """Splits ``dataset`` into disjoint random Subsets of the given lengths.

    lengths: ints summing to len(dataset), or fractions summing to 1 (floors, the remainder
    handed out one by one from the first split). seed (alias generator=, an int) gives a
    private, repeatable stream; None draws from the global generator (see manual_seed).
    """
    seed = _as_seed(seed, generator, "random_split")
    n = len(dataset)
    sizes = _split_lengths(n, lengths, "random_split")
    perm = permutation(n, seed)
    out, start = [], 0
    for s in sizes:
        out.append(Subset(dataset, perm[start:start + s]))
        start += s
    return out


def kfold_indices(n: int, k: int, shuffle: bool = False,
                  seed: Optional[int] = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(train_idx, val_idx)] * k: each index of 0..n-1 is in exactly one validation fold.

    Fold sizes differ by at most one (the first n % k folds are one larger). With shuffle the
    order is a permutation from ``seed`` (None: the global generator); otherwise folds are
    contiguous blocks, in order. Index arrays are int64 and sorted within each fold.
    """
    n, k = int(n), int(k)
    if k < 2:
        raise ValueError(f"kfold: k must be >= 2, got {k}")
    if n < k:
        raise ValueError(f"kfold: can't make {k} folds from {n} samples")
    order = permutation(n, seed) if shuffle else np.arange(n, dtype=np.int64)
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    folds = []
    for f in range(k):
        val = np.sort(order[bounds[f]:bounds[f + 1]])
        train = np.sort(np.concatenate([order[:bounds[f]], order[bounds[f + 1]:]]))
        folds.append((train, val))
    return folds


class KFold:
    """k-fold cross-validation splitter (like scikit-learn's).

        for train_idx, val_idx in KFold(5, shuffle=True, seed=0).split(dataset):
            train, val = Subset(dataset, train_idx), Subset(dataset, val_idx)
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed: Optional[int] = None) -> None:
        if int(n_splits) < 2:
            raise ValueError(f"KFold: n_splits must be >= 2, got {n_splits}")
        if not shuffle and seed is not None:
            raise ValueError("KFold: seed has no effect without shuffle=True")
        self.n_splits, self.shuffle, self.seed = int(n_splits), bool(shuffle), seed

    def get_n_splits(self) -> int:
        return self.n_splits

    def split(self, data: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """data: an int n, a dataset, a tensor or an array (its length is used)."""
        n = int(data) if isinstance(data, (numbers.Integral, np.integer)) else len(data)
        yield from kfold_indices(n, self.n_splits, self.shuffle, self.seed)

    def subsets(self, dataset: Dataset) -> Iterator[tuple[Subset, Subset]]:
        """Yields (train Subset, val Subset) pairs."""
        for tr, va in self.split(dataset):
            yield Subset(dataset, tr), Subset(dataset, va)

"""DataLoader: batches of samples, in order or reshuffled every epoch.

Two paths:
  * fast path — a TensorDataset (or Subsets of one) on the CPU: a batch is one NumPy
    gather per tensor (``array.take(idx, axis=0)``: one C loop copying whole rows into a fresh
    contiguous array; several times cheaper than ``array[idx]`` on N-D arrays)
    wrapped zero-copy with ``from_numpy``. No per-sample Python work, so the loader costs a
    few microseconds per batch and never becomes the floor of a training loop's throughput.
  * generic path — any map-style dataset: ``dataset[i]`` per sample, then ``collate_fn``
    (``default_collate`` stacks tensors / arrays / numbers, recursing into tuples and dicts).

Shuffling: epoch e draws its own permutation. With ``seed=None`` it comes from the global
generator (so ``dlcore.manual_seed(s)`` before training fixes every epoch's order); with a
``seed`` it is keyed by (seed, e): different every epoch, identical across runs, and
independent of any other use of the global generator.
"""
from __future__ import annotations

import collections.abc
import numbers
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..tensor import Tensor, from_numpy
from .dataset import Dataset, TensorDataset, flatten_subsets, permutation
from .sampler import Sampler
from .workers import MultiProcessIter, epoch_seed


def _np_to_tensor(a: np.ndarray) -> Tensor:
    """A fresh array -> tensor, converting dtypes dlcore lacks (uint8 etc. -> int64, float16 -> float32)."""
    dt = a.dtype
    if dt == np.float32 or dt == np.float64 or dt == np.int64 or dt == np.bool_:
        return from_numpy(a)
    if np.issubdtype(dt, np.integer):
        return from_numpy(a.astype(np.int64))
    if np.issubdtype(dt, np.floating):
        return from_numpy(a.astype(np.float32))
    raise TypeError(f"default_collate: can't batch numpy arrays of dtype {dt}")


def default_collate(batch: Sequence[Any]) -> Any:
    """Stacks a list of samples into a batch along a new first dimension.

    tensors -> stacked tensor (CPU: one np.stack; CUDA: dlcore.stack); numpy arrays / numpy
    scalars -> tensor; Python floats -> float32, ints -> int64, bools -> bool; strings -> list;
    tuples / lists / namedtuples / dicts -> the same structure with each field collated.
    """
    if not batch:
        raise ValueError("default_collate: empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        if elem.is_cuda:
            from ..ops import stack
            return stack([b.detach() for b in batch], 0)
        return from_numpy(np.stack([b.detach().numpy() for b in batch]))
    if isinstance(elem, (np.ndarray, np.generic)):
        return _np_to_tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(elem, bool):
        return from_numpy(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return from_numpy(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return from_numpy(np.array(batch, dtype=np.float32))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {k: default_collate([b[k] for b in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):       # namedtuple
        return type(elem)(*(default_collate(list(f)) for f in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        n = len(elem)
        if any(len(b) != n for b in batch):
            raise ValueError("default_collate: samples in a batch are sequences of different lengths")
        out = [default_collate(list(f)) for f in zip(*batch)]
        return tuple(out) if isinstance(elem, tuple) else out
    raise TypeError(f"default_collate: don't know how to batch samples of type {type(elem).__name__}; "
                    f"pass a collate_fn")


class DataLoader:
    """Iterates over ``dataset`` in batches.

        loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
        for epoch in range(10):
            for xb, yb in loader:        # a fresh order every epoch when shuffle=True
                ...

    batch_size: samples per batch (the last one may be smaller unless drop_last).
    shuffle: draw a new permutation at the start of every epoch (every ``iter(loader)``).
    drop_last: drop the final incomplete batch.
    sampler: an iterable of dataset indices with a length (e.g. DistributedSampler) that
        decides which samples are visited and in which order; excludes shuffle=True.
    collate_fn: list of samples -> batch (default: default_collate). Giving one disables
        the TensorDataset fast path, so the function sees samples as usual.
    seed: fixes the shuffle stream of this loader (epoch-dependent); None uses the global
        generator, seeded by dlcore.manual_seed.
    num_workers: 0 loads batches in the calling process; N > 0 loads them in N worker
        processes (see dlcore.data.workers: seeded, same batch order as num_workers=0, clean
        shutdown). A TensorDataset with the default collate_fn is always gathered in-process:
        one copy per batch is cheaper than sending it between processes.
    worker_init_fn: called as fn(worker_id) in each worker after seeding.
    prefetch_factor: batches in flight per worker (default 2 when num_workers > 0).
    timeout: seconds to wait for a batch from the workers before raising (0: forever).
    pin_memory: accepted for PyTorch compatibility; batches are ordinary host tensors and
        ``.to("cuda")`` copies them.
    """

    epoch: int     # set in __init__; declared here as mypy stops reading it at the numbers.Integral check

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn: Optional[Callable[[list[Any]], Any]] = None, seed: Optional[int] = None,
                 num_workers: int = 0, worker_init_fn: Optional[Callable[[int], Any]] = None,
                 prefetch_factor: Optional[int] = None, timeout: float = 0, pin_memory: bool = False,
                 sampler: Sampler | Sequence[int] | None = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (numbers.Integral, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if seed is not None and not isinstance(seed, (numbers.Integral, np.integer)):
            raise TypeError(f"DataLoader: seed must be an int or None, got {type(seed).__name__}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (numbers.Integral, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        if prefetch_factor is not None and (num_workers == 0 or int(prefetch_factor) < 1):
            raise ValueError("DataLoader: prefetch_factor needs num_workers > 0 and must be >= 1, "
                             f"got prefetch_factor={prefetch_factor!r}, num_workers={num_workers}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle "
                             "(the sampler decides the order; e.g. DistributedSampler(shuffle=True))")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout must be >= 0, got {timeout!r}")
        self.num_workers = int(num_workers)
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = int(prefetch_factor) if prefetch_factor is not None else 2
        self.timeout = float(timeout)
        self.pin_memory = bool(pin_memory)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.seed = seed
        self.sampler = sampler
        self.epoch = 0          # number of epochs started; keys the shuffle when seed is given
        base, idx = flatten_subsets(dataset)
        self._fast = collate_fn is None and isinstance(base, TensorDataset)
        self._base, self._base_idx = base, idx

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch counter (the next iteration shuffles as epoch ``epoch``)."""
        self.epoch = int(epoch)

    def _order(self):
        if self.sampler is not None:
            self.epoch += 1
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
            return len(order), order
        n = len(self.dataset)
        if self.shuffle:
            order = permutation(n, self.seed, self.epoch)
        else:
            order = None
        self.epoch += 1
        return n, order

    def __iter__(self):
        n, order = self._order()
        bs = self.batch_size
        stop = (n // bs) * bs if self.drop_last else n
        if self._fast:
            arrays = self._base.arrays()
            if arrays is not None:
                return self._iter_arrays(arrays, n, order, bs, stop)
            return self._iter_device_tensors(n, order, bs, stop)
        if self.num_workers > 0:
            return self._iter_workers(n, order, bs, stop)
        return self._iter_generic(n, order, bs, stop)

    def _iter_workers(self, n, order, bs, stop):
        ids = np.arange(n) if order is None else np.asarray(order)
        batches = [ids[s:min(s + bs, stop)].tolist() for s in range(0, stop, bs)]
        return MultiProcessIter(self.dataset, self.collate_fn, batches, self.num_workers,
                                self.prefetch_factor, epoch_seed(self.seed, self.epoch - 1),
                                self.worker_init_fn, self.timeout)

    def _iter_arrays(self, arrays, n, order, bs, stop):
        # Indices into the base arrays: subset indices composed with the epoch's order, once
        # per epoch (one gather of n ints), so each batch is a single gather per tensor.
        idx = self._base_idx
        if order is not None:
            idx = order if idx is None else idx[order]
        if idx is None:
            # In order over the whole dataset: a slice, copied so that a batch never aliases
            # the dataset (in-place ops on a batch must not edit the data).
            for s in range(0, stop, bs):
                yield tuple([from_numpy(a[s:s + bs].copy()) for a in arrays])
        else:
            for s in range(0, stop, bs):
                j = idx[s:s + bs]
                yield tuple([from_numpy(a.take(j, axis=0)) for a in arrays])

    def _iter_device_tensors(self, n, order, bs, stop):
        # Tensors on a GPU: gather with an int64 index tensor on the same device.
        idx = self._base_idx
        if order is not None:
            idx = order if idx is None else idx[order]
        if idx is None:
            idx = np.arange(n, dtype=np.int64)
        tensors = self._base.tensors
        for s in range(0, stop, bs):
            j = from_numpy(np.ascontiguousarray(idx[s:s + bs]))
            yield tuple([t[j.to(t.device)] for t in tensors])

    def _iter_generic(self, n, order, bs, stop):
        ds, collate = self.dataset, self.collate_fn
        for s in range(0, stop, bs):
            ids = range(s, min(s + bs, stop)) if order is None else order[s:s + bs].tolist()
            yield collate([ds[i] for i in ids])

"""Samplers: which dataset indices a DataLoader visits, in which order (``DataLoader(sampler=)``)."""
from __future__ import annotations

import math
import numbers
from typing import Optional

import numpy as np

from .dataset import Dataset, permutation


class Sampler:
    """Base class: an iterable of dataset indices with a length."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class DistributedSampler(Sampler):
    """Each rank's share of a dataset for data-parallel training, as torch's DistributedSampler.

        sampler = DistributedSampler(train_set)                  # rank and size from dlcore.distributed
        loader = DataLoader(train_set, batch_size=32, sampler=sampler)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)                              # a new shuffle every epoch
            for xb, yb in loader: ...

    Every rank draws the same permutation of all indices (keyed by ``seed`` and the epoch, so
    every rank must use the same seed) and takes every num_replicas-th entry starting at its
    rank, so in each epoch every sample goes to exactly one rank. Ranks must see the same
    number of samples (they step together): with drop_last=False the list is padded by
    repeating its first indices up to a multiple of num_replicas; with drop_last=True its tail
    is dropped down to one. shuffle=False keeps the dataset order.
    """

    def __init__(self, dataset: Dataset, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: give num_replicas and rank, or call "
                                   "dlcore.distributed.init_process_group() first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        for name, v in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
                raise TypeError(f"DistributedSampler: {name} must be an int, got {type(v).__name__}")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """The shuffle of epoch ``epoch`` (call it before each epoch, on every rank)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch (an int64 array of num_samples)."""
        n = len(self.dataset)
        order = permutation(n, self.seed, self.epoch) if self.shuffle else np.arange(n, dtype=np.int64)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:
            order = np.resize(order, self.total_size) if n else order   # repeats from the start
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples

"""Worker processes for DataLoader(num_workers=N).

Each worker is a process that runs ``collate_fn([dataset[i] for i in batch_indices])`` for the
batches the main process hands it and sends the batch back (tensors travel as their bytes,
pickled through a multiprocessing queue). The main process keeps up to
``prefetch_factor * num_workers`` batches in flight, hands batch k to worker k mod N and yields
batches strictly in order, so the sequence of batches is the same as with num_workers=0.

Seeding: every epoch draws a base seed (from the loader's seed and the epoch when it has one,
else from dlcore's global generator); worker w seeds dlcore, NumPy's legacy global generator
and Python's ``random`` with base_seed + w, so random transforms are reproducible and differ
between workers. ``get_worker_info()`` tells a dataset inside a worker who it is.

Shutdown: when the iterator is exhausted, deleted (``break`` out of the loop), or the main
process gets an exception (KeyboardInterrupt included), the workers are told to stop and then
terminated if they do not. An exception inside a worker is re-raised in the main process as a
RuntimeError carrying the worker's traceback; a worker that dies (killed, segfault) raises a
RuntimeError naming its exit code instead of hanging.

Workers are forked where the platform allows (Linux): no re-import, and the dataset is shared
copy-on-write. Each worker runs its kernels on one thread, so N workers do not oversubscribe
the cores the training loop uses.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import collections
import multiprocessing as mp
import queue
import random as _pyrandom
import traceback

import numpy as np

WorkerInfo = collections.namedtuple("WorkerInfo", "id num_workers seed dataset")
_worker_info = None
_POLL_S = 0.1


def get_worker_info() -> Optional[WorkerInfo]:
    """In a DataLoader worker: WorkerInfo(id, num_workers, seed, dataset); in the main process: None."""
    return _worker_info


def _worker_loop(dataset, collate_fn, task_q, result_q, worker_id, num_workers, seed, init_fn):
    global _worker_info
    import dlcore
    dlcore.set_num_threads(1)
    dlcore.manual_seed(seed)
    np.random.seed(seed % (1 << 32))
    _pyrandom.seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception:
        result_q.put((-1, None, f"worker_init_fn raised in DataLoader worker {worker_id}:\n"
                                f"{traceback.format_exc()}"))
        return
    while True:
        try:
            task = task_q.get()
        except KeyboardInterrupt:         # Ctrl-C reaches the whole process group; the main
            continue                      # process decides, and tells us to stop
        if task is None:
            return
        k, ids = task
        try:
            result_q.put((k, collate_fn([dataset[i] for i in ids]), None))
        except Exception:
            result_q.put((k, None, f"DataLoader worker {worker_id} raised on batch {k}:\n"
                                   f"{traceback.format_exc()}"))


def _context():
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


class MultiProcessIter:
    """Iterator over the batches of one epoch, computed by worker processes."""

    def __init__(self, dataset: Any, collate_fn: Callable[[list[Any]], Any], batches: Sequence[list[int]],
                 num_workers: int, prefetch_factor: int, base_seed: int,
                 worker_init_fn: Optional[Callable[[int], None]], timeout: float) -> None:
        self._batches = batches                 # list of index lists, in yield order
        self._timeout = timeout
        ctx = _context()
        # The main process never waits at exit for a queue's feeder thread to flush (the
        # default): a Ctrl-C between two statements can leave a queue unclosed, and exit would
        # then join a feeder that waits for data forever. Tasks not yet sent are dropped anyway.
        self._result_q = ctx.Queue()
        self._result_q.cancel_join_thread()
        self._task_qs = []
        self._workers = []
        for w in range(num_workers):
            tq = ctx.Queue()
            tq.cancel_join_thread()
            p = ctx.Process(target=_worker_loop, daemon=True,
                            args=(dataset, collate_fn, tq, self._result_q, w, num_workers,
                                  base_seed + w, worker_init_fn))
            p.start()
            self._task_qs.append(tq)
            self._workers.append(p)
        self._sent = 0
        self._next = 0
        self._ready = {}
        self._closed = False
        for _ in range(min(len(batches), prefetch_factor * num_workers)):
            self._send()

    def _send(self):
        k = self._sent
        self._task_qs[k % len(self._task_qs)].put((k, self._batches[k]))
        self._sent += 1

    def __iter__(self):
        return self

    def __next__(self):
        if self._next >= len(self._batches):
            self.close()
            raise StopIteration
        try:                # an exception anywhere here (Ctrl-C included) stops the workers
            batch = self._receive(self._next)
            self._next += 1
            if self._sent < len(self._batches):
                self._send()
        except BaseException:
            self.close()
            raise
        return batch

    def _receive(self, k):
        waited = 0.0
        while k not in self._ready:
            try:
                j, batch, err = self._result_q.get(timeout=_POLL_S)
            except queue.Empty:
                waited += _POLL_S
                dead = [(w, p.exitcode) for w, p in enumerate(self._workers) if not p.is_alive()]
                if dead:
                    w, code = dead[0]
                    raise RuntimeError(f"DataLoader worker {w} (pid {self._workers[w].pid}) exited "
                                       f"unexpectedly with exit code {code}")
                if self._timeout and waited >= self._timeout:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} s waiting for batch {k}")
                continue
            if err is not None:
                raise RuntimeError(err)
            self._ready[j] = batch
        return self._ready.pop(k)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for tq in self._task_qs:
            try:
                tq.put(None)
            except Exception:
                pass
        for p in self._workers:
            p.join(timeout=1.0)
            if p.is_alive():
                p.terminate()
                p.join(timeout=1.0)
        for q in self._task_qs + [self._result_q]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def epoch_seed(seed: Optional[int], epoch: int) -> int:
    """The base seed of an epoch's workers: keyed by (seed, epoch), or drawn from dlcore's generator."""
    if seed is not None:
        return int(np.random.SeedSequence([int(seed), int(epoch), 0x5EED]).generate_state(1, np.uint64)[0] >> 2)
    import dlcore
    return int(dlcore.randint(0, 1 << 62, (1,)).item())


"""Collectives on tensors, in place, as torch.distributed names them.

CPU tensors: MPI non-blocking collectives (Iallreduce, Ibcast, ...) on NumPy views of the
tensor's own memory, so all_reduce and broadcast copy nothing; the request is then completed by
polling with a deadline (``Work.wait``), which is what turns a dead partner into an error
instead of a hang. all_gather and reduce_scatter take a list of tensors, which MPI cannot
address as one buffer: one contiguous staging array carries them (one copy each way).

CUDA tensors: NCCL on dlcore's current stream (``nccl.py``); the call returns once the work is
enqueued, ordered before every later kernel on that stream, as torch's NCCL backend does.

Reductions: SUM, AVG (floating types only: SUM, then a division in place), PRODUCT, MAX, MIN.
bool tensors reduce logically (SUM and MAX: or; PRODUCT and MIN: and).
"""
from __future__ import annotations

import enum
import time

import numpy as np

from .. import _C
from ..tensor import Tensor
from ._state import require_group

__all__ = ["ReduceOp", "Work", "DistTimeoutError", "all_reduce", "broadcast", "all_gather",
           "reduce_scatter", "barrier"]


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


class DistTimeoutError(RuntimeError):
    """A collective did not complete within the process group's timeout."""
    __module__ = "dlcore.distributed"


def _as_op(op, name):
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str) and op.upper() in ReduceOp.__members__:
        return ReduceOp[op.upper()]
    raise ValueError(f"{name}: op must be a dlcore.distributed.ReduceOp (SUM, AVG, PRODUCT, MAX, MIN), got {op!r}")


def _mpi_op(MPI, op, dtype, name):
    if dtype.name == "bool":
        if op is ReduceOp.AVG:
            raise TypeError(f"{name}: ReduceOp.AVG needs a floating-point tensor, got bool")
        return MPI.LOR if op in (ReduceOp.SUM, ReduceOp.MAX) else MPI.LAND
    if op is ReduceOp.AVG and not dtype.is_floating_point:
        raise TypeError(f"{name}: ReduceOp.AVG needs a floating-point tensor, got {dtype.name}")
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}[op]


def _check(t, name, what="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a dlcore.Tensor, got {type(t).__name__}")
    if not t.is_contiguous():
        raise ValueError(f"{name}: {what} must be contiguous (shape {tuple(t.shape)}, strides {t.stride()}); "
                         "call .contiguous() and communicate that tensor")


def _view(t):
    """A NumPy array on the tensor's own memory (writes land in the tensor)."""
    return _C.to_numpy(t._impl)


class Work:
    """A collective in flight (``async_op=True``), as torch's Work: ``wait()`` completes it,
    ``is_completed()`` polls. For CPU tensors the result is in place only after wait(); for
    CUDA tensors the work is already ordered on the current stream and wait() returns at once."""

    def __init__(self, name, group, request=None, finish=None, keep=()):
        self._name = name
        self._group = group
        self._request = request
        self._finish = finish
        self._keep = keep            # buffers MPI reads or writes until the request completes
        self._done = request is None
        if self._done and finish is not None:
            finish()

    def _complete(self):
        self._done = True
        self._request = None
        self._keep = ()
        if self._finish is not None:
            self._finish()

    def is_completed(self) -> bool:
        """Polls once (which also lets MPI progress the transfer)."""
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        """Blocks until done; raises DistTimeoutError after ``timeout`` seconds (default: the
        process group's timeout)."""
        if self._done:
            return True
        limit = self._group.timeout if timeout is None else float(timeout)
        start = time.monotonic()
        pause = 0.0
        # Spin for the first millisecond (short collectives finish here), then sleep in growing
        # steps up to 1 ms, so a long wait does not steal a core from a rank that computes.
        while not self._request.Test():
            waited = time.monotonic() - start
            if waited > limit:
                g = self._group
                raise DistTimeoutError(
                    f"dlcore.distributed.{self._name}: rank {g.rank} of {g.size} waited {waited:.1f} s "
                    f"(timeout {limit:g} s) for the other ranks; one of them probably failed or is stuck "
                    f"outside this collective (see its error output). Raise the limit with "
                    f"init_process_group(timeout=...) if the collective is legitimately slow.")
            if waited > 1e-3:
                pause = min(1e-3, pause * 2 if pause else 2e-5)
                time.sleep(pause)
        self._complete()
        return True


def _finish(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces ``tensor`` over all ranks, in place on every rank."""
    name = "all_reduce"
    g = require_group(name)
    _check(tensor, name)
    op = _as_op(op, name)
    if tensor.is_cuda:
        g.nccl(tensor.device.index).all_reduce(tensor, op, name)
        return _finish(Work(name, g), async_op)
    from mpi4py import MPI
    mop = _mpi_op(MPI, op, tensor.dtype, name)
    buf = _view(tensor)
    request = g.comm.Iallreduce(MPI.IN_PLACE, buf, mop)
    finish = None
    if op is ReduceOp.AVG:
        def finish(buf=buf, p=g.size):
            np.divide(buf, p, out=buf)
    return _finish(Work(name, g, request, finish, keep=(buf,)), async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copies ``tensor`` of rank ``src`` into ``tensor`` of every other rank."""
    name = "broadcast"
    g = require_group(name)
    _check(tensor, name)
    src = _check_rank(src, g, name, "src")
    if tensor.is_cuda:
        g.nccl(tensor.device.index).broadcast(tensor, src)
        return _finish(Work(name, g), async_op)
    buf = _view(tensor)
    return _finish(Work(name, g, g.comm.Ibcast(buf, root=src), keep=(buf,)), async_op)


def _check_rank(r, g, name, what):
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= int(r) < g.size:
        raise ValueError(f"{name}: {what} must be a rank in [0, {g.size}), got {r!r}")
    return int(r)


def _check_list(tensors, like, g, name, what):
    if not isinstance(tensors, (list, tuple)) or len(tensors) != g.size:
        n = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{name}: {what} must be a list of world_size={g.size} tensors, got {n}")
    for i, t in enumerate(tensors):
        _check(t, name, f"{what}[{i}]")
        if tuple(t.shape) != tuple(like.shape) or t.dtype is not like.dtype or t.device != like.device:
            raise ValueError(f"{name}: {what}[{i}] is {tuple(t.shape)} {t.dtype.name} on {t.device}; expected "
                             f"{tuple(like.shape)} {like.dtype.name} on {like.device} like the other tensor")


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[r]`` receives ``tensor`` of rank r, on every rank."""
    name = "all_gather"
    g = require_group(name)
    _check(tensor, name)
    _check_list(tensor_list, tensor, g, name, "tensor_list")
    if tensor.is_cuda:
        g.nccl(tensor.device.index).all_gather(tensor_list, tensor)
        return _finish(Work(name, g), async_op)
    send = _view(tensor)
    recv = np.empty((g.size,) + send.shape, dtype=send.dtype)

    def finish():
        for r, t in enumerate(tensor_list):
            _view(t)[...] = recv[r]
    return _finish(Work(name, g, g.comm.Iallgather(send, recv), finish, keep=(send, recv)), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """``output`` of rank r receives the reduction over ranks of ``input_list[r]``."""
    name = "reduce_scatter"
    g = require_group(name)
    _check(output, name, "output")
    _check_list(input_list, output, g, name, "input_list")
    op = _as_op(op, name)
    if output.is_cuda:
        g.nccl(output.device.index).reduce_scatter(output, input_list, op, name)
        return _finish(Work(name, g), async_op)
    from mpi4py import MPI
    mop = _mpi_op(MPI, op, output.dtype, name)
    recv = _view(output)
    send = np.stack([_view(t) for t in input_list]) if g.size else recv
    finish = None
    if op is ReduceOp.AVG:
        def finish(p=g.size):
            np.divide(recv, p, out=recv)
    request = g.comm.Ireduce_scatter_block(send, recv, mop)
    return _finish(Work(name, g, request, finish, keep=(send, recv)), async_op)


def barrier(group=None, async_op=False):
    """Returns on each rank once every rank has entered the barrier."""
    g = require_group("barrier")
    return _finish(Work("barrier", g, g.comm.Ibarrier()), async_op)

"""Collectives on tensors, in place, as torch.distributed names them.

CPU tensors: MPI collectives on NumPy views of the tensor's own memory, so all_reduce and
broadcast copy nothing. Small blocking calls use MPI's non-blocking form from the calling
thread, polled to completion; large ones and every ``async_op=True`` call run the blocking MPI
call on a communication thread (as torch's MPI backend does), which overlaps with the caller's
work. Either way the caller waits with a deadline (``Work.wait``), which is what turns a dead
partner into an error instead of a hang. all_gather and reduce_scatter take a list of tensors,
which MPI cannot address as one buffer: one contiguous staging array carries them (one copy
each way).

CUDA tensors: NCCL on dlcore's current stream (``nccl.py``); the call returns once the work is
enqueued, ordered before every later kernel on that stream, as torch's NCCL backend does.

Reductions: SUM, AVG (floating types only: SUM, then a division in place), PRODUCT, MAX, MIN.
bool tensors reduce logically (SUM and MAX: or; PRODUCT and MIN: and).
"""
from __future__ import annotations

import enum
import queue
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Sequence, Union, overload

import numpy as np

from .. import _C
from ..tensor import Tensor
from ._state import require_group

if TYPE_CHECKING:
    from ._state import Group

__all__ = ["ReduceOp", "Work", "DistTimeoutError", "all_reduce", "broadcast", "all_gather",
           "reduce_scatter", "barrier"]


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


# An op is a ReduceOp or its name ("sum", "AVG"...).
_Op = Union[ReduceOp, str]


class DistTimeoutError(RuntimeError):
    """A collective did not complete within the process group's timeout."""
    __module__ = "dlcore.distributed"


def _as_op(op: _Op, name: str) -> ReduceOp:
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str) and op.upper() in ReduceOp.__members__:
        return ReduceOp[op.upper()]
    raise ValueError(f"{name}: op must be a dlcore.distributed.ReduceOp (SUM, AVG, PRODUCT, MAX, MIN), got {op!r}")


_MPI_OPS: dict[tuple[ReduceOp, str], Any] = {}      # (ReduceOp, dtype kind) -> MPI.Op, filled on first use


def _mpi_op(op, dtype, name):
    kind = "bool" if dtype.name == "bool" else "float" if dtype.is_floating_point else "int"
    mop = _MPI_OPS.get((op, kind))
    if mop is None:
        if op is ReduceOp.AVG and kind != "float":
            raise TypeError(f"{name}: ReduceOp.AVG needs a floating-point tensor, got {dtype.name}")
        MPI = _mpi()
        if kind == "bool":
            mop = MPI.LOR if op in (ReduceOp.SUM, ReduceOp.MAX) else MPI.LAND
        else:
            mop = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                   ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}[op]
        _MPI_OPS[(op, kind)] = mop
    return mop


_MPI = None


def _mpi():
    global _MPI
    if _MPI is None:
        from mpi4py import MPI      # imported (and MPI initialised) by init_process_group already
        _MPI = MPI
    return _MPI


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

    def __init__(self, name: str, group: Group, request: Any = None, finish: Optional[Callable[[], Any]] = None,
                 keep: tuple[Any, ...] = (), threaded: bool = False) -> None:
        self._name = name
        self._group = group
        self._request = request                       # MPI request (direct path)
        self._event = threading.Event() if threaded else None   # set by the communication thread
        self._error = None
        self._finish = finish
        self._keep = keep            # buffers MPI reads or writes until the operation completes
        self._done = request is None and not threaded
        if self._done and finish is not None:
            finish()

    def _complete(self):
        self._done = True
        self._request = None
        self._keep = ()
        if self._error is not None:
            raise RuntimeError(f"dlcore.distributed.{self._name} failed: {self._error}") from self._error
        if self._finish is not None:
            self._finish()

    def is_completed(self) -> bool:
        if not self._done:
            if self._event is not None:
                if self._event.is_set():
                    self._complete()
            elif self._request.Test():              # polling also lets MPI progress the transfer
                self._complete()
        return self._done

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until done; raises DistTimeoutError after ``timeout`` seconds (default: the
        process group's timeout)."""
        if self._done:
            return True
        limit = self._group.timeout if timeout is None else float(timeout)
        if self._event is not None:
            if not self._event.wait(limit):
                raise self._timed_out(limit, limit)
        else:
            start = time.monotonic()
            pause = 0.0
            # Spin for the first millisecond (short collectives finish here), then sleep in
            # growing steps up to 1 ms, so a long wait does not steal a core from a rank that computes.
            while not self._request.Test():
                waited = time.monotonic() - start
                if waited > limit:
                    raise self._timed_out(waited, limit)
                if waited > 1e-3:
                    pause = min(1e-3, pause * 2 if pause else 2e-5)
                    time.sleep(pause)
        self._complete()
        return True

    def _timed_out(self, waited, limit):
        g = self._group
        return DistTimeoutError(
            f"dlcore.distributed.{self._name}: rank {g.rank} of {g.size} waited {waited:.1f} s "
            f"(timeout {limit:g} s) for the other ranks; one of them probably failed or is stuck "
            f"outside this collective (see its error output). Raise the limit with "
            f"init_process_group(timeout=...) if the collective is legitimately slow.")


class _CommThread:
    """Runs blocking MPI collectives one after another, in the order they were submitted.

    The GIL is released inside MPI calls, so the transfer runs while the submitting thread
    computes (DDP's buckets during backward) with MPI's fastest blocking algorithms and no
    polling; the submitter waits on an event, with a deadline. Only one thread calls MPI at a
    time: the direct path of a small blocking collective first waits for this queue to drain.
    """

    def __init__(self):
        self._queue = queue.SimpleQueue()
        self._last = None
        self._thread = threading.Thread(target=self._loop, name="dlcore-distributed", daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            work, fn = item
            try:
                fn()
            except BaseException as e:       # reported by the submitter's wait()
                work._error = e
            work._event.set()

    def submit(self, work, fn):
        self._last = work
        self._queue.put((work, fn))
        time.sleep(0)      # hand over the GIL now, so the transfer starts before our next op
        return work

    def drain(self):
        last, self._last = self._last, None
        if last is not None:
            last.wait()

    def stop(self):
        self._queue.put(None)


# Blocking collectives up to this size use MPI's non-blocking call from the calling thread
# (polled with a deadline; ~2 us for a few bytes on shared memory), larger ones and every
# async_op go through the communication thread (~30 us hand-over, then the blocking algorithm,
# several times faster than the non-blocking one for MB messages in Open MPI). The choice
# depends only on the call (size, async_op), so every rank makes the same one: MPI does not
# match a blocking collective with a non-blocking one.
_DIRECT_BYTES = 64 << 10


def _run(name, g, nbytes, async_op, start, blocking, finish=None, keep=()):
    """Runs one CPU collective: ``start()`` returns the MPI request of its non-blocking form,
    ``blocking()`` performs its blocking form; ``finish()`` completes the result in place."""
    if not g.threaded or (not async_op and nbytes <= _DIRECT_BYTES):
        if g.comm_thread is not None:
            g.comm_thread.drain()
        work = Work(name, g, start(), finish, keep)
    else:
        if g.comm_thread is None:
            g.comm_thread = _CommThread()
        work = Work(name, g, keep=keep, threaded=True)

        def run():
            blocking()
            if finish is not None:
                finish()
        g.comm_thread.submit(work, run)
    if async_op:
        return work
    work.wait()
    return None


def _finish(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


@overload
def all_reduce(tensor: Tensor, op: _Op = ..., group: Any = ..., async_op: Literal[False] = ...) -> None: ...
@overload
def all_reduce(tensor: Tensor, op: _Op = ..., group: Any = ..., *, async_op: Literal[True]) -> Work: ...
@overload
def all_reduce(tensor: Tensor, op: _Op = ..., group: Any = ..., async_op: bool = ...) -> Optional[Work]: ...


def all_reduce(tensor: Tensor, op: _Op = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Optional[Work]:
    """Reduces ``tensor`` over all ranks, in place on every rank."""
    name = "all_reduce"
    g = require_group(name)
    _check(tensor, name)
    op = _as_op(op, name)
    if tensor.is_cuda:
        g.nccl(tensor.device.index).all_reduce(tensor, op, name)  # type: ignore[arg-type]  # cuda: has an index
        return _finish(Work(name, g), async_op)
    mop = _mpi_op(op, tensor.dtype, name)
    buf = _view(tensor)
    finish = None
    if op is ReduceOp.AVG:
        def finish(p=g.size):
            np.divide(buf, p, out=buf)
    in_place = _mpi().IN_PLACE
    return _run(name, g, buf.nbytes, async_op, lambda: g.comm.Iallreduce(in_place, buf, mop),
                lambda: g.comm.Allreduce(in_place, buf, mop), finish, keep=(buf,))


@overload
def broadcast(tensor: Tensor, src: int = ..., group: Any = ..., async_op: Literal[False] = ...) -> None: ...
@overload
def broadcast(tensor: Tensor, src: int = ..., group: Any = ..., *, async_op: Literal[True]) -> Work: ...
@overload
def broadcast(tensor: Tensor, src: int = ..., group: Any = ..., async_op: bool = ...) -> Optional[Work]: ...


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False) -> Optional[Work]:
    """Copies ``tensor`` of rank ``src`` into ``tensor`` of every other rank."""
    name = "broadcast"
    g = require_group(name)
    _check(tensor, name)
    src = _check_rank(src, g, name, "src")
    if tensor.is_cuda:
        g.nccl(tensor.device.index).broadcast(tensor, src)  # type: ignore[arg-type]  # cuda: has an index
        return _finish(Work(name, g), async_op)
    buf = _view(tensor)
    return _run(name, g, buf.nbytes, async_op, lambda: g.comm.Ibcast(buf, root=src),
                lambda: g.comm.Bcast(buf, root=src), keep=(buf,))


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


@overload
def all_gather(tensor_list: Sequence[Tensor], tensor: Tensor, group: Any = ...,
               async_op: Literal[False] = ...) -> None: ...
@overload
def all_gather(tensor_list: Sequence[Tensor], tensor: Tensor, group: Any = ..., *,
               async_op: Literal[True]) -> Work: ...
@overload
def all_gather(tensor_list: Sequence[Tensor], tensor: Tensor, group: Any = ...,
               async_op: bool = ...) -> Optional[Work]: ...


def all_gather(tensor_list: Sequence[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Optional[Work]:
    """``tensor_list[r]`` receives ``tensor`` of rank r, on every rank."""
    name = "all_gather"
    g = require_group(name)
    _check(tensor, name)
    _check_list(tensor_list, tensor, g, name, "tensor_list")
    if tensor.is_cuda:
        g.nccl(tensor.device.index).all_gather(tensor_list, tensor)  # type: ignore[arg-type]  # cuda: has an index
        return _finish(Work(name, g), async_op)
    send = _view(tensor)
    recv = np.empty((g.size,) + send.shape, dtype=send.dtype)

    def finish():
        for r, t in enumerate(tensor_list):
            _view(t)[...] = recv[r]
    return _run(name, g, recv.nbytes, async_op, lambda: g.comm.Iallgather(send, recv),
                lambda: g.comm.Allgather(send, recv), finish, keep=(send, recv))


@overload
def reduce_scatter(output: Tensor, input_list: Sequence[Tensor], op: _Op = ..., group: Any = ...,
                   async_op: Literal[False] = ...) -> None: ...
@overload
def reduce_scatter(output: Tensor, input_list: Sequence[Tensor], op: _Op = ..., group: Any = ..., *,
                   async_op: Literal[True]) -> Work: ...
@overload
def reduce_scatter(output: Tensor, input_list: Sequence[Tensor], op: _Op = ..., group: Any = ...,
                   async_op: bool = ...) -> Optional[Work]: ...


def reduce_scatter(output: Tensor, input_list: Sequence[Tensor], op: _Op = ReduceOp.SUM, group: Any = None,
                   async_op: bool = False) -> Optional[Work]:
    """``output`` of rank r receives the reduction over ranks of ``input_list[r]``."""
    name = "reduce_scatter"
    g = require_group(name)
    _check(output, name, "output")
    _check_list(input_list, output, g, name, "input_list")
    op = _as_op(op, name)
    if output.is_cuda:
        g.nccl(output.device.index).reduce_scatter(output, input_list, op, name)  # type: ignore[arg-type]  # cuda: has an index
        return _finish(Work(name, g), async_op)
    mop = _mpi_op(op, output.dtype, name)
    recv = _view(output)
    send = np.stack([_view(t) for t in input_list]) if g.size else recv
    finish = None
    if op is ReduceOp.AVG:
        def finish(p=g.size):
            np.divide(recv, p, out=recv)
    return _run(name, g, send.nbytes, async_op, lambda: g.comm.Ireduce_scatter_block(send, recv, mop),
                lambda: g.comm.Reduce_scatter_block(send, recv, mop), finish, keep=(send, recv))


@overload
def barrier(group: Any = ..., async_op: Literal[False] = ...) -> None: ...
@overload
def barrier(group: Any = ..., *, async_op: Literal[True]) -> Work: ...
@overload
def barrier(group: Any = ..., async_op: bool = ...) -> Optional[Work]: ...


def barrier(group: Any = None, async_op: bool = False) -> Optional[Work]:
    """Returns on each rank once every rank has entered the barrier."""
    g = require_group("barrier")
    return _run("barrier", g, 0, async_op, g.comm.Ibarrier, g.comm.Barrier)

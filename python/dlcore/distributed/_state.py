"""The default process group of dlcore.distributed (one per process, as in torch)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from .collectives import _CommThread
    from .nccl import Communicator


class Group:
    """The MPI communicator of all ranks, and the NCCL communicator once CUDA tensors were
    communicated (or at init with backend "nccl")."""

    def __init__(self, backend: str, comm: Any, timeout: float, local_rank: int, threaded: bool,
                 single_node: bool = False) -> None:
        self.backend = backend
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout           # seconds a CPU collective may wait
        self.local_rank = local_rank
        self.single_node = single_node   # every rank on this machine (NCCL may bootstrap over loopback)
        self.nccl_comm: Optional[Communicator] = None
        self.threaded = threaded         # MPI may be called from a communication thread
        self.comm_thread: Optional[_CommThread] = None   # started by the first collective that needs it
        self._prev_excepthook: Optional[Callable[..., Any]] = None

    def nccl(self, device_index: int) -> Communicator:
        """The NCCL communicator for CUDA tensors on ``device_index``, created on first use
        (collectively: every rank reaches its first CUDA collective in the same order)."""
        from . import nccl
        if self.nccl_comm is None:
            if self.comm_thread is not None:     # its MPI calls must all precede the id's broadcast
                self.comm_thread.drain()
            self.nccl_comm = nccl.Communicator.from_mpi(self.comm, device_index, self.single_node)
        elif self.nccl_comm.device != device_index:
            raise ValueError(f"dlcore.distributed: this rank communicates on cuda:{self.nccl_comm.device}, "
                             f"got a tensor on cuda:{device_index} (one GPU per rank)")
        return self.nccl_comm


group: Optional[Group] = None


def require_group(op: str) -> Group:
    if group is None:
        raise RuntimeError(f"dlcore.distributed.{op}: the default process group is not initialized; "
                           "call dlcore.distributed.init_process_group() first (under mpirun)")
    return group

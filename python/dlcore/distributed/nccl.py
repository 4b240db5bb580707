"""NCCL through ctypes: CUDA tensors' collectives, with no build-time dependency on NCCL.

The library is found at run time: ``$DLCORE_NCCL_LIBRARY`` if set, else the
``nvidia-nccl-cu13`` (or -cu12) wheel's ``nvidia/nccl/lib/libnccl.so.2`` in any site directory,
else the system's ``libnccl.so.2`` (the dynamic loader's search path). Only the stable C API
is used (ncclGetUniqueId, ncclCommInitRank, ncclAllReduce, ncclBroadcast, ncclAllGather,
ncclReduceScatter, ncclCommDestroy), whose enum values have not changed since NCCL 2.10.

A communicator is created collectively: rank 0 makes the unique id, MPI broadcasts its 128
bytes, and every rank calls ncclCommInitRank with its own MPI rank. When every rank runs on one
machine and ``NCCL_SOCKET_IFNAME`` is unset, NCCL's bootstrap is pointed at the loopback
interface (``lo``): left to itself NCCL picks the first network interface, and a machine whose
firewall drops even its own traffic there (a sandbox, a container) can hang in
ncclCommInitRank. Loopback always reaches the other ranks of the same machine; jobs across
machines keep NCCL's own choice. Collectives are enqueued on
dlcore's current stream of the tensor's device (``dlcore.cuda.current_stream``), reading and
writing the tensors' device memory directly.
"""
from __future__ import annotations

import ctypes
import glob
import os
import site
import sys
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

if TYPE_CHECKING:
    from ..tensor import Tensor
    from .collectives import ReduceOp

_UNIQUE_ID_BYTES = 128
# ncclDataType_t and ncclRedOp_t (nccl.h)
_DTYPES = {"bool": 1, "int64": 4, "float32": 7, "float64": 8}     # bool travels as ncclUint8
_SUM, _PROD, _MAX, _MIN, _AVG = 0, 1, 2, 3, 4


class _UniqueId(ctypes.Structure):
    _fields_ = [("internal", ctypes.c_char * _UNIQUE_ID_BYTES)]


_lib = None


def _candidates():
    env = os.environ.get("DLCORE_NCCL_LIBRARY")
    if env:
        yield env
    dirs = list(sys.path)
    try:
        dirs += site.getsitepackages() + [site.getusersitepackages()]
    except AttributeError:       # some embedded interpreters have no site helpers
        pass
    for d in dict.fromkeys(dirs):
        for sub in ("nvidia/nccl/lib", "nvidia/cu13/lib", "nvidia/cu12/lib"):
            yield from sorted(glob.glob(os.path.join(d, sub, "libnccl.so*")))
    yield "libnccl.so.2"


def library() -> ctypes.CDLL:
    """The loaded libnccl (ctypes.CDLL) with argument types declared; raises RuntimeError
    saying what to install when no NCCL can be loaded."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            tried.append(f"{path}: {e}")
    else:
        raise RuntimeError("dlcore.distributed: NCCL is needed for CUDA tensors but libnccl.so.2 could not be "
                           "loaded; install it with `pip install nvidia-nccl-cu13` (or set DLCORE_NCCL_LIBRARY "
                           "to the library's path). Tried:\n  " + "\n  ".join(tried))
    p, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    lib.ncclGetErrorString.restype = ctypes.c_char_p
    lib.ncclGetErrorString.argtypes = [i]
    lib.ncclGetVersion.argtypes = [ctypes.POINTER(i)]
    lib.ncclGetUniqueId.argtypes = [ctypes.POINTER(_UniqueId)]
    lib.ncclCommInitRank.argtypes = [ctypes.POINTER(p), i, _UniqueId, i]
    lib.ncclCommDestroy.argtypes = [p]
    lib.ncclCommAbort.argtypes = [p]
    lib.ncclCommGetAsyncError.argtypes = [p, ctypes.POINTER(i)]
    lib.ncclAllReduce.argtypes = [p, p, sz, i, i, p, p]
    lib.ncclBroadcast.argtypes = [p, p, sz, i, i, p, p]
    lib.ncclAllGather.argtypes = [p, p, sz, i, p, p]
    lib.ncclReduceScatter.argtypes = [p, p, sz, i, i, p, p]
    for f in ("ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRank", "ncclCommDestroy", "ncclCommAbort",
              "ncclCommGetAsyncError", "ncclAllReduce", "ncclBroadcast", "ncclAllGather", "ncclReduceScatter"):
        getattr(lib, f).restype = i
    _lib = lib
    return lib


def version() -> int:
    """NCCL's version code, e.g. 22703 for 2.27.3."""
    v = ctypes.c_int()
    _check(library().ncclGetVersion(ctypes.byref(v)), "ncclGetVersion")
    return v.value


def _check(result, what):
    if result != 0:
        msg = library().ncclGetErrorString(result).decode(errors="replace")
        raise RuntimeError(f"dlcore.distributed: {what} failed: NCCL error {result} ({msg})")


def _dtype(t, name):
    try:
        return _DTYPES[t.dtype.name]
    except KeyError:
        raise TypeError(f"{name}: NCCL cannot communicate {t.dtype.name} tensors") from None


def _red_op(op, t, name):
    from .collectives import ReduceOp
    if t.dtype.name == "bool":       # 0/1 bytes: max is or, min is and
        if op is ReduceOp.AVG:
            raise TypeError(f"{name}: ReduceOp.AVG needs a floating-point tensor, got bool")
        return _MAX if op in (ReduceOp.SUM, ReduceOp.MAX) else _MIN
    if op is ReduceOp.AVG and not t.dtype.is_floating_point:
        raise TypeError(f"{name}: ReduceOp.AVG needs a floating-point tensor, got {t.dtype.name}")
    return {ReduceOp.SUM: _SUM, ReduceOp.AVG: _AVG, ReduceOp.PRODUCT: _PROD, ReduceOp.MAX: _MAX,
            ReduceOp.MIN: _MIN}[op]


def bootstrap_environment(single_node: bool) -> None:
    """Before NCCL's first call (it reads its environment once): on one machine, bootstrap over
    loopback unless the user chose an interface (see the module's docstring)."""
    if single_node and not os.environ.get("NCCL_SOCKET_IFNAME"):
        os.environ["NCCL_SOCKET_IFNAME"] = "lo"


def _stream(device):
    from .. import _C
    return ctypes.c_void_p(_C.cuda_current_stream(device))


class Communicator:
    """One NCCL communicator over all MPI ranks, bound to one CUDA device of this process."""

    def __init__(self, handle: Optional[ctypes.c_void_p], device: int, rank: int, size: int) -> None:
        self._handle = handle
        self.device = device
        self.rank = rank
        self.size = size

    @classmethod
    def from_mpi(cls, comm: Any, device: int, single_node: bool = False) -> Communicator:
        bootstrap_environment(single_node)
        lib = library()
        from .. import cuda
        cuda.set_device(device)
        uid = _UniqueId()
        if comm.Get_rank() == 0:
            _check(lib.ncclGetUniqueId(ctypes.byref(uid)), "ncclGetUniqueId")
        raw = bytearray(bytes(uid.internal).ljust(_UNIQUE_ID_BYTES, b"\0"))
        comm.Bcast(raw, root=0)
        ctypes.memmove(ctypes.addressof(uid), bytes(raw), _UNIQUE_ID_BYTES)
        handle = ctypes.c_void_p()
        _check(lib.ncclCommInitRank(ctypes.byref(handle), comm.Get_size(), uid, comm.Get_rank()),
               "ncclCommInitRank")
        return cls(handle, device, comm.Get_rank(), comm.Get_size())

    def destroy(self) -> None:
        if self._handle is not None:
            _check(library().ncclCommDestroy(self._handle), "ncclCommDestroy")
            self._handle = None

    def _ptr(self, t, name):
        if not t.is_cuda or t.device.index != self.device:
            raise ValueError(f"{name}: expected a tensor on cuda:{self.device}, got one on {t.device}")
        return ctypes.c_void_p(t.data_ptr())

    def all_reduce(self, t: Tensor, op: ReduceOp, name: str = "all_reduce") -> None:
        ptr = self._ptr(t, name)
        _check(library().ncclAllReduce(ptr, ptr, t.numel(), _dtype(t, name), _red_op(op, t, name), self._handle,
                                       _stream(self.device)), f"{name} (ncclAllReduce)")

    def broadcast(self, t: Tensor, src: int, name: str = "broadcast") -> None:
        ptr = self._ptr(t, name)
        _check(library().ncclBroadcast(ptr, ptr, t.numel(), _dtype(t, name), src, self._handle,
                                       _stream(self.device)), f"{name} (ncclBroadcast)")

    def all_gather(self, tensor_list: Sequence[Tensor], t: Tensor, name: str = "all_gather") -> None:
        from ..creation import empty
        staged = empty((self.size,) + tuple(t.shape), dtype=t.dtype, device=t.device)
        _check(library().ncclAllGather(self._ptr(t, name), self._ptr(staged, name), t.numel(), _dtype(t, name),
                                       self._handle, _stream(self.device)), f"{name} (ncclAllGather)")
        for r, out in enumerate(tensor_list):      # device copies on the same stream, after the gather
            out.copy_(staged[r])

    def reduce_scatter(self, out: Tensor, input_list: Iterable[Tensor], op: ReduceOp,
                       name: str = "reduce_scatter") -> None:
        from ..views import stack
        staged = stack(list(input_list)).contiguous()
        _check(library().ncclReduceScatter(self._ptr(staged, name), self._ptr(out, name), out.numel(),
                                           _dtype(out, name), _red_op(op, out, name), self._handle,
                                           _stream(self.device)), f"{name} (ncclReduceScatter)")

"""DistributedDataParallel: the same model on every rank, gradients averaged during backward.

    dist.init_process_group("mpi")
    model = DistributedDataParallel(Net())        # rank 0's parameters and buffers everywhere
    for xb, yb in loader:                         # each rank its own share of the data
        loss = loss_fn(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()

How the averaging overlaps backward. The trainable parameters are grouped, in reverse order of
``module.parameters()`` (roughly the order backward produces their gradients), into buckets of
at most ``bucket_cap_mb`` (the first one 1 MB, so communication starts early). Each parameter
has a post-accumulate-grad hook; when the last gradient of a bucket has been accumulated, the
bucket's gradients are copied into one flat buffer and a non-blocking all_reduce(AVG) of it
starts, while backward goes on computing the gradients of earlier layers. Buckets start
strictly in index order on every rank (a ready bucket waits for the ones before it), because
MPI and NCCL match collectives by the order of the calls. When backward has walked the whole
graph, a queued callback waits for every bucket and copies the averages back into ``.grad``,
so the optimizer step that follows sees the averaged gradients.

Averaging the per-rank mean gradients of equal per-rank batches gives the gradient of the mean
over the union of the batches: 2 ranks with batch B/2 step exactly like 1 process with batch B,
up to the rounding of the sums.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

from ..module import Module
from ...autograd import is_grad_enabled, no_grad, queue_callback

if TYPE_CHECKING:
    from ..._dtype import device

_FIRST_BUCKET_BYTES = 1 << 20


class _Bucket:
    __slots__ = ("params", "indices", "offsets", "numel", "buffer", "pending", "ready", "work")

    def __init__(self):
        self.params, self.indices, self.offsets, self.numel = [], [], [], 0
        self.buffer = self.work = None
        self.pending, self.ready = 0, False


class DistributedDataParallel(Module):
    """Wraps ``module`` for data-parallel training over the default process group.

    broadcast_buffers: copy rank 0's buffers (e.g. batch-norm running statistics) to every rank
    before each training forward (grad mode on, module in train mode). bucket_cap_mb: the size
    of a gradient bucket. find_unused_parameters: allow parameters that get no gradient in a
    backward (they contribute zeros; a parameter unused on every rank keeps ``.grad`` None);
    without it such a parameter is an error at the end of backward. ``device_ids``,
    ``output_device``, ``dim`` and ``gradient_as_bucket_view`` are accepted for PyTorch
    compatibility: one process drives one device, the one the module is on.

    The wrapped model is ``.module``; ``state_dict()`` keys carry the ``module.`` prefix, as in
    PyTorch (save ``model.module.state_dict()`` to load it into an unwrapped model).
    """

    def __init__(self, module: Module, device_ids: Optional[Sequence[device | str | int]] = None,
                 output_device: device | str | int | None = None, dim: int = 0, broadcast_buffers: bool = True,
                 bucket_cap_mb: float = 25, find_unused_parameters: bool = False,
                 gradient_as_bucket_view: bool = False) -> None:
        super().__init__()
        from ...distributed import _state, broadcast
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a dlcore.nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self._group = _state.require_group("DistributedDataParallel")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._param_names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._check_same_model_everywhere()
        with no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                broadcast(t.detach(), src=0)
        self._buckets, self._bucket_of = self._make_buckets(int(bucket_cap_mb * (1 << 20)))
        self._hooks = [p.register_post_accumulate_grad_hook(self._make_hook(i)) for i, p in enumerate(self._params)]
        self._sync_this_backward = False
        self._reset_reduction()

    # ---- construction --------------------------------------------------------------------
    def _check_same_model_everywhere(self):
        # Every rank must hold the same parameter list: compare (count, a hash of the shapes
        # and dtypes) by an all_reduce of MAX and of MIN; all ranks see the same verdict.
        import zlib
        from ...creation import tensor
        from ...distributed import ReduceOp, all_reduce
        desc = ";".join(f"{tuple(p.shape)}:{p.dtype.name}" for p in self._params).encode()
        mine = [len(self._params), zlib.crc32(desc)]
        hi, lo = tensor(mine), tensor(mine)
        all_reduce(hi, ReduceOp.MAX)
        all_reduce(lo, ReduceOp.MIN)
        if hi.tolist() != lo.tolist():
            raise ValueError(f"DistributedDataParallel: the ranks hold different models (rank "
                             f"{self._group.rank} has {len(self._params)} trainable parameters; counts on the "
                             f"ranks range over [{lo.tolist()[0]}, {hi.tolist()[0]}] or their shapes differ)")

    def _make_buckets(self, cap_bytes):
        from ...creation import zeros
        buckets, bucket_of = [], [None] * len(self._params)
        cur, cur_bytes = None, 0
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            nbytes = p.numel() * p.dtype.itemsize
            limit = _FIRST_BUCKET_BYTES if not buckets else cap_bytes
            first = cur.params[0] if cur is not None else None
            if cur is None or p.dtype is not first.dtype or p.device != first.device or \
                    (cur_bytes + nbytes > limit and cur.params):
                cur, cur_bytes = _Bucket(), 0
                buckets.append(cur)
            cur.params.append(p)
            cur.indices.append(i)
            cur.offsets.append(cur.numel)
            cur.numel += p.numel()
            cur_bytes += nbytes
            bucket_of[i] = len(buckets) - 1
        for b in buckets:
            b.buffer = zeros(b.numel, dtype=b.params[0].dtype, device=b.params[0].device)
        return buckets, bucket_of

    # ---- forward ---------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._in_backward:                   # the previous backward stopped half-way
            self._reset_reduction()
        self._sync_this_backward = self.require_backward_grad_sync and is_grad_enabled()
        if self.broadcast_buffers and is_grad_enabled() and self.module.training:
            from ...distributed import broadcast
            with no_grad():
                for b in self.module.buffers():
                    broadcast(b.detach(), src=0)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backwards of forwards run inside only accumulate local gradients (gradient
        accumulation); the first backward after the block averages the accumulated sums."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ---- the reduction during backward ---------------------------------------------------------
    def _reset_reduction(self):
        for b in self._buckets:
            b.pending, b.ready, b.work = len(b.params), False, None
        self._marked = [False] * len(self._params)
        self._next_bucket = 0
        self._in_backward = False

    def _make_hook(self, i):
        def hook(param):
            self._grad_ready(i)
        return hook

    def _grad_ready(self, i):
        if not self._sync_this_backward:
            return
        if not self._in_backward:               # the first gradient of this backward
            self._reset_reduction()
            self._in_backward = True
            queue_callback(self._finish_backward)
        if self._marked[i]:
            raise RuntimeError(f"DistributedDataParallel: parameter {self._param_names[i]!r} was marked ready "
                               "twice in one backward")
        self._marked[i] = True
        b = self._buckets[self._bucket_of[i]]
        b.pending -= 1
        if b.pending == 0:
            b.ready = True
            self._launch_ready_buckets()
        self._progress()

    def _launch_ready_buckets(self):
        from ...distributed import ReduceOp, all_reduce
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].ready:
            b = self._buckets[self._next_bucket]
            for p, i, off in zip(b.params, b.indices, b.offsets):
                dst = b.buffer.narrow(0, off, p.numel())
                if self._marked[i] and p.grad is not None:
                    dst.copy_(p.grad.reshape(-1))
                else:                            # unused in this backward: contributes zeros
                    dst.zero_()
            b.work = all_reduce(b.buffer, ReduceOp.AVG, async_op=True)
            self._next_bucket += 1

    def _progress(self):
        # MPI advances a non-blocking collective only inside MPI calls: poll the buckets in
        # flight so their transfers move on while backward computes.
        for b in self._buckets[:self._next_bucket]:
            if b.work is not None:
                b.work.is_completed()

    def _finish_backward(self):
        self._in_backward = False
        self._sync_this_backward = False     # a backward not preceded by this wrapper's forward stays local
        missing = [self._param_names[i] for i, m in enumerate(self._marked) if not m]
        if missing and not self.find_unused_parameters:
            self._reset_reduction()
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise RuntimeError(f"DistributedDataParallel: {len(missing)} parameter(s) received no gradient in this "
                               f"backward ({shown}); make every parameter take part in the loss, or construct "
                               "DistributedDataParallel(..., find_unused_parameters=True)")
        for b in self._buckets:
            b.ready = True
        self._launch_ready_buckets()
        # Every rank asks, whatever it found locally, and after all its buckets: collectives
        # must come in the same order on every rank.
        used_somewhere = self._used_anywhere() if self.find_unused_parameters else None
        for b in self._buckets:
            b.work.wait()
            for p, i, off in zip(b.params, b.indices, b.offsets):
                # A fresh tensor, not a write into .grad: two leaves may share one gradient
                # tensor (the backward of a + b hands both the same one).
                if self._marked[i] or (used_somewhere is not None and used_somewhere[i]):
                    p.grad = b.buffer.narrow(0, off, p.numel()).reshape(tuple(p.shape)).clone()
        self._reset_reduction()

    def _used_anywhere(self):
        from ...creation import tensor
        from ...distributed import ReduceOp, all_reduce
        used = tensor(self._marked)
        all_reduce(used, ReduceOp.MAX)
        return used.tolist()

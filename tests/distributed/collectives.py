"""Every collective, op, dtype and an awkward set of sizes against NumPy, on every rank.

    mpiexec -n 2 python tests/distributed/collectives.py [--device cuda]

Each rank makes its data from (rank, case) with a seeded generator, so every rank can build the
inputs of all the others and the expected result in float64 / exact integers. Any mismatch
raises (and aborts the job); success prints one line "collectives ok: N checks" per rank.
"""
import sys

import numpy as np

import dlcore
import dlcore.distributed as dist
from dlcore.distributed import ReduceOp

device = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cpu"
dist.init_process_group("nccl" if device == "cuda" else "mpi")
rank, world = dist.get_rank(), dist.get_world_size()
SIZES = [(0,), (1,), (), (7,), (3, 5), (1031,)]
DTYPES = ["float32", "float64", "int64", "bool"]
OPS = {ReduceOp.SUM: lambda a: a.sum(0), ReduceOp.AVG: lambda a: a.mean(0), ReduceOp.PRODUCT: lambda a: a.prod(0),
       ReduceOp.MAX: lambda a: a.max(0), ReduceOp.MIN: lambda a: a.min(0)}
BOOL_OPS = {ReduceOp.SUM: lambda a: a.any(0), ReduceOp.MAX: lambda a: a.any(0), ReduceOp.PRODUCT: lambda a: a.all(0),
            ReduceOp.MIN: lambda a: a.all(0)}
checks = 0


def data(r, case, shape, dtype):
    g = np.random.default_rng([r, case])
    if dtype == "bool":
        return g.random(shape) < 0.5
    if dtype == "int64":
        return g.integers(-50, 50, shape).astype(np.int64)
    return (g.standard_normal(shape) * 3).astype(dtype)


def close(got, want, dtype, what):
    global checks
    checks += 1
    got = np.asarray(got)
    if dtype in ("float32", "float64"):
        tol = 1e-6 if dtype == "float32" else 1e-13
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def put(a):
    return dlcore.tensor(a, device=device)


case = 0
for dtype in DTYPES:
    for shape in SIZES:
        case += 1
        every = np.stack([data(r, case, shape, dtype) for r in range(world)])
        ref = every.astype(np.float64) if dtype in ("float32", "float64") else every
        for op, fn in (BOOL_OPS if dtype == "bool" else OPS).items():
            if op is ReduceOp.AVG and dtype == "int64":
                continue
            t = put(every[rank])
            ptr = t.data_ptr()
            dist.all_reduce(t, op=op)
            assert t.data_ptr() == ptr, "all_reduce must work in place"
            close(t.cpu().numpy(), fn(ref), dtype, f"all_reduce {op} {dtype} {shape}")
            out = put(np.zeros(shape, dtype=every.dtype))
            dist.reduce_scatter(out, [put(data(rank, case * 100 + j, shape, dtype)) for j in range(world)], op=op)
            parts = np.stack([data(r, case * 100 + rank, shape, dtype) for r in range(world)])
            parts = parts.astype(np.float64) if dtype in ("float32", "float64") else parts
            close(out.cpu().numpy(), fn(parts), dtype, f"reduce_scatter {op} {dtype} {shape}")
        for src in range(world):
            t = put(every[rank])
            dist.broadcast(t, src=src)
            close(t.cpu().numpy(), ref[src], dtype, f"broadcast src={src} {dtype} {shape}")
        outs = [put(np.zeros(shape, dtype=every.dtype)) for _ in range(world)]
        dist.all_gather(outs, put(every[rank]))
        for r in range(world):
            close(outs[r].cpu().numpy(), ref[r], dtype, f"all_gather [{r}] {dtype} {shape}")

# Asynchronous form: the result is in place after wait().
t = put(np.full(1000, rank + 1.0, dtype=np.float32))
work = dist.all_reduce(t, op=ReduceOp.SUM, async_op=True)
assert work.wait() and work.is_completed()
close(t.cpu().numpy(), np.full(1000, world * (world + 1) / 2), "float32", "async all_reduce")

# CPU tensors: no copy — a NumPy view taken before the call sees the result.
if device == "cpu":
    t = dlcore.full((5,), float(rank))
    view = t.numpy()
    dist.all_reduce(t, op=ReduceOp.MAX)
    close(view, np.full(5, world - 1.0), "float32", "all_reduce through a prior NumPy view")

# Bad input: clear exceptions, raised on every rank before any communication.
for call, kind in [(lambda: dist.all_reduce(put(np.zeros((4, 3), np.float32)).t()), ValueError),
                   (lambda: dist.all_reduce(put(np.zeros(3, np.int64)), op=ReduceOp.AVG), TypeError),
                   (lambda: dist.all_reduce(put(np.zeros(3, np.float32)), op="bitwise"), ValueError),
                   (lambda: dist.broadcast(put(np.zeros(3, np.float32)), src=world), ValueError),
                   (lambda: dist.all_gather([put(np.zeros(3, np.float32))] * (world + 1), put(np.zeros(3, np.float32))), ValueError),
                   (lambda: dist.all_gather([put(np.zeros(4, np.float32))] * world, put(np.zeros(3, np.float32))), ValueError),
                   (lambda: dist.all_reduce(np.zeros(3)), TypeError)]:
    try:
        call()
    except kind as e:
        assert "all_reduce" in str(e) or "broadcast" in str(e) or "all_gather" in str(e), e
        checks += 1
    else:
        raise AssertionError(f"expected {kind.__name__}")
dist.barrier()
print(f"rank {rank}: collectives ok: {checks} checks on {device}", flush=True)
dist.destroy_process_group()

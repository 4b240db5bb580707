"""Data-parallel benchmarks, run under an MPI launcher.

    mpirun -n 2 python -m dlcore.bench allreduce [--quick] [--gpu]
    mpirun -n 2 python -m dlcore.bench ddp-scaling [--quick]

allreduce: all_reduce(SUM) of float32 tensors from 4 B to 64 MiB (x4 steps), as nccl-tests and
OSU report it: the time per call (mean over a timed loop, the slowest rank's; the median of 7
such loops), the algorithm
bandwidth algbw = bytes / time and the bus bandwidth busbw = algbw * 2(p-1)/p — the traffic
each rank's link carries in a ring all-reduce, comparable across rank counts and with the
link's peak. Beside it, the same loop on mpi4py's blocking comm.Allreduce on a NumPy array:
the difference is what dlcore's tensor wrapping and polled completion cost. --gpu: CUDA tensors
through NCCL (times include a device synchronisation at the end of each loop).

ddp-scaling: weak scaling of training — every rank keeps its own batch (64 samples) — for the
MLP 784-256-128-10 and LeNet-5 on 28x28 (the train-mlp and train-cnn models), SGD momentum.
Three runs, interleaved round after round, each timed between barriers:
  1 rank       rank 0 trains the plain model alone (the other ranks wait in a barrier);
  p ranks DDP  every rank trains through DistributedDataParallel (gradients averaged);
  p ranks local  the same, inside no_sync(): all the work but the communication.
Weak-scaling efficiency = time per step on 1 rank / time per step on p ranks (1.0 is perfect:
p times the samples in the same time). Comparing "p ranks local" with "1 rank" separates the
cost of sharing the machine (cores, memory bandwidth) from the cost of the all-reduces.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

import dlcore


def _init():
    import dlcore.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group("mpi")
    return dist


def _say(dist, *a):
    if dist.get_rank() == 0:
        print(*a, flush=True)


def _machine(dist):
    import platform
    return (f"{dist.get_world_size()} ranks, {dlcore.get_num_threads()} thread(s) per rank, "
            f"{platform.processor() or platform.machine()}, dlcore {dlcore.__version__}")


def _timed_loop(dist, fn, iters, sync=None):
    """Seconds per call of the slowest rank over ``iters`` calls, started together."""
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    if sync is not None:
        sync()
    dt = (time.perf_counter() - t0) / iters
    t = dlcore.tensor([dt], dtype="float64")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item()


def _iterations(dist, fn, budget, sync=None):
    """Iterations filling about ``budget`` seconds, chosen by rank 0 and the same everywhere."""
    one = _timed_loop(dist, fn, 3, sync)
    n = dlcore.tensor([max(5, min(2000, int(budget / max(one, 1e-7))))])
    dist.broadcast(n, src=0)
    return int(n.item())


REPEATS = 7


def run_allreduce(quick=False, gpu=False):
    dist = _init()
    from mpi4py import MPI
    p, rank = dist.get_world_size(), dist.get_rank()
    device = "cuda" if gpu else "cpu"
    sync = None
    if gpu:
        if not dlcore.cuda.is_available():
            raise SystemExit("allreduce --gpu: no CUDA device")
        sync = dlcore.cuda.synchronize
    max_exp = 22 if quick else 24            # float32 elements: 4 B .. 16 MiB (quick) / 64 MiB
    budget = 0.05 if quick else 0.25
    _say(dist, f"all_reduce(SUM) float32 on {device}, {_machine(dist)}")
    _say(dist, f"busbw = algbw * 2(p-1)/p; time = mean per call of the slowest rank in a loop, median of {REPEATS} loops")
    head = f"{'bytes':>10} {'elements':>9} {'time us':>10} {'algbw GB/s':>11} {'busbw GB/s':>11}"
    if not gpu:
        head += f" {'mpi4py us':>10} {'mpi4py busbw':>12}"
    _say(dist, head)
    rows = []
    for e in range(0, max_exp + 1, 2):
        n = 1 << e
        t = dlcore.full((n,), float(rank + 1), device=device)
        op = lambda: dist.all_reduce(t)                         # noqa: E731
        a = np.full(n, float(rank + 1), dtype=np.float32)
        raw = lambda: MPI.COMM_WORLD.Allreduce(MPI.IN_PLACE, a, MPI.SUM)   # noqa: E731
        iters = _iterations(dist, op, budget / REPEATS, sync)
        # REPEATS short loops, dlcore and raw mpi4py taking turns; the median loop is reported,
        # so a neighbour's burst on this shared machine spoils one loop, not the row.
        secs, rsecs = [], []
        for _ in range(REPEATS):
            secs.append(_timed_loop(dist, op, iters, sync))
            if not gpu:
                rsecs.append(_timed_loop(dist, raw, iters))
        sec = statistics.median(secs)
        nbytes = 4 * n
        algbw = nbytes / sec / 1e9
        busbw = algbw * 2 * (p - 1) / p
        line = f"{nbytes:>10} {n:>9} {sec * 1e6:>10.1f} {algbw:>11.3f} {busbw:>11.3f}"
        row = {"bytes": nbytes, "time_us": sec * 1e6, "algbw": algbw, "busbw": busbw}
        if not gpu:
            rsec = statistics.median(rsecs)
            line += f" {rsec * 1e6:>10.1f} {nbytes / rsec / 1e9 * 2 * (p - 1) / p:>12.3f}"
            row["mpi4py_us"] = rsec * 1e6
        rows.append(row)
        _say(dist, line)
    return rows


# ---- weak scaling of DDP training -------------------------------------------------------------
def _mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def _lenet(nn):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _stepper(model, batches):
    from dlcore import nn, optim
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    state = {"i": 0}

    def step():
        xb, yb = batches[state["i"] % len(batches)]
        state["i"] += 1
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    return step


def run_scaling(quick=False, batch=64):
    dist = _init()
    from dlcore import nn
    p, rank = dist.get_world_size(), dist.get_rank()
    steps = 10 if quick else 30
    rounds = 2 if quick else 5
    _say(dist, f"DDP weak scaling, batch {batch} per rank, {_machine(dist)}")
    _say(dist, f"{'model':<8} {'params':>8} {'1 rank ms':>10} {f'{p} DDP ms':>10} {f'{p} local ms':>11} "
               f"{'efficiency':>10} {'samples/s 1':>12} {f'samples/s {p}':>12}")
    results = {}
    for name, build, shape in (("mlp", _mlp, (784,)), ("lenet5", _lenet, (1, 28, 28))):
        g = np.random.default_rng(rank)
        batches = [(dlcore.tensor(g.standard_normal((batch,) + shape).astype(np.float32)),
                    dlcore.tensor(g.integers(0, 10, batch))) for _ in range(4)]
        dlcore.manual_seed(0)
        alone = build(nn)
        ddp = nn.parallel.DistributedDataParallel(build(nn))
        step_alone, step_ddp = _stepper(alone, batches), _stepper(ddp, batches)

        def local_step():
            with ddp.no_sync():
                step_ddp()

        def alone_step():
            if rank == 0:
                step_alone()
        times = {"1": [], "ddp": [], "local": []}
        for fn in (alone_step, step_ddp, local_step):      # warm-up
            for _ in range(3):
                fn()
        for _ in range(rounds):
            times["1"].append(_timed_loop(dist, alone_step, steps))
            times["ddp"].append(_timed_loop(dist, step_ddp, steps))
            times["local"].append(_timed_loop(dist, local_step, steps))
        t1, tp, tl = (statistics.median(times[k]) for k in ("1", "ddp", "local"))
        n_params = sum(q.numel() for q in alone.parameters())
        results[name] = {"params": n_params, "t1_ms": t1 * 1e3, "tp_ms": tp * 1e3, "tlocal_ms": tl * 1e3,
                         "efficiency": t1 / tp}
        _say(dist, f"{name:<8} {n_params:>8} {t1 * 1e3:>10.2f} {tp * 1e3:>10.2f} {tl * 1e3:>11.2f} "
                   f"{t1 / tp:>10.2f} {batch / t1:>12.0f} {p * batch / tp:>12.0f}")
    return results

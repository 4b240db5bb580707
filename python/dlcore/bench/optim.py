"""Optimizer-step benchmark: dlcore.optim against torch.optim on the same 10M float32 parameters.

An optimizer step is pure memory traffic: Adam reads param, grad, exp_avg, exp_avg_sq and writes
param, exp_avg, exp_avg_sq — 7 streams x 4 bytes per element. dlcore does it in one fused pass
per parameter. The reference is torch.optim at its FASTEST setting for each optimizer: the
fused kernel (`fused=True`: Adam, AdamW, SGD, Adagrad on the CPU), else the multi-tensor
implementation (`foreach=True`); the table names the one used. The two libraries are timed in
alternating rounds in one process (the speed of a shared machine drifts), and the speed-up is
the median of the per-round ratios. GB/s counts only the essential streams, and "% ceil"
divides dlcore's by the bandwidth of Adam's memory pattern with the arithmetic removed (4 streams
read, 3 written in place; the "optimizer-shaped stream" of `python -m dlcore.bench peak`), so
the number says how close the step runs to what this machine's memory allows for that pattern.
(The STREAM triad is printed too, but it is no ceiling for a step: it counts 12 of the 16 bytes
per element it really moves, and one core's bandwidth depends on how many streams it reads.)

    python -m dlcore.bench optim [--threads N] [--quick] [--gpu]
"""
from __future__ import annotations

import os
import statistics

import numpy as np

import dlcore
from .. import optim
from .. import _C
from .gemm import machine_line, update_stream_ceiling
from .timing import interleaved_times, median_ratio, median_time

N = 10_000_000

# (label, dlcore/torch class name, kwargs, streams of 4-byte elements moved per parameter element)
CASES = [
    ("Adam", "Adam", dict(lr=1e-3), 7),
    ("AdamW", "AdamW", dict(lr=1e-3), 7),
    ("Adam amsgrad", "Adam", dict(lr=1e-3, amsgrad=True), 9),
    ("NAdam", "NAdam", dict(lr=1e-3), 7),
    ("Adamax", "Adamax", dict(lr=1e-3), 7),
    ("SGD momentum", "SGD", dict(lr=1e-2, momentum=0.9), 5),
    ("Adagrad", "Adagrad", dict(lr=1e-2), 5),
    ("RMSprop", "RMSprop", dict(lr=1e-2), 5),
    ("Adadelta", "Adadelta", dict(lr=1.0), 7),
]


def _torch():
    try:
        import torch
        return torch
    except Exception:
        return None


def _torch_fastest(torch, cls_name, kwargs, params, device):
    """(optimizer, "fused" / "foreach" / "default"): torch's fastest implementation that runs here."""
    for impl in ("fused", "foreach"):
        try:
            opt = getattr(torch.optim, cls_name)(params, **kwargs, **{impl: True})
            opt.step()                                         # fused may refuse only at step time
            return opt, impl
        except (TypeError, RuntimeError, ValueError):
            continue
    return getattr(torch.optim, cls_name)(params, **kwargs), "default"


def _torch_step(torch, cls_name, kwargs, n, device="cpu"):
    rng = np.random.default_rng(0)
    p = torch.tensor(rng.standard_normal(n, dtype=np.float32), device=device, requires_grad=True)
    p.grad = torch.tensor(rng.standard_normal(n, dtype=np.float32) * 1e-2, device=device)
    opt, impl = _torch_fastest(torch, cls_name, kwargs, [p], device)
    if device == "cpu":
        return opt.step, impl

    def step():
        opt.step()
        torch.cuda.synchronize()
    return step, impl


def _dlcore_step(cls_name, kwargs, n, device="cpu"):
    rng = np.random.default_rng(0)
    p = dlcore.tensor(rng.standard_normal(n, dtype=np.float32), device=device, requires_grad=True)
    p.grad = dlcore.tensor(rng.standard_normal(n, dtype=np.float32) * 1e-2, device=device)
    opt = getattr(optim, cls_name)([p], **kwargs)
    if device == "cpu":
        return opt.step

    def step():
        opt.step()
        dlcore.cuda.synchronize()
    return step


def _compare(torch, cls_name, kwargs, n, device="cpu", rounds=5):
    """(dlcore median s, torch median s or None, median per-round speed-up or None, torch impl)."""
    dl = _dlcore_step(cls_name, kwargs, n, device)
    if torch is None:
        return median_time(dl, min_time=1.0, min_reps=7), None, None, None
    ref, impl = _torch_step(torch, cls_name, kwargs, n, device)
    t = interleaved_times({"dlcore": dl, "torch": ref}, rounds=rounds, min_time=0.2, min_reps=3)
    return (statistics.median(t["dlcore"]), statistics.median(t["torch"]),
            median_ratio(t["torch"], t["dlcore"]), impl)


def _row(label, t_dl, t_ref, ratio, impl, nbytes, ceiling):
    ref = f"{t_ref * 1e3:9.2f}" if t_ref else "        -"
    speedup = f"{ratio:7.2f}x" if ratio else "       -"
    bw_dl = nbytes / t_dl / 1e9
    bw_ref = f"{nbytes / t_ref / 1e9:9.1f}" if t_ref else "        -"
    pct = f"{100 * bw_dl / ceiling:7.0f}%" if ceiling else "       -"
    print(f"{label:<14} {t_dl * 1e3:9.2f} {ref} {speedup} {bw_dl:10.1f} {bw_ref} {pct}  {impl or ''}",
          flush=True)


def run(threads=None, quick=False, gpu=False):
    threads = threads or int(os.environ.get("DLCORE_BENCH_THREADS", 0)) or dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    n = N // 10 if quick else N
    cases = CASES[:1] if quick else CASES
    if gpu == "only":
        return _run_gpu(torch, n, cases)
    triad = _C.measure_triad_gbps(threads)
    ceiling, how, _ = update_stream_ceiling(threads)
    # AMSGrad's own pattern (5 streams read, 4 written): its % column is against this one.
    ams_ceiling = (max(_C.measure_update_stream_gbps(threads, amsgrad=True).values())
                   if any(c[0] == "Adam amsgrad" for c in cases) else None)
    print(machine_line(threads))
    print(f"optimizer step on {n / 1e6:g}M float32 parameters (one tensor), median ms per step; "
          f"GB/s counts the essential streams (Adam: 7 x 4 bytes per element); ceiling = Adam's "
          f"memory pattern without arithmetic: {ceiling:.1f} GB/s ({how.replace('_', ' ')}); "
          f"STREAM triad {triad:.1f} GB/s (12 B/element; {triad * 16 / 12:.1f} with write-allocate)")
    ref_name = f"torch {torch.__version__}" if torch is not None else "torch (not installed)"
    print(f"{'optimizer':<14} {'dlcore ms':>9} {'torch ms':>9} {'speedup':>8} {'dlcore GB/s':>10} "
          f"{'torch GB/s':>9} {'% ceil':>8}  [{ref_name}, fastest implementation]")
    times = {}
    for label, cls_name, kwargs, streams in cases:
        t_dl, t_ref, ratio, impl = _compare(torch, cls_name, kwargs, n)
        times[label] = t_dl
        _row(label, t_dl, t_ref, ratio, impl, streams * 4 * n,
             ams_ceiling if label == "Adam amsgrad" else ceiling)
    if "Adam" in times and "Adam amsgrad" in times:
        # The two steps alternated in one run (the rows above were timed minutes apart).
        t = interleaved_times({"adam": _dlcore_step("Adam", dict(lr=1e-3), n),
                               "amsgrad": _dlcore_step("Adam", dict(lr=1e-3, amsgrad=True), n)},
                              rounds=7, min_time=0.2, min_reps=3)
        print(f"Adam amsgrad step / Adam step, alternated: {median_ratio(t['amsgrad'], t['adam']):.2f}x "
              f"(it moves 9 streams instead of 7: {9 / 7:.2f}x the bytes; AMSGrad's memory pattern "
              f"alone ran at {ams_ceiling:.1f} GB/s, Adam's at {ceiling:.1f}, measured apart)")
    if gpu:
        _run_gpu(torch, n, cases)


def _run_gpu(torch, n, cases):
    if not dlcore.cuda.is_available():
        print("--gpu: no CUDA device available to dlcore; skipped")
        return
    print(f"\nCUDA ({n / 1e6:g}M float32 parameters)")
    tcuda = torch is not None and torch.cuda.is_available()
    for label, cls_name, kwargs, streams in cases:
        t_dl, t_ref, ratio, impl = _compare(torch if tcuda else None, cls_name, kwargs, n,
                                            device="cuda")
        _row(label, t_dl, t_ref, ratio, impl, streams * 4 * n, None)

"""Optimizer-step benchmark: dlcore.optim against torch.optim on the same 10M float32 parameters.

An optimizer step is pure memory traffic: Adam reads param, grad, exp_avg, exp_avg_sq and writes
param, exp_avg, exp_avg_sq — 7 streams x 4 bytes per element. dlcore does it in one fused pass
per parameter; torch.optim's default CPU implementation runs one tensor op after another
(lerp_, mul_, addcmul_, sqrt, div, add_, addcdiv_), each a full trip through memory. The table
prints the median time per step, dlcore's speed-up, and the bandwidth each achieves counting
only the essential streams (so the number is comparable with the machine's memory bandwidth).

    python -m dlcore.bench optim [--threads N] [--quick] [--gpu]
"""
from __future__ import annotations

import os

import numpy as np

import dlcore
from .. import optim
from .gemm import machine_line
from .timing import median_time

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


def _time_dlcore(cls_name, kwargs, n, device="cpu"):
    rng = np.random.default_rng(0)
    p = dlcore.tensor(rng.standard_normal(n, dtype=np.float32), device=device, requires_grad=True)
    p.grad = dlcore.tensor(rng.standard_normal(n, dtype=np.float32) * 1e-2, device=device)
    opt = getattr(optim, cls_name)([p], **kwargs)
    if device == "cpu":
        return median_time(opt.step, min_time=1.0, min_reps=7)

    def step():
        opt.step()
        dlcore.cuda.synchronize()
    return median_time(step, min_time=1.0, min_reps=7)


def _time_torch(torch, cls_name, kwargs, n, device="cpu"):
    rng = np.random.default_rng(0)
    p = torch.tensor(rng.standard_normal(n, dtype=np.float32), device=device, requires_grad=True)
    p.grad = torch.tensor(rng.standard_normal(n, dtype=np.float32) * 1e-2, device=device)
    opt = getattr(torch.optim, cls_name)([p], **kwargs)       # default implementation
    if device == "cpu":
        return median_time(opt.step, min_time=1.0, min_reps=7)

    def step():
        opt.step()
        torch.cuda.synchronize()
    return median_time(step, min_time=1.0, min_reps=7)


def _row(label, t_dl, t_ref, nbytes):
    ref = f"{t_ref * 1e3:9.2f}" if t_ref else "        -"
    ratio = f"{t_ref / t_dl:7.2f}x" if t_ref else "       -"
    bw_ref = f"{nbytes / t_ref / 1e9:9.1f}" if t_ref else "        -"
    print(f"{label:<14} {t_dl * 1e3:9.2f} {ref} {ratio} {nbytes / t_dl / 1e9:10.1f} {bw_ref}")


def run(threads=None, quick=False, gpu=False):
    threads = threads or int(os.environ.get("DLCORE_BENCH_THREADS", 0)) or dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    n = N // 10 if quick else N
    cases = CASES[:1] if quick else CASES
    print(machine_line(threads))
    print(f"optimizer step on {n / 1e6:g}M float32 parameters (one tensor), median ms per step; "
          f"GB/s counts the essential streams (Adam: 7 x 4 bytes per element)")
    ref_name = f"torch {torch.__version__}" if torch is not None else "torch (not installed)"
    print(f"{'optimizer':<14} {'dlcore ms':>9} {'torch ms':>9} {'speedup':>8} {'dlcore GB/s':>10} "
          f"{'torch GB/s':>9}   [{ref_name}, default implementation]")
    for label, cls_name, kwargs, streams in cases:
        t_dl = _time_dlcore(cls_name, kwargs, n)
        t_ref = _time_torch(torch, cls_name, kwargs, n) if torch is not None else None
        _row(label, t_dl, t_ref, streams * 4 * n)
    if gpu:
        if not dlcore.cuda.is_available():
            print("--gpu: no CUDA device available to dlcore; skipped")
            return
        print(f"\nCUDA ({n / 1e6:g}M float32 parameters)")
        tcuda = torch is not None and torch.cuda.is_available()
        for label, cls_name, kwargs, streams in cases:
            t_dl = _time_dlcore(cls_name, kwargs, n, device="cuda")
            t_ref = _time_torch(torch, cls_name, kwargs, n, device="cuda") if tcuda else None
            _row(label, t_dl, t_ref, streams * 4 * n)

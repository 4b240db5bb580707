"""Pooling and resizing against PyTorch on the same inputs: max_pool2d / avg_pool2d 2x2 (the
vectorised fast path), the 3x3 / stride-2 / pad-1 max pool of a ResNet stem (the general path),
global average pooling (adaptive_avg_pool2d(x, 1)) and a 2x bilinear upsample — each as
forward + backward through the public API (autograd included on both sides).

    from dlcore.bench import pool; pool.run(threads=2)

Each row prints the median time per call of both libraries (interleaved round by round, see
timing.interleaved_times), dlcore's speed-up over torch, and dlcore's effective bandwidth
counting every tensor the two passes must read or write once (input, output, int64 indices for
max pooling, output gradient, input gradient). gpu=True adds the same rows for dlcore on CUDA.
"""
from __future__ import annotations

import statistics

import numpy as np

import dlcore
from ..nn import functional as F
from .gemm import machine_line
from .timing import interleaved_times, median_ratio


def _torch():
    try:
        import torch
        return torch
    except Exception:
        return None


def _cases(quick):
    n, c = (8, 64) if quick else (32, 64)
    big = (n, c, 32, 32)
    stem = (n // 2, 64, 56, 56) if not quick else (4, 64, 28, 28)
    gap = (n, 512, 7, 7)
    return [  # (name, input shape, op(F, x), bytes moved per fwd+bwd as a function of numel)
        (f"max_pool2d 2x2 fwd+bwd {big}", big, lambda f, x: f.max_pool2d(x, 2),
         lambda m: 14 * m),         # x 4m, y m + idx 2m, g m + idx 2m, gx 4m (m = numel)
        (f"max_pool2d 2x2 fwd {big}", big, None, lambda m: 4 * m + 3 * m),
        (f"avg_pool2d 2x2 fwd+bwd {big}", big, lambda f, x: f.avg_pool2d(x, 2),
         lambda m: 4 * m + m + m + 4 * m),
        (f"max_pool2d 3x3 s2 p1 fwd+bwd {stem}", stem, lambda f, x: f.max_pool2d(x, 3, 2, 1),
         lambda m: 14 * m),
        (f"adaptive_avg_pool2d(1) fwd+bwd {gap}", gap, lambda f, x: f.adaptive_avg_pool2d(x, 1),
         lambda m: 8 * m),
        (f"bilinear x2 fwd+bwd {big}", big,
         lambda f, x: f.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
         lambda m: 4 * m + 16 * m + 16 * m + 4 * m),
    ]


def _fwd_bwd(op, lib, x, g):
    def run():
        if x.grad is not None:
            x.grad = None
        op(lib, x).backward(g)
    return run


def run(threads=None, quick=False, gpu=False):
    threads = threads or dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    print(machine_line(threads))
    print(f"{'op (float32)':>52} {'dlcore':>10} {'torch':>10} {'x torch':>8} {'dlcore GB/s':>12}")
    rng = np.random.default_rng(0)
    devices = ([] if gpu == "only" else ["cpu"]) + (["cuda"] if gpu and dlcore.cuda.is_available() else [])
    for dev in devices:
        for name, shape, op, nbytes in _cases(quick):
            a = rng.standard_normal(shape, dtype=np.float32)
            x = dlcore.tensor(a, device=dev, requires_grad=True)
            fwd_only = op is None
            if fwd_only:        # values and int64 indices, no graph
                xd = x.detach()
                fns = {"dlcore": lambda: F.max_pool2d(xd, 2, return_indices=True)}
            else:
                with dlcore.no_grad():
                    yshape = tuple(op(F, x.detach()).shape)
                g = dlcore.tensor(rng.standard_normal(yshape, dtype=np.float32), device=dev)
                fns = {"dlcore": _fwd_bwd(op, F, x, g)}
            if torch is not None:
                tdev = dev if (dev == "cpu" or torch.cuda.is_available()) else None
                if tdev is not None:
                    tx = torch.tensor(a, device=tdev, requires_grad=not fwd_only)
                    tF = torch.nn.functional
                    if fwd_only:
                        fns["torch"] = lambda: tF.max_pool2d(tx, 2, return_indices=True)
                    else:
                        tg = torch.tensor(np.asarray(g.cpu()), device=tdev)
                        fns["torch"] = _fwd_bwd(op, tF, tx, tg)
            if dev == "cuda":
                sync = dlcore.cuda.synchronize
                fns = {k: (lambda f=f: (f(), sync())) for k, f in fns.items()}
            times = interleaved_times(fns, rounds=3 if quick else 7, min_time=0.02 if quick else 0.1)
            med = {k: statistics.median(v) for k, v in times.items()}
            ms = lambda k: f"{med[k] * 1e3:8.3f}ms" if k in med else f"{'-':>10}"  # noqa: E731
            ratio = (f"{median_ratio(times['torch'], times['dlcore']):7.2f}x" if "torch" in times
                     else f"{'-':>8}")
            label = name if dev == "cpu" else name + " [cuda]"
            print(f"{label:>52} {ms('dlcore')} {ms('torch')} {ratio} "
                  f"{nbytes(int(np.prod(shape))) / med['dlcore'] / 1e9:12.1f}", flush=True)

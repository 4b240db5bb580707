"""Convolution benchmark: dlcore's conv2d forward + backward (input, weight and bias gradients)
against torch.nn.functional.conv2d (its default CPU path, oneDNN) on the same float32 data.

Time per training step of one layer = forward + backward; the table prints medians of
interleaved rounds, dlcore's speed-up over torch (median of per-round ratios) and the GFLOP/s
both reach counting 3 x 2 N K OH OW C kh kw / groups flops (forward, input grad, weight grad).

    python -m dlcore.bench.conv [--threads N] [--quick] [--gpu]
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np

import dlcore
import dlcore.nn.functional as F
from .. import _C
from .gemm import machine_line
from .timing import interleaved_times, median_ratio

# (label, N, C, H, W, K, R, stride, padding)
SHAPES = [
    ("resnet-ish 3x3", 32, 64, 32, 32, 64, 3, 1, 1),
    ("resnet-ish 3x3 deep", 16, 128, 16, 16, 128, 3, 1, 1),
    ("LeNet conv1", 64, 1, 28, 28, 6, 5, 1, 0),
    ("LeNet conv2", 64, 6, 14, 14, 16, 5, 1, 0),
    ("ImageNet stem 7x7/2", 8, 3, 224, 224, 64, 7, 2, 3),
]


def _torch():
    try:
        import torch
        return torch
    except Exception:
        return None


def _flops(N, C, H, W, K, R, s, p):
    OH = (H + 2 * p - R) // s + 1
    OW = (W + 2 * p - R) // s + 1
    return 3 * 2.0 * N * K * OH * OW * C * R * R


def run(threads=None, quick=False, gpu=False):
    threads = threads or dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    if gpu == "only":
        return run_gpu(torch)
    print(machine_line(threads))
    print(f"FMA peak (measured): {_C.measure_peak_gflops(threads):.1f} GFLOP/s float32"
          + ("" if torch else "   (torch not installed)"))
    hdr = f"{'shape (N x C x H x W -> K, RxR /s)':>40} {'dlcore ms':>10} {'GFLOP/s':>8}"
    if torch is not None:
        hdr += f" {'torch ms':>9} {'GFLOP/s':>8} {'x torch':>8}"
    print(hdr + "   (forward + backward, medians)")
    rng = np.random.default_rng(0)
    rows = []
    for (label, N, C, H, W, K, R, s, p) in SHAPES:
        x = rng.standard_normal((N, C, H, W), dtype=np.float32)
        w = (rng.standard_normal((K, C, R, R), dtype=np.float32) * 0.1).astype(np.float32)
        b = rng.standard_normal(K, dtype=np.float32)
        OH, OW = (H + 2 * p - R) // s + 1, (W + 2 * p - R) // s + 1
        gy = rng.standard_normal((N, K, OH, OW), dtype=np.float32)
        dx, dw, db = (dlcore.tensor(a, requires_grad=True) for a in (x, w, b))
        dgy = dlcore.tensor(gy)

        def step_dl():
            dx.grad = dw.grad = db.grad = None
            F.conv2d(dx, dw, db, s, p).backward(dgy)

        fns = {"dlcore": step_dl}
        if torch is not None:
            tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
            tgy = torch.tensor(gy)

            def step_t():
                tx.grad = tw.grad = tb.grad = None
                torch.nn.functional.conv2d(tx, tw, tb, s, p).backward(tgy)

            fns["torch"] = step_t
        times = interleaved_times(fns, rounds=3 if quick else 5, min_time=0.05 if quick else 0.15)
        flops = _flops(N, C, H, W, K, R, s, p)
        t_dl = statistics.median(times["dlcore"])
        name = f"{label}: {N}x{C}x{H}x{W}->{K}, {R}x{R}/{s}"
        line = f"{name:>40} {t_dl * 1e3:10.2f} {flops / t_dl / 1e9:8.1f}"
        row = dict(shape=(N, C, H, W, K, R, s, p), dlcore_ms=t_dl * 1e3)
        if torch is not None:
            t_t = statistics.median(times["torch"])
            r = median_ratio(times["torch"], times["dlcore"])
            line += f" {t_t * 1e3:9.2f} {flops / t_t / 1e9:8.1f} {r:7.2f}x"
            row.update(torch_ms=t_t * 1e3, x_torch=r)
        print(line, flush=True)
        rows.append(row)
    if gpu:
        run_gpu(torch)
    return rows


def run_gpu(torch):
    """The same shapes on the GPU (float32, no TF32 on either side), synchronised per step."""
    if not dlcore.cuda.is_available():
        print("GPU: no CUDA device; skipped")
        return
    print(f"GPU: {dlcore.cuda.get_device_name(0)}")
    has_t = torch is not None and torch.cuda.is_available()
    if has_t:
        torch.backends.cudnn.allow_tf32 = False
    print(f"{'shape':>40} {'dlcore ms':>10} {'torch ms':>9} {'x torch':>8}")
    for (label, N, C, H, W, K, R, s, p) in SHAPES:
        OH, OW = (H + 2 * p - R) // s + 1, (W + 2 * p - R) // s + 1
        dx = dlcore.randn(N, C, H, W, device="cuda", requires_grad=True)
        dw = dlcore.randn(K, C, R, R, device="cuda", requires_grad=True)
        db = dlcore.randn(K, device="cuda", requires_grad=True)
        dgy = dlcore.randn(N, K, OH, OW, device="cuda")

        def step_dl():
            dx.grad = dw.grad = db.grad = None
            F.conv2d(dx, dw, db, s, p).backward(dgy)
            dlcore.cuda.synchronize()

        fns = {"dlcore": step_dl}
        if has_t:
            tx = torch.randn(N, C, H, W, device="cuda", requires_grad=True)
            tw = torch.randn(K, C, R, R, device="cuda", requires_grad=True)
            tb = torch.randn(K, device="cuda", requires_grad=True)
            tgy = torch.randn(N, K, OH, OW, device="cuda")

            def step_t():
                tx.grad = tw.grad = tb.grad = None
                torch.nn.functional.conv2d(tx, tw, tb, s, p).backward(tgy)
                torch.cuda.synchronize()

            fns["torch"] = step_t
        times = interleaved_times(fns, rounds=3, min_time=0.1, settle=0)
        t_dl = statistics.median(times["dlcore"])
        line = f"{label:>40} {t_dl * 1e3:10.3f}"
        if has_t:
            line += (f" {statistics.median(times['torch']) * 1e3:9.3f}"
                     f" {median_ratio(times['torch'], times['dlcore']):7.2f}x")
        print(line, flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="python -m dlcore.bench.conv", description=__doc__)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--gpu", action="store_true", help="also time the shapes on a CUDA device")
    args = ap.parse_args()
    run(threads=args.threads, quick=args.quick, gpu=args.gpu)

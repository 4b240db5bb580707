"""Batch norm and local response norm against PyTorch on the same inputs:

    from dlcore.bench import bn; bn.run(threads=2)

Rows: BatchNorm2d training forward+backward (input, weight and bias gradients) and forward
alone, eval forward, BatchNorm1d on (N, C), local response norm forward+backward. Each row
prints the median time per call of both libraries (interleaved round by round, see
timing.interleaved_times), dlcore's speed-up over PyTorch, and dlcore's effective bandwidth
counting the least traffic the op needs: every input read once and every output written once
(batch norm fwd+bwd: x, y, dy, x, dx = 5 tensors; the per-channel vectors are negligible).
gpu=True adds the same rows on CUDA when a GPU is present.
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


def _bn_case(torch, shape, device, training=True, backward=True):
    """{library: fn} running batch norm over `shape` (N, C, *) float32."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    g = rng.standard_normal(shape, dtype=np.float32)
    C = shape[1]
    dx = dlcore.tensor(x, device=device, requires_grad=backward)
    dg = dlcore.tensor(g, device=device)
    w = dlcore.ones(C, device=device, requires_grad=backward)
    b = dlcore.zeros(C, device=device, requires_grad=backward)
    rm, rv = dlcore.zeros(C, device=device), dlcore.ones(C, device=device)
    sync = (lambda: dlcore.cuda.synchronize()) if device == "cuda" else (lambda: None)

    def d():
        dx.grad = w.grad = b.grad = None
        y = F.batch_norm(dx, rm, rv, w, b, training, 0.1, 1e-5)
        if backward:
            y.backward(dg)
        sync()
    fns = {"dlcore": d}
    if torch is not None and (device == "cpu" or torch.cuda.is_available()):
        tdev = torch.device(device)
        tx = torch.tensor(x, device=tdev, requires_grad=backward)
        tg = torch.tensor(g, device=tdev)
        tw = torch.ones(C, device=tdev, requires_grad=backward)
        tb = torch.zeros(C, device=tdev, requires_grad=backward)
        trm, trv = torch.zeros(C, device=tdev), torch.ones(C, device=tdev)
        tf = torch.nn.functional
        tsync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def t():
            tx.grad = tw.grad = tb.grad = None
            y = tf.batch_norm(tx, trm, trv, tw, tb, training, 0.1, 1e-5)
            if backward:
                y.backward(tg)
            tsync()
        fns["torch"] = t
    return fns


def _lrn_case(torch, shape, device, size=5):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape, dtype=np.float32)
    g = rng.standard_normal(shape, dtype=np.float32)
    dx = dlcore.tensor(x, device=device, requires_grad=True)
    dg = dlcore.tensor(g, device=device)
    sync = (lambda: dlcore.cuda.synchronize()) if device == "cuda" else (lambda: None)

    def d():
        dx.grad = None
        F.local_response_norm(dx, size).backward(dg)
        sync()
    fns = {"dlcore": d}
    if torch is not None and (device == "cpu" or torch.cuda.is_available()):
        tx = torch.tensor(x, device=device, requires_grad=True)
        tg = torch.tensor(g, device=device)
        tsync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def t():
            tx.grad = None
            torch.nn.functional.local_response_norm(tx, size).backward(tg)
            tsync()
        fns["torch"] = t
    return fns


def _cases(torch, quick, device):
    img = (8, 64, 32, 32) if quick else (32, 64, 32, 32)
    flat = (1024, 512) if quick else (8192, 512)
    lrn = (4, 64, 16, 16) if quick else (8, 64, 32, 32)
    n, nf, nl = int(np.prod(img)), int(np.prod(flat)), int(np.prod(lrn))
    s = "x".join(map(str, img))
    return [  # (name, bytes moved, {library: fn})
        (f"bn2d train fwd+bwd {s}", 20 * n, _bn_case(torch, img, device)),
        (f"bn2d train fwd {s}", 8 * n, _bn_case(torch, img, device, backward=False)),
        (f"bn2d eval fwd {s}", 8 * n, _bn_case(torch, img, device, training=False, backward=False)),
        (f"bn1d train fwd+bwd {'x'.join(map(str, flat))}", 20 * nf, _bn_case(torch, flat, device)),
        (f"lrn(5) fwd+bwd {'x'.join(map(str, lrn))}", 20 * nl, _lrn_case(torch, lrn, device)),
    ]


def run(threads=None, quick=False, gpu=False):
    threads = threads or dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    print(machine_line(threads))
    devices = ([] if gpu == "only" else ["cpu"]) + (["cuda"] if gpu and dlcore.cuda.is_available() else [])
    print(f"{'op (float32)':>40} {'dev':>4} {'dlcore':>10} {'torch':>10} {'x torch':>8} {'dlcore GB/s':>12}")
    for device in devices:
        for name, nbytes, fns in _cases(torch, quick, device):
            times = interleaved_times(fns, rounds=3 if quick else 7, min_time=0.02 if quick else 0.1)
            med = {k: statistics.median(v) for k, v in times.items()}

            def ms(k):
                return f"{med[k] * 1e3:8.3f}ms" if k in med else f"{'-':>10}"
            ratio = f"{median_ratio(times['torch'], times['dlcore']):7.2f}x" if "torch" in times else f"{'-':>8}"
            print(f"{name:>40} {device:>4} {ms('dlcore')} {ms('torch')} {ratio} "
                  f"{nbytes / med['dlcore'] / 1e9:12.1f}", flush=True)


if __name__ == "__main__":
    run()

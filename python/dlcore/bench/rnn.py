"""Recurrent layers against PyTorch: LSTM / GRU / RNN forward and forward+backward.

    python -m dlcore.bench.rnn [--threads 2] [--quick] [--gpu] [--which lstm,gru]

One layer, T=50 steps, batch 32, 128 inputs -> 256 hidden units (the floors: dlcore at least
1.3x PyTorch for forward and for forward+backward, LSTM and GRU), float32, both libraries in
the same process with identical weights (torch's state_dict loaded into dlcore) and the same
input. "fwd" runs under no_grad (inference); "fwd+bwd" is the training step's share: forward
with autograd, then backward of out.sum() + h_n.sum() (all parameter and input gradients).
Times are interleaved medians (timing.interleaved_times): the libraries take turns round by
round, and the ratio is the median of per-round ratios, so drift on a shared machine hits
both alike. GFLOP/s counts the GEMM work (2 multiply-adds per weight per row and step; the
backward is twice the forward).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import dlcore
from .. import _C
from .gemm import machine_line
from .timing import interleaved_times, median_ratio

SHAPES = [(50, 32, 128, 256)]          # T, N, I, H
QUICK_SHAPES = [(20, 16, 64, 128)]
# On a GPU the shape (floor: fwd+bwd >= 80% of torch's cuDNN), --quick or not.
GPU_SHAPES = [(50, 256, 512, 512)]
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
FLOOR = 1.3


def _torch():
    try:
        import torch
        return torch
    except Exception:
        return None


def _flops(kind, T, N, I, H):
    return 2.0 * T * N * GATES[kind] * H * (I + H)


def _pair(kind, T, N, I, H, device):
    """(dlcore module, torch module or None, dlcore input, torch input), same weights and x."""
    torch = _torch()
    cls = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[kind]
    dm = getattr(dlcore.nn, cls)(I, H).to(device)
    x = np.random.default_rng(0).standard_normal((T, N, I)).astype(np.float32)
    dx = dlcore.tensor(x, device=device)
    if torch is None or (device != "cpu" and not torch.cuda.is_available()):
        return dm, None, dx, None
    tm = getattr(torch.nn, cls)(I, H)
    dm.load_state_dict({k: dlcore.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()})
    return dm, tm.to(device), dx, torch.from_numpy(x).to(device)


def _runners(kind, dm, tm, dx, tx):
    torch = _torch()

    def dl_fwd():
        with dlcore.no_grad():
            out, _ = dm(dx)
        return out

    def dl_train():
        xg = dx.detach().requires_grad_(True)
        out, st = dm(xg)
        h = st[0] if kind == "lstm" else st
        (out.sum() + h.sum()).backward()
        for p in dm.parameters():
            p.grad = None

    fns = {"fwd": {"dlcore": dl_fwd}, "fwd+bwd": {"dlcore": dl_train}}
    if tm is not None:
        def t_fwd():
            with torch.no_grad():
                out, _ = tm(tx)
            return out

        def t_train():
            xg = tx.detach().requires_grad_(True)
            out, st = tm(xg)
            h = st[0] if kind == "lstm" else st
            (out.sum() + h.sum()).backward()
            for p in tm.parameters():
                p.grad = None
        fns["fwd"]["torch"] = t_fwd
        fns["fwd+bwd"]["torch"] = t_train
    return fns


def run(threads=None, quick=False, gpu=False, which="lstm"):
    """Prints one table row per (cell, shape, mode): dlcore ms, torch ms, speedup, GFLOP/s.
    which: "lstm", "gru", "rnn", a comma-separated list, or "all"."""
    threads = threads or 2
    dlcore.set_num_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    kinds = list(GATES) if which == "all" else [k.strip() for k in str(which).split(",")]
    for k in kinds:
        if k not in GATES:
            raise ValueError(f"bench rnn: unknown cell {k!r} (expected lstm, gru, rnn or all)")
    shapes = QUICK_SHAPES if quick else SHAPES
    rounds = 3 if quick else 5
    print(machine_line(threads))
    print(f"recurrent layers, float32, 1 layer, interleaved medians of {rounds} rounds; "
          f"speedup = torch time / dlcore time (floor {FLOOR}x on the CPU; on a GPU, LSTM fwd+bwd >= 0.8x cuDNN)")
    # The FMA peak puts both libraries on one scale: "floor needs" is the share of the peak a
    # run FLOOR times faster than torch's median would have to sustain (past ~90% it cannot).
    peak = _C.measure_peak_gflops(threads)
    print(f"FMA peak (measured, CPU): {peak:.1f} GFLOP/s float32; % columns are shares of it")
    head = (f"{'cell':5} {'T,N,I->H':>16} {'mode':8} {'dlcore ms':>10} {'torch ms':>10} {'speedup':>8} "
            f"{'GFLOP/s':>8} {'dl %pk':>7} {'torch %pk':>9} {'floor needs':>11}")
    print(head)
    print("-" * len(head))
    devices = ([] if gpu == "only" else ["cpu"]) + (["cuda"] if gpu and dlcore.cuda.is_available() else [])
    for device in devices:
        for kind in kinds:
            for (T, N, I, H) in (GPU_SHAPES if device == "cuda" else shapes):
                dm, tm, dx, tx = _pair(kind, T, N, I, H, device)
                sync = (lambda: dlcore.cuda.synchronize()) if device == "cuda" else (lambda: None)
                for mode, fns in _runners(kind, dm, tm, dx, tx).items():
                    if device == "cuda":
                        # cuDNN's RNNs use TF32 tensor cores by default: the "torch" column is
                        # cuDNN in float32 (allow_tf32 off, as dlcore's kernels compute), and
                        # "torch tf32" its default, printed on a second line.
                        def with_tf32(f, on):
                            def g():
                                torch.backends.cudnn.allow_tf32 = on
                                f()
                                torch.cuda.synchronize()
                            return g
                        if "torch" in fns:
                            fns["torch tf32"] = with_tf32(fns["torch"], True)
                            fns["torch"] = with_tf32(fns["torch"], False)
                        fns["dlcore"] = (lambda f=fns["dlcore"]: (f(), sync()))
                    t = interleaved_times(fns, rounds=rounds, min_time=0.05 if quick else 0.2)
                    d = float(np.median(t["dlcore"]))
                    flops = _flops(kind, T, N, I, H) * (3 if mode == "fwd+bwd" else 1)
                    pct = (lambda s: f"{100 * flops / s / 1e9 / peak:6.1f}%") if device == "cpu" else (lambda s: "")
                    if "torch" in t:
                        tt = float(np.median(t["torch"]))
                        sp = median_ratio(t["torch"], t["dlcore"])
                        tcol, scol = f"{tt * 1e3:10.2f}", f"{sp:7.2f}x"
                        tpct = f" {pct(tt):>9} {pct(tt / FLOOR):>11}" if device == "cpu" else ""
                    else:
                        tcol, scol, tpct = f"{'-':>10}", f"{'-':>8}", ""
                    shape = f"{T},{N},{I}->{H}" + ("" if device == "cpu" else " cuda")
                    print(f"{kind:5} {shape:>16} {mode:8} {d * 1e3:10.2f} {tcol} {scol} "
                          f"{flops / d / 1e9:8.1f} {pct(d):>7}{tpct}")
                    if "torch tf32" in t:
                        tt = float(np.median(t["torch tf32"]))
                        print(f"{kind:5} {shape:>16} {mode:8} {'':>10} {tt * 1e3:10.2f} "
                              f"{median_ratio(t['torch tf32'], t['dlcore']):7.2f}x   (torch: cuDNN with TF32, its default)")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m dlcore.bench.rnn", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--which", default="lstm,gru")
    args = p.parse_args(argv)
    if args.threads and os.environ.get("DLCORE_BENCH_THREADS") != str(args.threads):
        env = dict(os.environ, DLCORE_BENCH_THREADS=str(args.threads),
                   OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
                   OPENBLAS_NUM_THREADS=str(args.threads))
        os.execve(sys.executable, [sys.executable, "-m", "dlcore.bench.rnn"] +
                  (argv if argv is not None else sys.argv[1:]), env)
    run(threads=args.threads, quick=args.quick, gpu=args.gpu, which=args.which)


if __name__ == "__main__":
    main()

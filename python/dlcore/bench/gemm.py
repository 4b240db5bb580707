"""GEMM benchmark: dlcore.matmul against numpy.matmul and torch.mm on the same inputs."""
from __future__ import annotations

import datetime
import os
import platform
import statistics

import numpy as np

import dlcore
from .. import _C
from .timing import interleaved_times, median_ratio, median_time

CPU_SHAPES = [  # (M, K, N)
    (64, 64, 64), (256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
    (64, 784, 256), (256, 256, 10), (64, 4096, 4096), (4096, 64, 4096),
]
# Weight gradients dW = dY^T X (A a transposed view, K the batch): the char-LM head's
# (64 classes, 1600 tokens, 128 features) and the MLP's first layer (256 x 64 x 784).
TRANS_A_SHAPES = [(64, 1600, 128), (256, 64, 784)]
GPU_SHAPES = [(n, n, n) for n in (1024, 2048, 4096, 8192)]


def _torch():
    try:
        import torch
        return torch
    except Exception:
        return None


def machine_line(threads):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = dlcore.build_info()
    return (f"{datetime.date.today()}  {cpu}, {os.cpu_count()} logical CPUs, {threads} threads, "
            f"dlcore {info['version']} (gemm {info.get('gemm_path')}, elementwise {info['cpu_path']}), numpy {np.__version__}")


def update_stream_ceiling(threads):
    """(GB/s, how): the best way to run Adam's memory pattern that `measure_update_stream_gbps` found."""
    r = _C.measure_update_stream_gbps(threads)
    how = max(r, key=r.get)
    return r[how], how, r


def print_peak(threads=None):
    threads = threads or dlcore.get_num_threads()
    print(f"measured FMA peak: {_C.measure_peak_gflops(threads):.1f} GFLOP/s float32 on {threads} threads")
    triad = _C.measure_triad_gbps(threads)
    print(f"measured memory bandwidth (STREAM triad a = b + s*c, float32, best pass): {triad:.1f} GB/s "
          f"counted as STREAM does (12 bytes/element); {triad * 16 / 12:.1f} GB/s really moved "
          f"(16 bytes/element: the store's write-allocate read of a)")
    best, how, r = update_stream_ceiling(threads)
    print(f"optimizer-shaped stream (Adam's pattern: 4 float32 streams read, 3 written in place, "
          f"28 bytes/element, no division), best pass: " +
          ", ".join(f"{k.replace('_', ' ')} {v:.1f}" for k, v in r.items()) +
          f" GB/s -> ceiling {best:.1f} GB/s on {threads} threads")


def run(threads=None, quick=False, gpu=False):
    threads = threads or dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    if gpu == "only":
        return run_gpu(torch)
    peak = _C.measure_peak_gflops(threads)
    print(machine_line(threads))
    print(f"FMA peak (measured): {peak:.1f} GFLOP/s float32" + ("" if torch else "   (torch not installed)"))
    hdr = f"{'M x K x N':>18} {'dlcore':>9} {'numpy':>9} {'x numpy':>8}"
    if torch is not None:
        hdr += f" {'torch':>9} {'x torch':>8}"
    print(hdr + f" {'% peak':>7} {'np %pk':>7}   (GFLOP/s, medians; % of the FMA peak, half of it for float64)")
    rng = np.random.default_rng(0)
    shapes = CPU_SHAPES[:3] + CPU_SHAPES[5:7] if quick else CPU_SHAPES
    rows = []
    # float64 at 1024^3 last (the path gradcheck and float64 training use; its peak is half).
    cases = ([(s, np.float32, False) for s in shapes] +
             ([] if quick else [((1024, 1024, 1024), np.float64, False)] +
              [(s, np.float32, True) for s in TRANS_A_SHAPES]))
    for (m, k, n), dt, trans_a in cases:
        # trans_a: A is the transposed view of a stored (K, M) array, as in dY^T X
        a = rng.standard_normal((k, m)).astype(dt).T if trans_a else rng.standard_normal((m, k)).astype(dt)
        b = rng.standard_normal((k, n)).astype(dt)
        da = dlcore.from_numpy(a.T).t() if trans_a else dlcore.from_numpy(a)
        db = dlcore.from_numpy(b)
        flops = 2.0 * m * n * k
        fns = {"dlcore": lambda: dlcore.matmul(da, db), "numpy": lambda: np.matmul(a, b)}
        if torch is not None:
            ta = torch.from_numpy(a.T).t() if trans_a else torch.from_numpy(a)
            tb = torch.from_numpy(b)
            fns["torch"] = lambda: torch.mm(ta, tb)
        times = interleaved_times(fns, rounds=3 if quick else 7, min_time=0.03 if quick else 0.1)
        gf = {name: flops / statistics.median(t) / 1e9 for name, t in times.items()}
        # Ratios: median of the per-round ratios (both sides measured seconds apart).
        r_np = median_ratio(times["numpy"], times["dlcore"])
        g_dl, g_np = gf["dlcore"], gf["numpy"]
        label = f"{m}x{k}x{n}" + (" f64" if dt == np.float64 else "") + (" A^T" if trans_a else "")
        line = f"{label:>18} {g_dl:9.1f} {g_np:9.1f} {r_np:7.2f}x"
        row = dict(shape=(m, k, n), dtype=np.dtype(dt).name, trans_a=trans_a, dlcore=g_dl, numpy=g_np,
                   x_numpy=r_np)
        if torch is not None:
            r_t = median_ratio(times["torch"], times["dlcore"])
            line += f" {gf['torch']:9.1f} {r_t:7.2f}x"
            row["torch"] = gf["torch"]
            row["x_torch"] = r_t
        # float64 FMAs do half the flops of float32 ones per instruction
        pk = peak if dt == np.float32 else peak / 2
        print(line + f" {100 * g_dl / pk:6.1f}% {100 * g_np / pk:6.1f}%", flush=True)
        rows.append(row)
    # The machine's speed drifts by ~10% over minutes: the peak measured again after the table
    # says how far the % columns could be off (they use the first measurement).
    print(f"FMA peak measured again after the table: {_C.measure_peak_gflops(threads):.1f} GFLOP/s")
    if gpu:
        run_gpu(torch)
    return rows


def run_gpu(torch):
    """GPU GEMMs against torch.mm, TF32 off and on, in two layouts: A @ B with both row-major
    (B is read along n: the wgmma kernel transposes it on the way into shared memory) and
    A @ W^T with W stored (N, K) as in a Linear layer (both operands contiguous along k)."""
    if not dlcore.cuda.is_available():
        print("GPU: no CUDA device; skipped")
        return
    print(f"GPU: {dlcore.cuda.get_device_name(0)}")
    print(f"{'n^3':>12} {'dlcore fp32':>12} {'torch fp32':>11} {'ratio':>6} {'dlcore tf32':>12} "
          f"{'torch tf32':>11} {'ratio':>6}  (TFLOP/s)")
    has_t = torch is not None and torch.cuda.is_available()
    for (m, k, n) in GPU_SHAPES:
        for layout in ("A @ B", "A @ W^T"):
            a = dlcore.randn(m, k, device="cuda")
            b = dlcore.randn(k, n, device="cuda") if layout == "A @ B" else dlcore.randn(n, k, device="cuda").t()
            flops = 2.0 * m * n * k
            res = {}
            for tf32 in (False, True):
                dlcore.backends.cuda.matmul.allow_tf32 = tf32

                def f():
                    dlcore.matmul(a, b)
                    dlcore.cuda.synchronize()
                res[("dl", tf32)] = flops / median_time(f, min_time=0.3) / 1e12
                if has_t:
                    torch.backends.cuda.matmul.allow_tf32 = tf32
                    ta = torch.randn(m, k, device="cuda")
                    tb = torch.randn(k, n, device="cuda") if layout == "A @ B" else torch.randn(n, k, device="cuda").t()

                    def g():
                        torch.mm(ta, tb)
                        torch.cuda.synchronize()
                    res[("t", tf32)] = flops / median_time(g, min_time=0.3) / 1e12
            dlcore.backends.cuda.matmul.allow_tf32 = False
            t32, tt = res.get(("t", False), float("nan")), res.get(("t", True), float("nan"))
            label = f"{m} {layout}"
            print(f"{label:>12} {res[('dl', False)]:12.1f} {t32:11.1f} {res[('dl', False)] / t32:6.2f} "
                  f"{res[('dl', True)]:12.1f} {tt:11.1f} {res[('dl', True)] / tt:6.2f}", flush=True)

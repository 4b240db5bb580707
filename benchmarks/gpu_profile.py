"""Where the GPU time of dlcore's layers goes, kernel by kernel (run by benchmarks/gpu_check.sh).

torch's profiler records, through CUPTI, every kernel launched in the process -- dlcore's too --
so one short run per workload gives a table of dlcore's kernels by total GPU time: which GEMM
path ran (gemm_simt / gemm_splitk_reduce / gemm_tf32 / gemm_wgmma), how long the pointwise
kernels, im2col / col2im and the transposes take, and how many launches a step makes.

    python benchmarks/gpu_profile.py [--rows 12]

Workloads (float32, TF32 off unless named): LSTM and GRU T=50, batch 256, 512 -> 512 forward +
backward; conv2d forward + backward on the bench's shapes; GEMM 4096^3 in both layouts with
TF32 on. Needs torch with CUDA (the profiler) and a GPU.
"""
import argparse

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F


def _lstm(kind):
    T, N, I, H = 50, 256, 512, 512
    m = getattr(nn, kind)(I, H).to("cuda")
    x = dlcore.randn(T, N, I, device="cuda", requires_grad=True)

    def step():
        out, st = m(x)
        h = st[0] if kind == "LSTM" else st
        (out.sum() + h.sum()).backward()
        x.grad = None
        for p in m.parameters():
            p.grad = None
    return step


def _conv(N, C, H, W, K, R, s, p):
    x = dlcore.randn(N, C, H, W, device="cuda", requires_grad=True)
    w = dlcore.randn(K, C, R, R, device="cuda", requires_grad=True)
    b = dlcore.randn(K, device="cuda", requires_grad=True)

    def step():
        y = F.conv2d(x, w, b, s, p)
        y.backward(dlcore.ones(*y.shape, device="cuda"))
        x.grad = w.grad = b.grad = None
    return step


def _gemm(layout):
    n = 4096
    a = dlcore.randn(n, n, device="cuda")
    b = dlcore.randn(n, n, device="cuda") if layout == "A @ B" else dlcore.randn(n, n, device="cuda").t()

    def step():
        dlcore.backends.cuda.matmul.allow_tf32 = True
        dlcore.matmul(a, b)
        dlcore.backends.cuda.matmul.allow_tf32 = False
    return step


WORKLOADS = [
    ("LSTM T=50 N=256 512->512 fwd+bwd", lambda: _lstm("LSTM")),
    ("GRU T=50 N=256 512->512 fwd+bwd", lambda: _lstm("GRU")),
    ("conv resnet-ish 3x3 32x64x32x32->64 fwd+bwd", lambda: _conv(32, 64, 32, 32, 64, 3, 1, 1)),
    ("conv LeNet conv1 64x1x28x28->6 5x5 fwd+bwd", lambda: _conv(64, 1, 28, 28, 6, 5, 1, 0)),
    ("conv stem 7x7/2 8x3x224x224->64 fwd+bwd", lambda: _conv(8, 3, 224, 224, 64, 7, 2, 3)),
    ("GEMM 4096^3 TF32, A @ B", lambda: _gemm("A @ B")),
    ("GEMM 4096^3 TF32, A @ W^T", lambda: _gemm("A @ W^T")),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=12)
    args = ap.parse_args()
    import torch
    from torch.profiler import ProfilerActivity, profile
    if not (dlcore.cuda.is_available() and torch.cuda.is_available()):
        raise SystemExit("gpu_profile: needs a GPU visible to dlcore and to torch")
    torch.cuda.init()
    for name, make in WORKLOADS:
        step = make()
        for _ in range(3):   # warm-up: allocator caches, the wgmma self-check, module loading
            step()
        dlcore.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                step()
            dlcore.cuda.synchronize()
        events = [e for e in prof.key_averages() if e.device_type.name == "CUDA" or
                  getattr(e, "self_device_time_total", 0) > 0]
        key = "self_device_time_total" if events and hasattr(events[0], "self_device_time_total") else "self_cuda_time_total"
        events.sort(key=lambda e: -getattr(e, key))
        total = sum(getattr(e, key) for e in events)
        print(f"\n== {name}: {total / 5 / 1e3:.3f} ms of kernels per step (5 steps)")
        print(f"{'kernel':<90} {'calls/step':>10} {'ms/step':>9} {'share':>6}")
        for e in events[:args.rows]:
            t = getattr(e, key)
            print(f"{e.key[:90]:<90} {e.count / 5:10.1f} {t / 5 / 1e3:9.3f} {100 * t / max(total, 1):5.1f}%")


if __name__ == "__main__":
    main()

"""One-thread A/B of two builds of dlcore's kernels (CPU time, interleaved processes).

    python tools/ab_kernels.py --a /tmp/pkgA --b /tmp/pkgB [--rounds 5] [--only "mm ,conv"]

--a / --b: directories that each hold a `dlcore` package (python/dlcore plus its _C*.so). Each
round runs every case once in a fresh process of A, then of B (OMP_NUM_THREADS=1); a case is
timed with time.thread_time over ~0.15 s, 7 times. Reported per case: the median over rounds
of the per-process medians, and the minimum over everything (on a shared machine the minimum
is the steadier estimate: other jobs only add time). Running A against a copy of itself gives
the noise floor of the machine at that moment (2026-12-03, loaded 2-vCPU VM: +-20% on medians,
+-4% on minima).
"""
import json
import os
import statistics
import subprocess
import sys
import time


def cases():
    import numpy as np
    import dlcore
    import dlcore.nn as nn
    import dlcore.nn.functional as F
    dlcore.set_num_threads(1)
    rng = np.random.default_rng(0)

    def T(*shape, dtype=np.float32, grad=False):
        t = dlcore.from_numpy(rng.standard_normal(shape).astype(dtype))
        if grad:
            t.requires_grad_(True)
        return t

    def fb(mod, x):
        def run():
            mod(x).sum().backward()
        return run
    cases = {}
    # gemm (gemm.cpp driver + avx512 kernels)
    for (m, k, n) in [(256, 256, 256), (64, 784, 256), (100, 300, 77), (1024, 1024, 1024), (256, 256, 10), (13, 64, 50)]:
        a, b = T(m, k), T(k, n)
        cases[f"mm {m}x{k}x{n}"] = (lambda a=a, b=b: a @ b)
    a64, b64 = T(1024, 1024, dtype=np.float64), T(1024, 1024, dtype=np.float64)
    cases["mm f64 1024"] = lambda: a64 @ b64
    a64s, b64s = T(200, 300, dtype=np.float64), T(300, 90, dtype=np.float64)
    cases["mm f64 200x300x90"] = lambda: a64s @ b64s
    lin = nn.Linear(512, 1000); xl = T(64, 512, grad=True)
    cases["linear fwd+bwd"] = fb(lin, xl)
    # conv (conv.cpp, conv_winograd.cpp, conv_depthwise.cpp, conv_direct*.cpp, conv_transpose)
    c3 = nn.Conv2d(64, 64, 3, padding=1); xc = T(8, 64, 28, 28, grad=True)
    cases["conv3x3 64 fwd+bwd"] = fb(c3, xc)
    c1 = nn.Conv2d(64, 128, 1); cases["conv1x1 fwd+bwd"] = fb(c1, xc)
    cs = nn.Conv2d(3, 32, 3, stride=2, padding=1); xs = T(16, 3, 64, 64, grad=True)
    cases["conv stem s2 fwd+bwd"] = fb(cs, xs)
    cdw = nn.Conv2d(64, 64, 3, padding=1, groups=64); cases["conv depthwise fwd+bwd"] = fb(cdw, xc)
    ct = nn.ConvTranspose2d(64, 32, 2, stride=2); cases["conv_transpose fwd+bwd"] = fb(ct, xc)
    # pool / bn / layernorm / softmax
    xp = T(16, 64, 56, 56, grad=True)
    cases["maxpool fwd+bwd"] = fb(nn.MaxPool2d(3, 2, 1), xp)
    cases["avgpool fwd+bwd"] = fb(nn.AvgPool2d(2), xp)
    cases["batchnorm train fwd+bwd"] = fb(nn.BatchNorm2d(64), xp)
    xln = T(64 * 32, 768, grad=True)
    cases["layernorm fwd+bwd"] = fb(nn.LayerNorm(768), xln)
    xsm = T(1024, 1000, grad=True)
    cases["log_softmax fwd+bwd"] = lambda: F.log_softmax(xsm, dim=1).sum().backward()
    cases["softmax fwd"] = lambda: F.softmax(xsm, dim=1)
    tgt = dlcore.tensor(rng.integers(0, 1000, 1024))
    cases["cross_entropy fwd+bwd"] = lambda: F.cross_entropy(xsm, tgt).backward()
    # reduce / index / sort / scan / scatter
    xr = T(4096, 1024)
    cases["sum all"] = lambda: xr.sum()
    cases["sum dim0"] = lambda: xr.sum(dim=0)
    cases["mean dim1"] = lambda: xr.mean(dim=1)
    cases["max dim1"] = lambda: xr.max(dim=1)
    cases["argmax dim1"] = lambda: xr.argmax(dim=1)
    ids = dlcore.tensor(rng.integers(0, 4096, 20000))
    cases["index_select"] = lambda: xr.index_select(0, ids)
    xso = T(256, 4096)
    cases["sort dim1"] = lambda: xso.sort(dim=1)
    cases["topk 10"] = lambda: xso.topk(10, dim=1)
    cases["cumsum dim1"] = lambda: xso.cumsum(dim=1)
    gi = dlcore.tensor(rng.integers(0, 1024, (4096, 64)))
    cases["gather"] = lambda: xr.gather(1, gi)
    # rnn
    lstm = nn.LSTM(128, 256, batch_first=True); xlstm = T(16, 20, 128, grad=True)
    cases["lstm fwd+bwd"] = lambda: lstm(xlstm)[0].sum().backward()
    gru = nn.GRU(128, 256, batch_first=True)
    cases["gru fwd+bwd"] = lambda: gru(xlstm)[0].sum().backward()
    # dropout / random / upsample / activations
    xd = T(4 * 1024 * 1024)
    cases["dropout"] = lambda: F.dropout(xd, 0.5, True)
    cases["randn 4M"] = lambda: dlcore.randn(4 * 1024 * 1024)
    xu = T(8, 32, 64, 64)
    cases["upsample nearest x2"] = lambda: F.interpolate(xu, scale_factor=2, mode="nearest")
    cases["upsample bilinear x2"] = lambda: F.interpolate(xu, scale_factor=2, mode="bilinear", align_corners=False)
    cases["gelu"] = lambda: F.gelu(xd)
    cases["relu fwd"] = lambda: F.relu(xd)
    # optim (optim.cpp f64 path, f32 dispatch)
    for dt, nm in [(np.float32, "f32"), (np.float64, "f64")]:
        p = [nn.Parameter(T(1 << 20, dtype=dt))]
        p[0].grad = T(1 << 20, dtype=dt)
        for oname, ctor in [("adam", lambda p: dlcore.optim.Adam(p, lr=1e-3)), ("sgd mom", lambda p: dlcore.optim.SGD(p, lr=1e-3, momentum=0.9))]:
            o = ctor(p)
            cases[f"{oname} {nm} 1M"] = o.step

    return cases


def measure(only):
    out = {}
    for name, f in cases().items():
        if only and not any(s in name for s in only.split(",")):
            continue
        f(); f()
        t0 = time.thread_time(); f(); one = max(time.thread_time() - t0, 1e-5)
        reps = max(3, min(200, int(0.15 / one)))
        ts = []
        for _ in range(7):
            t0 = time.thread_time()
            for _ in range(reps):
                f()
            ts.append((time.thread_time() - t0) / reps)
        out[name] = [sorted(ts)[3], min(ts)]
    return out


def main():
    import argparse
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--a", required=True); p.add_argument("--b", required=True)
    p.add_argument("--rounds", type=int, default=5); p.add_argument("--only", default="")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        json.dump(measure(args.only), sys.stdout)
        return
    res = {"A": [], "B": []}
    for _ in range(args.rounds):
        for v, path in (("A", args.a), ("B", args.b)):
            env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")
            r = subprocess.run([sys.executable, __file__, "--a", args.a, "--b", args.b, "--only", args.only, "--child"],
                               env=env, capture_output=True, text=True, check=True)
            res[v].append(json.loads(r.stdout))
    A, B = res["A"], res["B"]
    print(f"{'case':28s} {'A med ms':>9s} {'B med ms':>9s} {'B/A':>6s}   {'A min':>9s} {'B min':>9s} {'B/A':>6s}")
    for k in A[0]:
        a = statistics.median(d[k][0] for d in A); b = statistics.median(d[k][0] for d in B)
        amin = min(d[k][1] for d in A); bmin = min(d[k][1] for d in B)
        print(f"{k:28s} {a*1e3:9.3f} {b*1e3:9.3f} {b/a:6.3f}   {amin*1e3:9.3f} {bmin*1e3:9.3f} {bmin/amin:6.3f}")


if __name__ == "__main__":
    main()

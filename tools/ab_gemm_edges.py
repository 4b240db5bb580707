"""One-thread A/B of two builds' float32 GEMM on edge-heavy shapes, both loaded in ONE process.

    python tools/ab_gemm_edges.py SO_A SO_B [--rounds 15]

SO_A / SO_B: two builds of the extension (_C*.so). Both are imported side by side (as
extension modules of the same name from different files), so A and B run interleaved in the
same process on the same inputs, call by call: a busy neighbour on a shared machine slows
both alike. Each case is timed with time.thread_time (CPU time of this thread, OMP 1 thread)
over ~0.05 s, alternating A and B, `rounds` times; printed: medians of A and B, B/A of the
medians and of the minima, and whether the two results agree bit for bit.
The shapes: every M from 1 to 12 (the last row panel of a 12-row tile is M mod 12 rows) at
K = N = 256, M = 10 and 11 with a long K, and the course's shapes (MNIST MLP 64x784x256, a
10-class head 256x256x10, 100x300x77).
"""
import argparse
import importlib.machinery
import importlib.util
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np


def load(path, tag):
    loader = importlib.machinery.ExtensionFileLoader("_C", path)
    spec = importlib.util.spec_from_file_location("_C", path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    mod.set_num_threads(1)
    return mod


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a"); p.add_argument("b"); p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args()
    mods = [load(args.a, "A"), load(args.b, "B")]
    rng = np.random.default_rng(0)
    shapes = [(m, 256, 256) for m in range(1, 13)] + [(10, 2048, 256), (11, 2048, 64), (23, 512, 512),
                                                      (64, 784, 256), (256, 256, 10), (100, 300, 77)]
    print(f"{'case':>16} {'A us':>9} {'B us':>9} {'B/A med':>8} {'B/A min':>8}")
    for (m, k, n) in shapes:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        ts = [(mod, mod.from_numpy(a), mod.from_numpy(b)) for mod in mods]
        outs = [mod.to_numpy(mod.matmul(x, y)) for mod, x, y in ts]
        same = np.array_equal(outs[0], outs[1])
        t0 = time.perf_counter(); reps = 0
        while time.perf_counter() - t0 < 0.02:
            ts[0][0].matmul(ts[0][1], ts[0][2]); reps += 1
        reps = max(1, reps * 2)
        res = [[], []]
        for r in range(args.rounds):
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                mod, x, y = ts[i]
                s = time.thread_time()
                for _ in range(reps):
                    mod.matmul(x, y)
                res[i].append((time.thread_time() - s) / reps * 1e6)
        ma, mb = statistics.median(res[0]), statistics.median(res[1])
        print(f"{m:>4}x{k}x{n:<6} {ma:9.2f} {mb:9.2f} {mb / ma:8.3f} {min(res[1]) / min(res[0]):8.3f}"
              f"{'' if same else '  (results differ)'}")


if __name__ == "__main__":
    main()

"""Bad input must raise a Python exception, never crash: a stress check for the C++ -> Python
error path, run by benchmarks/gpu_check.sh on machines with a GPU.

On one machine with a GPU (H200, GCC 13.3 from /opt/gcc, Python 3.12, pybind11 3.1, torch 2.11;
2026-12-04) a third to a half of the test suite's bad-input cases segfaulted the process instead
of raising -- a different subset in each run, on CPU tensors as well as CUDA ones -- while every
numerical test passed and the same build never crashed on a machine without a GPU (GCC 12.2).
Each phase below runs in its own process so that one crash does not hide the others:

    python tests/cuda_standalone/exception_repro.py PHASE [N]

  plain     N bad-input errors on CPU tensors: nothing else imported or initialised
  cuda      the same after dlcore has initialised CUDA (allocation, a kernel, a copy back)
  cuda-ops  the same after CUDA ops whose bad-input checks run on the device (gather,
            cross_entropy, max_unpool2d): their error paths copy a flag back to the host
  torch     the same with torch (and its CUDA context) imported first
  threads   the same after CUDA work, with two more Python threads alive (one blocked reading a
            pipe, as pytest-xdist's worker channel is; one busy), as in the test suite's workers
  all       each phase above in a subprocess; prints one line per phase and exits non-zero if
            any crashed

Messages with and without shapes are mixed (the crashes seen all built a shape string), and
the process prints how far it got, flushing, so a crash still says where it stopped.
"""
import os
import subprocess
import sys


def _throw_many(n):
    import dlcore
    a, b = dlcore.ones(2, 3), dlcore.ones(4)
    kinds = [
        ("broadcast (shape string)", lambda: a + b, ValueError),
        ("matmul (shape string)", lambda: a @ a, ValueError),
        ("item (shape string)", lambda: a.item(), ValueError),
        ("negative size (shape string)", lambda: dlcore.empty(-1, 2), ValueError),
        ("alloc (no shape string)", lambda: dlcore.empty(1 << 58), MemoryError),
        ("index (number only)", lambda: dlcore.index_select(a, 0, [0, 9]), IndexError),
    ]
    for i in range(n):
        name, f, exc = kinds[i % len(kinds)]
        if i < len(kinds) or i % 500 == 0:
            print(f"  throw {i}: {name}", flush=True)
        try:
            f()
        except exc:
            pass
        else:
            raise AssertionError(f"{name}: did not raise {exc.__name__}")


def _init_cuda():
    import dlcore
    x = dlcore.randn(1000, 100, device="cuda")
    y = (x @ x.T).sum()
    print(f"  cuda initialised: sum = {float(y.cpu()):.3f}", flush=True)


def _cuda_ops():
    import numpy as np

    import dlcore
    import dlcore.nn.functional as F
    x = dlcore.randn(7, 33, 5, device="cuda")
    idx = dlcore.tensor(np.random.default_rng(0).integers(0, 33, size=(7, 40, 5)), device="cuda")
    dlcore.gather(x, 1, idx)
    for f, exc in [(lambda: dlcore.gather(x, 1, idx + 40), IndexError),
                   (lambda: F.cross_entropy(dlcore.randn(37, 11, device="cuda"),
                                            dlcore.tensor(np.full(37, 300), device="cuda")), IndexError)]:
        try:
            f()
        except exc:
            pass
    y, i = F.max_pool2d(dlcore.randn(2, 3, 11, 12, device="cuda"), 2, return_indices=True)
    bad = i.cpu().numpy().copy()
    bad[0, 0, 0, 0] = 10 ** 6
    try:
        F.max_unpool2d(y, dlcore.tensor(bad, device="cuda"), 2)
    except ValueError:
        pass
    print("  cuda ops with device-side checks: done", flush=True)


def run_phase(phase, n):
    if phase == "torch":
        import torch
        if torch.cuda.is_available():
            torch.randn(100, device="cuda").sum().item()
        print(f"  torch {torch.__version__} imported", flush=True)
    if phase in ("cuda", "cuda-ops", "torch", "threads"):
        _init_cuda()
    if phase == "threads":
        import threading
        import time
        r, _w = os.pipe()
        threading.Thread(target=os.read, args=(r, 1), daemon=True).start()
        threading.Thread(target=lambda: [sum(range(1000)) or time.sleep(0) for _ in iter(int, 1)],
                         daemon=True).start()
    if phase == "cuda-ops":
        _cuda_ops()
    _throw_many(n)
    print(f"{phase}: {n} bad-input errors raised, no crash", flush=True)


def main():
    phase = sys.argv[1] if len(sys.argv) > 1 else "all"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    if phase != "all":
        run_phase(phase, n)
        return
    crashed = []
    for p in ("plain", "cuda", "cuda-ops", "torch", "threads"):
        r = subprocess.run([sys.executable, "-X", "faulthandler", __file__, p, str(n)],
                           capture_output=True, text=True, timeout=300, env=dict(os.environ))
        status = "ok" if r.returncode == 0 else f"CRASHED (exit {r.returncode})"
        last = [ln for ln in r.stdout.splitlines() if ln.strip()][-1:] or [""]
        print(f"{p:9} {status}; last line: {last[0]}", flush=True)
        if r.returncode != 0:
            crashed.append(p)
            sys.stdout.write("".join("    | " + ln + "\n" for ln in r.stderr.splitlines()[:12]))
    sys.exit(1 if crashed else 0)


if __name__ == "__main__":
    main()

"""Memory-bound kernels against NumPy and PyTorch on the same inputs: dropout (forward), a full
float32 sum and column sums, index_select (an embedding lookup) and its backward (index_add_,
repeated indices accumulating), and the transcendental elementwise ops and activations (exp,
log, sigmoid, tanh, softplus, tanh-GELU), whose cost is the polynomial, not the memory traffic,
and the cross-entropy loss (row max, log-sum-exp, and its gradient).

    python -m dlcore.bench ops [--threads N] [--quick]

Each row prints the median time per call of every library (interleaved round by round, see
timing.interleaved_times), dlcore's speed-up over each, and dlcore's effective bandwidth
counting each input read once and each output written once.
"""
from __future__ import annotations

import statistics

import numpy as np

import dlcore
from .. import _C
from ..nn import functional as F
from .gemm import machine_line
from .timing import interleaved_times, median_ratio


def _torch():
    try:
        import torch
        return torch
    except Exception:
        return None


def _cases(torch, n, rows, vocab, dim, batch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n, dtype=np.float32)
    m = rng.standard_normal((rows, 1024), dtype=np.float32)
    tall = rng.standard_normal((1600, 64), dtype=np.float32)   # a Linear bias gradient: 1600 tokens
    table = rng.standard_normal((vocab, dim), dtype=np.float32)
    ids = rng.integers(0, vocab, batch)
    grad = rng.standard_normal((batch, dim), dtype=np.float32)
    dx, dm, dtab = dlcore.from_numpy(x), dlcore.from_numpy(m), dlcore.from_numpy(table)
    dtall = dlcore.from_numpy(tall)
    dids, dgrad = dlcore.tensor(ids), dlcore.from_numpy(grad)
    acc = dlcore.zeros(vocab, dim)
    t = {}
    if torch is not None:
        t = dict(x=torch.from_numpy(x), m=torch.from_numpy(m), tall=torch.from_numpy(tall),
                 tab=torch.from_numpy(table),
                 ids=torch.from_numpy(ids), grad=torch.from_numpy(grad), acc=torch.zeros(vocab, dim))
        tf = torch.nn.functional
    np_acc = np.zeros((vocab, dim), np.float32)
    pos = np.abs(x) + np.float32(1e-3)
    dpos = dlcore.from_numpy(pos)
    if torch is not None:
        t["pos"] = torch.from_numpy(pos)
    cases = [  # (name, bytes moved, {library: fn})
        (f"dropout p=0.5, {n:,} floats", 8 * n, {
            "dlcore": lambda: _C.dropout(dx._impl, 0.5, 1234, 0),
            **({"torch": lambda: tf.dropout(t["x"], 0.5, True)} if torch else {})}),
        (f"sum, {n:,} floats", 4 * n, {
            "dlcore": lambda: dx.sum(), "numpy": lambda: x.sum(),
            **({"torch": lambda: t["x"].sum()} if torch else {})}),
        (f"sum(dim=0), {rows}x1024", 4 * rows * 1024, {
            "dlcore": lambda: dm.sum(dim=0), "numpy": lambda: m.sum(axis=0),
            **({"torch": lambda: t["m"].sum(dim=0)} if torch else {})}),
        ("sum(dim=0), 1600x64", 4 * 1600 * 64, {
            "dlcore": lambda: dtall.sum(dim=0), "numpy": lambda: tall.sum(axis=0),
            **({"torch": lambda: t["tall"].sum(dim=0)} if torch else {})}),
        (f"index_select {batch} of {vocab}x{dim}", 8 * batch * dim, {
            "dlcore": lambda: dtab.index_select(0, dids), "numpy": lambda: np.take(table, ids, axis=0),
            **({"torch": lambda: t["tab"].index_select(0, t["ids"])} if torch else {})}),
        (f"index_add_ {batch} rows into {vocab}x{dim}", 12 * batch * dim, {
            "dlcore": lambda: _C.index_add_(acc._impl, 0, dids._impl, dgrad._impl),
            "numpy": lambda: np.add.at(np_acc, ids, grad),
            **({"torch": lambda: t["acc"].index_add_(0, t["ids"], t["grad"])} if torch else {})}),
        (f"exp, {n:,} floats", 8 * n, {
            "dlcore": lambda: dx.exp(), "numpy": lambda: np.exp(x),
            **({"torch": lambda: t["x"].exp()} if torch else {})}),
        (f"log, {n:,} floats", 8 * n, {
            "dlcore": lambda: dpos.log(), "numpy": lambda: np.log(pos),
            **({"torch": lambda: t["pos"].log()} if torch else {})}),
        (f"sigmoid, {n:,} floats", 8 * n, {
            "dlcore": lambda: dx.sigmoid(), "numpy": lambda: 1 / (1 + np.exp(-x)),
            **({"torch": lambda: t["x"].sigmoid()} if torch else {})}),
        (f"tanh, {n:,} floats", 8 * n, {
            "dlcore": lambda: dx.tanh(), "numpy": lambda: np.tanh(x),
            **({"torch": lambda: t["x"].tanh()} if torch else {})}),
        (f"softplus, {n:,} floats", 8 * n, {
            "dlcore": lambda: F.softplus(dx),
            "numpy": lambda: np.where(x > 20, x, np.logaddexp(np.float32(0), x)),
            **({"torch": lambda: tf.softplus(t["x"])} if torch else {})}),
        (f"gelu(tanh), {n:,} floats", 8 * n, {
            "dlcore": lambda: F.gelu(dx, approximate="tanh"),
            "numpy": lambda: 0.5 * x * (1 + np.tanh(np.float32(0.7978845608) * (x + np.float32(0.044715) * x ** 3))),
            **({"torch": lambda: tf.gelu(t["x"], approximate="tanh")} if torch else {})}),
    ]
    cases += _cross_entropy_cases(torch, rng)
    return cases


def _cross_entropy_cases(torch, rng):
    """Cross-entropy over class logits (mean over rows): a classifier's 1000 classes, and the
    char-LM's 1600 positions x 64 symbols forward and forward + backward (the loss's backward
    writes the [rows, classes] gradient)."""
    cases = []
    for rows, cols, backward in ((4096, 1000, False), (1600, 64, False), (1600, 64, True)):
        x = rng.standard_normal((rows, cols), dtype=np.float32)
        y = rng.integers(0, cols, rows)
        dy = dlcore.tensor(y)
        if backward:
            dxg = dlcore.tensor(x, requires_grad=True)

            def dl(dxg=dxg, dy=dy):
                F.cross_entropy(dxg, dy).backward()
                dxg.grad = None
            fns = {"dlcore": dl}
            if torch is not None:
                txg, ty = torch.tensor(x, requires_grad=True), torch.from_numpy(y)

                def tr(txg=txg, ty=ty):
                    torch.nn.functional.cross_entropy(txg, ty).backward()
                    txg.grad = None
                fns["torch"] = tr
            cases.append((f"cross_entropy fwd+bwd, {rows}x{cols}", 8 * rows * cols, fns))
            continue
        dx = dlcore.from_numpy(x)
        fns = {"dlcore": lambda dx=dx, dy=dy: F.cross_entropy(dx, dy)}
        if torch is not None:
            tx, ty = torch.from_numpy(x), torch.from_numpy(y)
            fns["torch"] = lambda tx=tx, ty=ty: torch.nn.functional.cross_entropy(tx, ty)
        cases.append((f"cross_entropy, {rows}x{cols}", 4 * rows * cols, fns))
    return cases


def run(threads=None, quick=False):
    threads = threads or dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
    print(machine_line(threads))
    n = 1_000_000 if quick else 16_000_000
    cases = _cases(torch, n, rows=2048 if quick else 8192, vocab=10_000, dim=256,
                   batch=4096 if quick else 16384)
    from .tensor_ops import cases as _tensor_api_cases   # tensor-API rows: sort, topk, scans, ...
    cases += _tensor_api_cases(torch, quick)
    print(f"{'op':>38} {'dlcore':>10} {'numpy':>10} {'torch':>10} {'x numpy':>8} {'x torch':>8} {'dlcore GB/s':>12}")
    for name, nbytes, fns in cases:
        times = interleaved_times(fns, rounds=3 if quick else 7, min_time=0.02 if quick else 0.1)
        med = {k: statistics.median(v) for k, v in times.items()}

        def ms(k):
            return f"{med[k] * 1e3:8.3f}ms" if k in med else f"{'-':>10}"

        def ratio(k):
            return f"{median_ratio(times[k], times['dlcore']):7.2f}x" if k in times else f"{'-':>8}"
        print(f"{name:>38} {ms('dlcore')} {ms('numpy')} {ms('torch')} {ratio('numpy')} {ratio('torch')} "
              f"{nbytes / med['dlcore'] / 1e9:12.1f}", flush=True)

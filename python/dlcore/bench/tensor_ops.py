"""Rows of `python -m dlcore.bench ops` for the tensor-API kernels: sort (1M floats), topk
(k = 10 of 1M, and per row of 4096x1000), cumsum, gather and scatter_add_ (embedding-sized:
every column of a row takes the same table row), layer_norm forward + backward (8192x1024,
affine), and einsum bij,bjk->bik. Same format as the other rows (see ops.py)."""
from __future__ import annotations

import numpy as np

import dlcore
from ..nn import functional as F


def cases(torch, quick=False):
    rng = np.random.default_rng(1)
    n = 1_000_000
    rows, cols = (1024, 1000) if quick else (4096, 1000)
    ln_rows = 2048 if quick else 8192
    vocab, dim, batch = 10_000, 256, (4096 if quick else 16384)
    x = rng.standard_normal(n, dtype=np.float32)
    m = rng.standard_normal((rows, cols), dtype=np.float32)
    ids = np.repeat(rng.integers(0, vocab, batch)[:, None], dim, axis=1)
    table = rng.standard_normal((vocab, dim), dtype=np.float32)
    src = rng.standard_normal((batch, dim), dtype=np.float32)
    lx = rng.standard_normal((ln_rows, 1024), dtype=np.float32)
    lg = rng.standard_normal((ln_rows, 1024), dtype=np.float32)
    ea = rng.standard_normal((64, 128, 64), dtype=np.float32)
    eb = rng.standard_normal((64, 64, 128), dtype=np.float32)

    d = dict(x=dlcore.from_numpy(x), m=dlcore.from_numpy(m), ids=dlcore.from_numpy(ids),
             tab=dlcore.from_numpy(table), src=dlcore.from_numpy(src), acc=dlcore.zeros(vocab, dim),
             lx=dlcore.from_numpy(lx).requires_grad_(), lg=dlcore.from_numpy(lg),
             lw=dlcore.ones(1024, requires_grad=True), lb=dlcore.zeros(1024, requires_grad=True),
             ea=dlcore.from_numpy(ea), eb=dlcore.from_numpy(eb))
    t = {}
    if torch is not None:
        t = dict(x=torch.from_numpy(x), m=torch.from_numpy(m), ids=torch.from_numpy(ids),
                 tab=torch.from_numpy(table), src=torch.from_numpy(src), acc=torch.zeros(vocab, dim),
                 lx=torch.from_numpy(lx).requires_grad_(), lg=torch.from_numpy(lg),
                 lw=torch.ones(1024, requires_grad=True), lb=torch.zeros(1024, requires_grad=True),
                 ea=torch.from_numpy(ea), eb=torch.from_numpy(eb))

    def ln_dl():
        for p in ("lx", "lw", "lb"):
            d[p].grad = None
        F.layer_norm(d["lx"], (1024,), d["lw"], d["lb"]).backward(d["lg"])

    def ln_torch():
        for p in ("lx", "lw", "lb"):
            t[p].grad = None
        torch.nn.functional.layer_norm(t["lx"], (1024,), t["lw"], t["lb"]).backward(t["lg"])

    def with_torch(fn):
        return {"torch": fn} if torch is not None else {}

    return [
        (f"sort, {n:,} floats", 16 * n, {
            "dlcore": lambda: d["x"].sort(), "numpy": lambda: np.sort(x, kind="stable"),
            **with_torch(lambda: t["x"].sort())}),
        (f"topk k=10 of {n:,}", 4 * n, {
            "dlcore": lambda: d["x"].topk(10), **with_torch(lambda: t["x"].topk(10))}),
        (f"topk k=10 per row, {rows}x{cols}", 4 * rows * cols, {
            "dlcore": lambda: d["m"].topk(10, 1), **with_torch(lambda: t["m"].topk(10, 1))}),
        (f"cumsum(dim=1), {rows}x{cols}", 8 * rows * cols, {
            "dlcore": lambda: d["m"].cumsum(1), "numpy": lambda: np.cumsum(m, axis=1),
            **with_torch(lambda: t["m"].cumsum(1))}),
        (f"gather {batch}x{dim} of {vocab}x{dim}", 16 * batch * dim, {
            "dlcore": lambda: d["tab"].gather(0, d["ids"]),
            "numpy": lambda: np.take_along_axis(table, ids, 0),
            **with_torch(lambda: t["tab"].gather(0, t["ids"]))}),
        (f"scatter_add_ {batch}x{dim} into {vocab}x{dim}", 20 * batch * dim, {
            "dlcore": lambda: d["acc"].scatter_add_(0, d["ids"], d["src"]),
            **with_torch(lambda: t["acc"].scatter_add_(0, t["ids"], t["src"]))}),
        (f"layer_norm fwd+bwd {ln_rows}x1024", 4 * 5 * ln_rows * 1024, {
            "dlcore": ln_dl, **with_torch(ln_torch)}),
        ("einsum bij,bjk->bik 64x128x64x128", 4 * 3 * 64 * 128 * 64, {
            "dlcore": lambda: dlcore.einsum("bij,bjk->bik", d["ea"], d["eb"]),
            "numpy": lambda: np.einsum("bij,bjk->bik", ea, eb, optimize=True),
            **with_torch(lambda: torch.einsum("bij,bjk->bik", t["ea"], t["eb"]))}),
    ]

"""Training-step benchmarks of whole models against PyTorch: a CNN and a character LM.

    python -m dlcore.bench train-cnn [--threads 2] [--quick]
    python -m dlcore.bench train-charlm [--threads 2] [--quick]

train-cnn     LeNet-5 on 1x28x28 inputs (conv 6@5x5 pad 2, ReLU, max-pool 2, conv 16@5x5, ReLU,
              max-pool 2, 400-120-84-10 with ReLU), cross-entropy, SGD lr 0.01 momentum 0.9,
              batch 64, synthetic data (4096 standard-normal images, 10 random classes);
              samples/s. Floor: 1.5x PyTorch.
char-LM       Embedding 64->64, LSTM 64->128 (batch_first), Linear 128->64 over T=50 steps,
              cross-entropy over every position, Adam lr 2e-3, batch 32, random token sequences;
              tokens/s. Floor: 1.5x PyTorch.

Both libraries start from the same weights (dlcore's initial state_dict copied into torch), see
the same batches, and are timed alternately in short pieces (a few steps each), so machine
drift hits both alike; the median piece gives the rate. PyTorch runs its fastest settings a
user would pick: the fused optimizer step (fused=True) and its default oneDNN kernels. The
mean losses of the last pieces are printed side by side: equal weights and data give equal
losses, which shows both libraries train the same thing.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

import dlcore

PIECE_STEPS = 4          # steps per timed piece
FLOOR = 1.5


def _torch():
    try:
        import torch
        return torch
    except Exception:
        return None


# ---- the two models, written once per library ----------------------------------------------------

def lenet5(nn):
    """LeNet-5 for 28x28 inputs; `nn` is dlcore.nn or torch.nn (the same layer names)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def char_lm(nn, vocab=64, emb=64, hidden=128):
    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, emb)
            self.lstm = nn.LSTM(emb, hidden, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, x):
            h, _ = self.lstm(self.embed(x))
            return self.head(h)
    return CharLM()


# ---- one library's training loop ----------------------------------------------------------------

class _Trainer:
    def __init__(self, lib, build, make_opt, init_state, flat_logits):
        self.lib, self.flat = lib, flat_logits
        if lib == "dlcore":
            import dlcore.nn as nn
            self.model = build(nn)
            self.model.load_state_dict({k: dlcore.tensor(v) for k, v in init_state.items()})
            self.wrap = dlcore.from_numpy
        else:
            torch = _torch()
            nn = torch.nn
            self.model = build(nn)
            self.model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init_state.items()})
            self.wrap = torch.from_numpy
        self.loss_fn = nn.CrossEntropyLoss()
        self.opt = make_opt(lib, self.model.parameters())
        self.model.train()

    def run(self, batches):
        """Trains on each (x, y) NumPy batch; returns (seconds, mean loss)."""
        model, loss_fn, opt, wrap = self.model, self.loss_fn, self.opt, self.wrap
        total = 0.0
        t0 = time.perf_counter()
        for xb, yb in batches:
            out = model(wrap(xb))
            if self.flat:                                  # (N, T, V) logits against (N, T) targets
                out = out.reshape(-1, out.shape[-1])
            loss = loss_fn(out, wrap(yb).reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        return time.perf_counter() - t0, total / max(len(batches), 1)


def _optimizer(kind, lr, **kw):
    def make(lib, params):
        if lib == "dlcore":
            import dlcore.optim as optim
            return getattr(optim, kind)(params, lr=lr, **kw)
        torch = _torch()
        cls = getattr(torch.optim, kind)
        try:
            return cls(params, lr=lr, fused=True, **kw)       # torch's fastest step on the CPU
        except (RuntimeError, TypeError, ValueError):
            return cls(list(params), lr=lr, foreach=True, **kw)
    return make


def compare(build, make_opt, batches, units_per_batch, flat_logits=False, pieces=12, threads=2,
            with_torch=True):
    """{"rate": {lib: units/s}, "loss": {lib: mean loss of the last pieces}} over `pieces` timed
    pieces of PIECE_STEPS steps each, after one warm-up piece; libraries alternate piece by piece."""
    torch = _torch() if with_torch else None
    dlcore.set_num_threads(threads)
    libs = ["dlcore"]
    if torch is not None:
        torch.set_num_threads(threads)
        libs.append("torch")
    dlcore.manual_seed(0)
    init = {k: np.array(v.detach()) for k, v in build(dlcore.nn).state_dict().items()}
    trainers = {lib: _Trainer(lib, build, make_opt, init, flat_logits) for lib in libs}
    rates = {lib: [] for lib in libs}
    losses = {lib: [] for lib in libs}
    nb = len(batches)
    for p in range(pieces + 1):
        chunk = [batches[(p * PIECE_STEPS + i) % nb] for i in range(PIECE_STEPS)]
        for lib in libs:
            dt, loss = trainers[lib].run(chunk)
            if p:                                            # piece 0 is the warm-up
                rates[lib].append(PIECE_STEPS * units_per_batch / dt)
                losses[lib].append(loss)
    return {"rate": {lib: statistics.median(v) for lib, v in rates.items()},
            "loss": {lib: float(np.mean(v[-3:])) for lib, v in losses.items()}}


def _report(title, unit, res, floor=FLOOR):
    r = res["rate"]
    line = f"{title:<44} dlcore {r['dlcore']:>10,.0f} {unit}/s"
    ok = None
    if "torch" in r:
        ratio = r["dlcore"] / r["torch"]
        ok = ratio >= floor
        line += (f"   torch {r['torch']:>10,.0f} {unit}/s   {ratio:5.2f}x  (floor {floor:.1f}x "
                 f"{'ok' if ok else 'BELOW FLOOR'})")
    print(line)
    print("    mean loss of the last pieces (same init, same batches): "
          + " / ".join(f"{lib} {v:.4f}" for lib, v in res["loss"].items()))
    return ok


def run_cnn(threads=None, quick=False):
    from .gemm import machine_line
    threads = threads or 2
    print(machine_line(threads))
    g = np.random.default_rng(0)
    bs, n = 64, 4096
    X = g.standard_normal((n, 1, 28, 28), dtype=np.float32)
    y = g.integers(0, 10, n).astype(np.int64)
    batches = [(X[i:i + bs], y[i:i + bs]) for i in range(0, n, bs)]
    res = compare(lenet5, _optimizer("SGD", 0.01, momentum=0.9), batches, bs,
                  pieces=6 if quick else 16, threads=threads, with_torch=_torch() is not None)
    return res, _report("LeNet-5 28x28, batch 64, SGD momentum", "samples", res)


def run_charlm(threads=None, quick=False):
    from .gemm import machine_line
    threads = threads or 2
    print(machine_line(threads))
    g = np.random.default_rng(0)
    bs, T, vocab = 32, 50, 64
    seqs = g.integers(0, vocab, (64 * bs, T + 1)).astype(np.int64)
    batches = [(seqs[i:i + bs, :-1].copy(), seqs[i:i + bs, 1:].copy()) for i in range(0, len(seqs), bs)]
    res = compare(char_lm, _optimizer("Adam", 2e-3), batches, bs * T, flat_logits=True,
                  pieces=6 if quick else 16, threads=threads, with_torch=_torch() is not None)
    return res, _report("char-LM emb 64, LSTM 64->128, T 50, batch 32, Adam", "tokens", res)

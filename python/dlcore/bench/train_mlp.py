"""Training benchmark: MLP 784-256-128-10 (ReLU, cross-entropy, SGD momentum 0.9), samples/s.

    python -m dlcore.bench train-mlp [--threads 2] [--quick] [--profile]

dlcore and PyTorch (when installed) train the same network from the same initial weights on
the same synthetic data (8192 samples of 784 standard-normal features, 10 random classes) in
the same process. Two loops are timed for each library:

  loader  what a training script does: the library's own DataLoader(TensorDataset(X, y),
          batch_size, shuffle=True), then forward, loss, zero_grad, backward, step, and
          loss.item(). The floor (1.5x PyTorch at batch 64, 1.1x at batch 256) is checked on
          this one: it is the training throughput a user sees.
  step    the same loop on identical batches gathered with NumPy and wrapped zero-copy by
          both libraries: the per-step cost of the framework alone (autograd, kernels,
          optimizer), with the data pipeline taken out.

Each epoch is timed in four pieces, alternating between the libraries piece by piece (so a
frequency drift or a noisy neighbour hits both alike); after one warm-up epoch each, the
median piece gives the samples/s. The last training
losses of the step loop are printed side by side: equal weights and data give equal losses,
which shows both libraries compute the same thing.

With --profile it also prints dlcore's time per step split into data, forward, loss,
backward and optimizer step (medians, microseconds), the breakdown to read when the ratio
falls short.
"""
from __future__ import annotations

import itertools
import statistics
import time

import numpy as np

import dlcore

SIZES = (784, 256, 128, 10)
FLOORS = {64: 1.5, 256: 1.1}        # required dlcore / torch ratio
N_SAMPLES = 8192
LR, MOMENTUM = 0.01, 0.9
CHUNKS = 4                          # timed pieces per epoch (see measure)


def _torch():
    try:
        import torch
        return torch
    except Exception:
        return None


def make_data(n=N_SAMPLES, seed=0):
    g = np.random.default_rng(seed)
    X = g.standard_normal((n, SIZES[0]), dtype=np.float32)
    y = g.integers(0, SIZES[-1], size=n).astype(np.int64)
    return X, y


def _dl_model():
    import dlcore.nn as nn
    layers = []
    for i in range(len(SIZES) - 1):
        layers.append(nn.Linear(SIZES[i], SIZES[i + 1]))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _torch_model(torch):
    layers = []
    for i in range(len(SIZES) - 1):
        layers.append(torch.nn.Linear(SIZES[i], SIZES[i + 1]))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class _Runner:
    """One library's model, loss, optimizer and an epoch function over shared NumPy data."""

    def __init__(self, lib, X, y, init_state):
        self.lib, self.X, self.y = lib, X, y
        if lib == "dlcore":
            import dlcore.nn as nn
            import dlcore.optim as optim
            self.model = _dl_model()
            self.model.load_state_dict({k: dlcore.tensor(v) for k, v in init_state.items()})
            self.loss_fn = nn.CrossEntropyLoss()
            self.opt = optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
            self.wrap = dlcore.from_numpy
        else:
            torch = _torch()
            self.model = _torch_model(torch)
            self.model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init_state.items()})
            self.loss_fn = torch.nn.CrossEntropyLoss()
            self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
            self.wrap = torch.from_numpy
        self.model.train()

    def loader(self, bs, seed):
        """The library's own DataLoader over a TensorDataset, reshuffled every epoch."""
        if self.lib == "dlcore":
            from dlcore.data import DataLoader, TensorDataset
            return DataLoader(TensorDataset(dlcore.from_numpy(self.X), dlcore.from_numpy(self.y)),
                              batch_size=bs, shuffle=True, drop_last=True, seed=seed)
        torch = _torch()
        g = torch.Generator().manual_seed(seed)
        return torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.from_numpy(self.X), torch.from_numpy(self.y)),
            batch_size=bs, shuffle=True, drop_last=True, generator=g)

    def gathered(self, order, bs):
        """Batches in ``order``, gathered with NumPy and wrapped zero-copy (the 'step' loop)."""
        X, y, wrap = self.X, self.y, self.wrap
        for s in range(0, (len(order) // bs) * bs, bs):
            j = order[s:s + bs]
            yield wrap(X.take(j, axis=0)), wrap(y.take(j))

    def run(self, batches):
        """Trains on every batch of the iterable; returns (seconds, samples, mean loss)."""
        model, loss_fn, opt = self.model, self.loss_fn, self.opt
        total, n, nb = 0.0, 0, 0
        t0 = time.perf_counter()
        for xb, yb in batches:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            n += xb.shape[0]
            nb += 1
        return time.perf_counter() - t0, n, total / max(nb, 1)

    def profile(self, order, bs, out):
        """One pass of the step loop recording each phase's seconds into out[phase]."""
        X, y, wrap = self.X, self.y, self.wrap
        model, loss_fn, opt = self.model, self.loss_fn, self.opt
        pc = time.perf_counter
        for s in range(0, (len(order) // bs) * bs, bs):
            t_a = pc()
            j = order[s:s + bs]
            xb, yb = wrap(X.take(j, axis=0)), wrap(y.take(j))
            t_b = pc()
            out_ = model(xb)
            t_c = pc()
            loss = loss_fn(out_, yb)
            t_d = pc()
            opt.zero_grad()
            loss.backward()
            t_e = pc()
            opt.step()
            loss.item()
            t_f = pc()
            for k, v in zip(("data", "forward", "loss", "backward", "step"),
                            (t_b - t_a, t_c - t_b, t_d - t_c, t_e - t_d, t_f - t_e)):
                out.setdefault(k, []).append(v)


class _Chunks:
    """Endless stream of batches from a per-epoch iterable factory, served in fixed-size chunks."""

    def __init__(self, make_epoch):
        self.make_epoch, self.it = make_epoch, iter(make_epoch())

    def take(self, k):
        """A lazy generator of the next k batches: the loader's work happens inside the timing."""
        got = 0
        while got < k:
            for b in itertools.islice(self.it, k - got):
                got += 1
                yield b
            if got < k:                                 # epoch boundary: start the next one
                self.it = iter(self.make_epoch())


def _init_state(seed):
    """PyTorch's default Linear init (uniform +-1/sqrt(fan_in)), drawn with NumPy."""
    g = np.random.default_rng(seed)
    init = {}
    for i in range(len(SIZES) - 1):
        bound = 1.0 / np.sqrt(SIZES[i])
        init[f"{2 * i}.weight"] = g.uniform(-bound, bound, (SIZES[i + 1], SIZES[i])).astype(np.float32)
        init[f"{2 * i}.bias"] = g.uniform(-bound, bound, SIZES[i + 1]).astype(np.float32)
    return init


def measure(batch_sizes=(64, 256), epochs=5, threads=2, with_torch=True, profile=False, seed=0):
    """{bs: {"loader": {lib: samples/s}, "step": {lib: samples/s}, "loss": {lib: mean loss}}}, profile.

    Each epoch's batches are timed in CHUNKS pieces, alternating libraries piece by piece:
    the finer interleaving pairs the two libraries' samples closely in time, so a neighbour's
    burst of CPU use skews both alike; the median piece gives the rate.
    """
    X, y = make_data(seed=seed)
    torch = _torch() if with_torch else None
    dlcore.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    libs = ["dlcore"] + (["torch"] if torch is not None else [])
    results, prof = {}, {}
    for bs in batch_sizes:
        per_chunk = max(1, len(X) // bs // CHUNKS)
        init = _init_state(seed + bs)
        runners = {lib: _Runner(lib, X, y, init) for lib in libs}
        rates = {mode: {lib: [] for lib in libs} for mode in ("loader", "step")}
        losses = {lib: [] for lib in libs}
        for mode in ("step", "loader"):
            streams = {}
            for lib in libs:
                r = runners[lib]
                if mode == "step":
                    orders = np.random.default_rng(seed)        # the same orders for both libraries
                    streams[lib] = _Chunks(lambda r=r, o=orders: r.gathered(o.permutation(len(X)), bs))
                else:
                    streams[lib] = _Chunks(lambda ld=r.loader(bs, seed): ld)
            for c in range((epochs + 1) * CHUNKS):          # the first epoch's chunks are the warm-up
                for lib in libs:
                    dt, n, loss = runners[lib].run(streams[lib].take(per_chunk))
                    if c >= CHUNKS:
                        rates[mode][lib].append(n / dt)
                    if mode == "step":
                        losses[lib].append(loss)
        if profile:
            p = {}
            runners["dlcore"].profile(np.random.default_rng(seed + 1).permutation(len(X)), bs, p)
            prof[bs] = {k: statistics.median(v) * 1e6 for k, v in p.items()}
        results[bs] = {mode: {lib: statistics.median(rates[mode][lib]) for lib in libs} for mode in rates}
        results[bs]["loss"] = {lib: float(np.mean(losses[lib][-CHUNKS:])) for lib in libs}
    return results, prof


def run(threads=None, quick=False, profile=False):
    """Prints the table; returns (results, True when every floor is met) (None without torch)."""
    from .gemm import machine_line
    threads = threads or 2
    torch = _torch()
    epochs = 2 if quick else 5
    print(machine_line(threads))
    print(f"MLP {'-'.join(map(str, SIZES))} (ReLU, cross-entropy, SGD lr={LR} momentum={MOMENTUM}), "
          f"{N_SAMPLES} synthetic samples, median of {epochs} epochs after a warm-up, {threads} threads"
          + ("" if torch else "   (torch not installed: no comparison)"))
    res, prof = measure(epochs=epochs, threads=threads, with_torch=torch is not None, profile=profile)
    hdr = f"{'batch':>5} {'loop':>6} {'dlcore':>10}"
    if torch is not None:
        hdr += f" {'torch':>10} {'x torch':>8} {'floor':>6}"
    print(hdr)
    ok = True
    for bs, r in res.items():
        for mode in ("loader", "step"):
            line = f"{bs:>5} {mode:>6} {r[mode]['dlcore']:>8.0f}/s"
            if torch is not None:
                ratio = r[mode]["dlcore"] / r[mode]["torch"]
                line += f" {r[mode]['torch']:>8.0f}/s {ratio:>7.2f}x"
                if mode == "loader":
                    passed = ratio >= FLOORS.get(bs, 1.0)
                    ok &= passed
                    line += f" {FLOORS.get(bs, 1.0):>5.1f}x {'ok' if passed else 'BELOW FLOOR'}"
            print(line)
    losses = "; ".join(f"batch {bs}: " + " / ".join(f"{lib} {v:.4f}" for lib, v in r["loss"].items())
                       for bs, r in res.items())
    print(f"last-epoch mean loss of the step loop (same init and data): {losses}")
    for bs, p in prof.items():
        total = sum(p.values())
        parts = ", ".join(f"{k} {v:.0f}" for k, v in p.items())
        print(f"dlcore step at batch {bs}: {total:.0f} us = {parts} (us, medians)")
    return res, (ok if torch is not None else None)

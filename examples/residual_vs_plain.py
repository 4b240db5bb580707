"""The degradation problem in miniature: a deep plain CNN trains worse than a shallow one, and
the same deep network with identity shortcuts trains better (He et al., 2015, Fig. 1 and 4).

    python examples/residual_vs_plain.py

Three networks on the bundled 8x8 digits, all with 3x3 convolutions of 16 channels, batch norm
and ReLU at full 8 x 8 resolution, then a linear classifier on the flattened maps:

- plain-shallow: a stem convolution and 4 more layers (5 convolutions);
- plain-deep:    a stem convolution and 20 more layers (21 convolutions);
- residual-deep: the same 21 convolutions, the 20 after the stem grouped in pairs with an
  identity shortcut around each pair, out = relu(x + BN(conv(relu(BN(conv(x)))))); the scale
  of each pair's last BN starts at 0, so every block starts as the identity (without it, ten
  un-normalised sums make the first steps diverge at this learning rate).

Same optimiser (SGD, momentum 0.9, lr 0.05 cosine-annealed, weight decay 1e-4), batches and
epochs for all three; reported: the training loss per epoch (the degradation problem is about
optimisation, so the training error is the measure) and the test accuracy. The deep plain
network has strictly more capacity than the shallow one (its extra layers could be identities)
yet reaches a higher training loss; the shortcuts make those identities easy to represent.
The fast run (tests) uses 8 channels, 512 training digits and 4 epochs.
"""
import pathlib
import sys
import time

import numpy as np

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
import dlcore.optim as optim
from dlcore.data import load_digits

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))    # examples/_pictures.py
from _pictures import picture_writer  # noqa: E402


def conv_bn(c):
    return [nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)]


class PairBlock(nn.Module):
    """Two conv-BN layers with ReLU between; with shortcut=True the input is added before the
    final ReLU (a basic residual block), without it the block is just the two layers."""

    def __init__(self, c, shortcut):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(c), nn.ReLU(), *conv_bn(c))
        self.shortcut = shortcut
        if shortcut:     # the block starts as the identity (last BN scale 0), as zero_init_residual
            nn.init.zeros_(self.body[-1].weight)

    def forward(self, x):
        y = self.body(x)
        return F.relu(x + y if self.shortcut else y)


class Net(nn.Module):
    def __init__(self, pairs, shortcut, width=16, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.blocks = nn.Sequential(*[PairBlock(width, shortcut) for _ in range(pairs)])
        self.fc = nn.Linear(width * 8 * 8, num_classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).flatten(1))


def run(net, X, y, X_te, y_te, epochs, seed, lr=0.05, batch_size=64):
    rng = np.random.default_rng(seed)
    opt = optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    losses = []
    for _ in range(epochs):
        net.train()
        order = rng.permutation(len(X))
        total = 0.0
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(net(dlcore.from_numpy(X[idx])), dlcore.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        sched.step()
        losses.append(total / len(X))
    net.eval()
    with dlcore.no_grad():
        acc = float((net(dlcore.from_numpy(X_te)).argmax(1).numpy() == y_te).mean())
    return losses, acc


def main(fast=False, seed=0, out_dir="residual_vs_plain_out", deep_pairs=10, shallow_pairs=2):
    """Returns {name: {"losses", "test_accuracy", "convs"}} for plain-shallow, plain-deep, residual-deep."""
    X, y = load_digits()
    X = (np.asarray(X) / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    y = np.asarray(y)
    perm = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.8 * len(X))
    X_tr, y_tr, X_te, y_te = X[perm[:cut]], y[perm[:cut]], X[perm[cut:]], y[perm[cut:]]
    if fast:
        X_tr, y_tr = X_tr[:512], y_tr[:512]
    epochs = 4 if fast else 8
    configs = {"plain-shallow": (shallow_pairs, False), "plain-deep": (deep_pairs, False),
               "residual-deep": (deep_pairs, True)}
    results = {}
    t0 = time.perf_counter()
    for name, (pairs, shortcut) in configs.items():
        dlcore.manual_seed(seed)
        losses, acc = run(Net(pairs, shortcut, width=8 if fast else 16), X_tr, y_tr, X_te, y_te, epochs, seed)
        results[name] = {"losses": losses, "test_accuracy": acc, "convs": 1 + 2 * pairs}
        print(f"{name:>14} ({1 + 2 * pairs:2d} conv layers): training loss "
              + " ".join(f"{l:.3f}" for l in losses[:: max(1, epochs // 5)])
              + f" ... {losses[-1]:.4f}; test accuracy {100 * acc:.1f}%  ({time.perf_counter() - t0:.0f} s)")
    viz = picture_writer(out_dir, "residual_vs_plain")
    if viz is not None:
        viz.plot_curves({f"{k} ({v['convs']} convs)": v["losses"] for k, v in results.items()},
                        f"{out_dir}/training_loss.png", ylabel="training loss", logy=True)
        print(f"pictures in {out_dir}/")
    return results


if __name__ == "__main__":
    main()

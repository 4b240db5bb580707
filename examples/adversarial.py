"""Adversarial examples with the fast gradient sign method, and adversarial training as defence.

    python examples/adversarial.py

A small CNN is trained on the bundled 8x8 digits (pixels in [0, 1]). FGSM (Goodfellow et al.,
2015) moves every pixel by epsilon in the direction that increases the loss fastest under an
L-infinity budget:

    x' = clip(x + epsilon * sign(grad_x loss(f(x), y)), 0, 1)

one gradient with respect to the input (x.requires_grad_(), loss.backward(), x.grad). Accuracy on
the test digits is reported as epsilon grows. The defence: adversarial training, each batch's
loss the mean of the loss on the clean digits and on their FGSM versions made on the fly
against the current weights (epsilon = 0.15), which buys accuracy under attack at a small cost
on clean digits.

Pictures: test digits beside their adversarial versions at epsilon = 0.15 / 0.3.
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

EPSILONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)


def build_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )


def fgsm(model, x, y, eps):
    """x' = clip(x + eps * sign(grad_x CE(model(x), y)), 0, 1) as a new (constant) tensor."""
    if eps == 0:
        return x
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return (x.detach() + eps * x.grad.sign()).clamp(0.0, 1.0)


def accuracy(model, X, y, eps=0.0):
    model.eval()
    xs = fgsm(model, X, y, eps)
    with dlcore.no_grad():
        acc = float((model(xs).argmax(1).numpy() == y.numpy()).mean())
    model.zero_grad()
    model.train()
    return acc


def train(model, X, y, epochs, seed, adversarial_eps=None, batch_size=32):
    rng = np.random.default_rng(seed)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(0, n, batch_size):
            idx = dlcore.from_numpy(order[i:i + batch_size].astype(np.int64))
            xb, yb = X.index_select(0, idx), y.index_select(0, idx)
            if adversarial_eps:
                x_adv = fgsm(model, xb, yb, adversarial_eps)
                loss = 0.5 * (F.cross_entropy(model(xb), yb) + F.cross_entropy(model(x_adv), yb))
            else:
                loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def main(fast=False, seed=0, out_dir="adversarial_out"):
    """Returns {"standard": {eps: accuracy}, "adversarial": {eps: accuracy}}."""
    dlcore.manual_seed(seed)
    X, y = load_digits()
    X = (np.asarray(X) / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    y = np.asarray(y)
    perm = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.8 * len(X))
    X_tr, y_tr = dlcore.from_numpy(X[perm[:cut]]), dlcore.from_numpy(y[perm[:cut]])
    X_te, y_te = dlcore.from_numpy(X[perm[cut:]]), dlcore.from_numpy(y[perm[cut:]])
    epochs = 4 if fast else 25
    t0 = time.perf_counter()
    results = {}
    for label, adv in (("standard", None), ("adversarial", 0.15)):
        dlcore.manual_seed(seed)
        model = build_cnn()
        train(model, X_tr, y_tr, epochs, seed, adv)
        results[label] = {eps: accuracy(model, X_te, y_te, eps) for eps in EPSILONS}
        results[label + "_model"] = model
    print(f"test accuracy under FGSM (trained {epochs} epochs each, {time.perf_counter() - t0:.1f} s):")
    print("  epsilon              " + " ".join(f"{e:6.2f}" for e in EPSILONS))
    for label in ("standard", "adversarial"):
        print(f"  {label + ' training':<21}" + " ".join(f"{100 * results[label][e]:5.1f}%" for e in EPSILONS))
    viz = picture_writer(out_dir, "adversarial")
    if viz is not None:
        m = results["standard_model"]
        m.eval()
        x, yy = X_te[:10], y_te[:10]
        rows = [x.numpy()] + [fgsm(m, x, yy, e).numpy() for e in (0.15, 0.3)]
        viz.save_image_grid(np.concatenate(rows), f"{out_dir}/fgsm.png", nrow=10, normalize=False)
        viz.plot_curves({k: (list(EPSILONS), [results[k][e] for e in EPSILONS]) for k in ("standard", "adversarial")},
                        f"{out_dir}/accuracy_vs_eps.png", xlabel="epsilon", ylabel="test accuracy")
        print(f"pictures in {out_dir}/ (rows: clean, eps 0.15, eps 0.3)")
    return results


if __name__ == "__main__":
    main()

"""Adaline (Widrow & Hoff, 1960): the delta rule on a linear output — dlcore tensor ops, no nn/optim.

    python examples/adaline.py

Adaline looks like a perceptron (it classifies with sign(w . x + b)) but learns from the
*linear* output o = w . x + b, before the threshold:

    w += lr * (t - o) * x        b += lr * (t - o)

That is stochastic gradient descent on the squared error (t - o)^2 / 2 — the delta rule, also
called LMS. Unlike Rosenblatt's rule it keeps learning from samples it already classifies
correctly, and it converges (for a small enough lr) to the least-squares solution even when the
classes are not separable. We check that: after training, the weights are compared with the
closed-form least-squares fit (NumPy lstsq on the same data).

Inputs and targets are bipolar (-1/+1), the usual choice for Adaline: with 0/1 inputs the bias
and weights are strongly coupled and LMS converges much more slowly.
"""
import numpy as np

import dlcore

INPUTS = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
TARGETS = {"AND": [-1.0, -1.0, -1.0, 1.0], "OR": [-1.0, 1.0, 1.0, 1.0], "XOR": [-1.0, 1.0, 1.0, -1.0]}


def train_adaline(X, t, lr=0.05, epochs=100):
    """Online delta rule. Returns (w, b, mean squared error after each epoch)."""
    n, d = X.shape
    w = dlcore.zeros(d)
    b = dlcore.zeros(())
    mse = []
    for _ in range(epochs):
        for i in range(n):
            x = X[i]
            o = (w * x).sum() + b              # linear output: no threshold while learning
            err = t[i] - o
            w += lr * err * x                  # the delta rule
            b += lr * err
        mse.append(((X @ w + b - t) ** 2).mean().item())
    return w, b, mse


def least_squares(X, t):
    """Closed-form minimiser of the same squared error: [w, b] = lstsq([X 1], t)."""
    A = np.hstack([np.asarray(X, dtype=np.float64), np.ones((X.shape[0], 1))])
    sol, *_ = np.linalg.lstsq(A, np.asarray(t, dtype=np.float64), rcond=None)
    return sol[:-1], sol[-1]


def main(fast=False):
    """Trains Adaline on AND, OR, XOR; returns per-gate mse, accuracy and distance to least squares."""
    X = dlcore.tensor(INPUTS)
    epochs = 40 if fast else 200
    results = {}
    for name, targets in TARGETS.items():
        t = dlcore.tensor(targets)
        w, b, mse = train_adaline(X, t, lr=0.02, epochs=epochs)
        w_ls, b_ls = least_squares(X, t)
        dist = float(np.abs(np.append(np.asarray(w), b.item()) - np.append(w_ls, b_ls)).max())
        pred = dlcore.where(X @ w + b > 0, 1.0, -1.0)
        acc = (pred == t).float().mean().item()
        results[name] = {"mse": mse, "accuracy": acc, "dist_to_lstsq": dist,
                         "w": w.tolist(), "b": b.item()}
        print(f"{name:>3}: mse {mse[0]:.3f} -> {mse[-1]:.3f} (least squares: "
              f"w = [{w_ls[0]:+.2f}, {w_ls[1]:+.2f}], b = {b_ls:+.2f}; Adaline is within {dist:.3f}), "
              f"accuracy {acc:.2f}")
    print("XOR: the best linear fit is the constant 0 (mse 1.0) — no line separates it.")
    return results


if __name__ == "__main__":
    main()

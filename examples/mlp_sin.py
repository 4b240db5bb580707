"""An MLP with 3 tanh hidden units fits y = sin(x) on [-pi, pi].

    python examples/mlp_sin.py

The network is 1 -> 3 (tanh) -> 1: y_hat = sum_j v_j tanh(w_j x + b_j) + c. Three shifted,
scaled tanh "steps" are enough to draw one period of a sine closely (a universal-approximation
argument in miniature): the trained units usually settle into one rising step in the middle
and two falling ones near +-pi/2. Trained with Adam on mean squared error through
dlcore.train.fit; the script prints the final MSE and a few predictions beside sin(x).
"""
import math

import dlcore
import dlcore.nn as nn
import dlcore.optim as optim
from dlcore.data import DataLoader, TensorDataset, make_sin
from dlcore.train import LambdaCallback, fit


def build_model(hidden=3):
    return nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, 1))


def main(fast=False, seed=0):
    """Trains the 1-3-1 network; returns {"mse", "history", "model"}."""
    dlcore.manual_seed(seed)
    X, y = make_sin(n=256, seed=seed)
    model = build_model()
    epochs = 150 if fast else 600
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=seed)
    opt = optim.Adam(model.parameters(), lr=0.05)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=1e-3)

    def report(epoch, logs):
        if (epoch + 1) % max(epochs // 6, 1) == 0:
            print(f"epoch {epoch + 1:4d}  mse {logs['loss']:.5f}  lr {logs['lr']:.4f}")

    hist = fit(model, nn.MSELoss(), opt, loader, epochs=epochs, scheduler=sched, progress=False,
               callbacks=[LambdaCallback(on_epoch_end=report)])
    with dlcore.no_grad():
        mse = ((model(X) - y) ** 2).mean().item()
        xs = dlcore.tensor([[-math.pi], [-math.pi / 2], [0.0], [math.pi / 4], [math.pi / 2], [math.pi]])
        pred = model(xs).reshape(-1).tolist()
    print(f"final mse over the {len(X)} points: {mse:.2e}")
    for x, p in zip(xs.reshape(-1).tolist(), pred):
        print(f"  x = {x:+.3f}   sin(x) = {math.sin(x):+.4f}   mlp = {p:+.4f}")
    return {"mse": mse, "history": hist, "model": model}


if __name__ == "__main__":
    main()

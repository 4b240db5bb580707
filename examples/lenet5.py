"""LeNet-5 as published (LeCun et al., 1998), trained on the bundled digits upsampled to 32x32.

    python examples/lenet5.py

The architecture of the paper, layer by layer:

    INPUT 1 x 32 x 32
    C1  conv 6 @ 5x5              -> 6 x 28 x 28     tanh
    S2  2x2 subsampling (average) -> 6 x 14 x 14
    C3  conv 16 @ 5x5             -> 16 x 10 x 10    tanh
    S4  2x2 subsampling (average) -> 16 x 5 x 5
    C5  conv 120 @ 5x5            -> 120 x 1 x 1     tanh
    F6  full 120 -> 84                               tanh
    OUTPUT 84 -> 10

Two simplifications, as in every modern re-implementation: C3 connects to all six S2 maps
(the paper's sparse connection table was a compute-saving device), and the output layer is a
linear layer with softmax cross-entropy instead of Euclidean RBF units. The 8x8 digits are
upsampled to 28x28 (bilinear, F.interpolate) and padded by 2 pixels to 32x32 — the paper's
MNIST digits were likewise 28x28 centred in a 32x32 field, so C5's 5x5 window sees the whole
digit. dlcore.summary prints the layer table: output shapes, parameters (61,706 as in the
paper's count for the fully connected C3) and multiply-adds.
"""
import time

import numpy as np

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
import dlcore.optim as optim
from dlcore.data import DataLoader, TensorDataset, load_digits, train_test_split
from dlcore.train import evaluate, fit


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),            # C1, S2
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),           # C3, S4
        nn.Conv2d(16, 120, 5), nn.Tanh(),                          # C5
        nn.Flatten(), nn.Linear(120, 84), nn.Tanh(),               # F6
        nn.Linear(84, 10),                                         # OUTPUT
    )


def to_32x32(X):
    """(N, 8, 8) digits in 0..16 -> (N, 1, 32, 32) in [0, 1]: bilinear to 28x28, zero pad 2."""
    x = (X / 16.0).reshape(-1, 1, 8, 8)
    with dlcore.no_grad():
        x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    out = np.zeros((x.shape[0], 1, 32, 32), dtype=np.float32)
    out[:, :, 2:30, 2:30] = np.asarray(x)
    return dlcore.from_numpy(out)


def main(fast=False, seed=0, progress=True):
    dlcore.manual_seed(seed)
    X, y = load_digits()
    X = to_32x32(X)
    X_trval, X_te, y_trval, y_te = train_test_split(X, y, test_size=0.2, seed=seed)
    X_tr, X_val, y_tr, y_val = train_test_split(X_trval, y_trval, test_size=0.1, seed=seed + 1)
    model = lenet5()
    print(dlcore.summary(model, (1, 1, 32, 32)))
    epochs = 6 if fast else 20
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    t0 = time.perf_counter()
    hist = fit(model, nn.CrossEntropyLoss(), opt,
               DataLoader(TensorDataset(X_tr, y_tr), batch_size=32, shuffle=True, seed=seed),
               DataLoader(TensorDataset(X_val, y_val), batch_size=512), epochs=epochs,
               metrics=["accuracy"], scheduler=sched, progress=progress)
    wall = time.perf_counter() - t0
    test = evaluate(model, nn.CrossEntropyLoss(), DataLoader(TensorDataset(X_te, y_te), batch_size=512),
                    metrics=["accuracy"])
    rate = float(np.mean(hist["samples_per_s"]))
    print(f"trained {hist.epochs} epochs in {wall:.1f} s; training throughput {rate:,.0f} samples/s")
    print(f"LeNet-5 test accuracy: {100 * test['accuracy']:.2f}%  (test loss {test['loss']:.4f})")
    return {"model": model, "test_accuracy": test["accuracy"], "samples_per_s": rate}


if __name__ == "__main__":
    main()

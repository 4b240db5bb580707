"""Handwritten digits (8x8, bundled with dlcore) with a LeNet-style CNN: >= 98.5% test accuracy.

    python examples/cnn_digits.py

The same splits as examples/digits_mlp.py (72% train / 8% validation / 20% test of the 1,797
UCI digits), pixels scaled to [0, 1]. The network is two conv-ReLU-pool stages and a small
classifier, the LeNet pattern at the scale of an 8x8 image:

    conv 1->32 3x3 pad 1, BN, ReLU, conv 32->32 3x3 pad 1, BN, ReLU, max-pool 2   ->  32 x 4 x 4
    conv 32->64 3x3 pad 1, BN, ReLU, max-pool 2                                   ->  64 x 2 x 2
    flatten 256, dropout 0.3, linear 256->10

Training batches are augmented on the fly (seeded): random shifts of up to one pixel (zero
padding) and a little Gaussian noise — an 8x8 digit moved by a pixel is still the same digit,
and the network learns that instead of memorising the pixel grid. AdamW with a one-cycle-like
cosine schedule, cross-entropy, by dlcore.train.fit (progress bar with loss, accuracy and
samples/s per epoch). The test split is touched once, at the end.
"""
import time

import numpy as np

import dlcore
import dlcore.nn as nn
import dlcore.optim as optim
from dlcore.data import DataLoader, TensorDataset, load_digits, train_test_split
from dlcore.data.transforms import GaussianNoise, RandomShift, Compose
from dlcore.metrics import confusion_matrix
from dlcore.train import evaluate, fit, predict


def build_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 2 * 2, 10),
    )


def load_splits(seed=0):
    """(X, y) train / validation / test as (N, 1, 8, 8) float32 in [0, 1] and int64 labels."""
    X, y = load_digits()                                  # (1797, 8, 8) in 0..16
    X = (X / 16.0).reshape(-1, 1, 8, 8)
    X_trval, X_test, y_trval, y_test = train_test_split(X, y, test_size=0.2, seed=seed)
    X_train, X_val, y_train, y_val = train_test_split(X_trval, y_trval, test_size=0.1, seed=seed + 1)
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


class AugmentedBatches:
    """Wraps a DataLoader: each (x, y) batch's images are shifted and noised (seeded)."""

    def __init__(self, loader, seed):
        self.loader = loader
        self.augment = Compose([RandomShift(1, seed=seed), GaussianNoise(0.05, seed=seed + 1)])

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for xb, yb in self.loader:
            yield self.augment(xb), yb


def main(fast=False, seed=0, progress=True):
    """Trains, then evaluates once on the test split.

    Returns {"model", "test_accuracy", "samples_per_s", "epochs", "history", "confusion_matrix"}.
    """
    dlcore.manual_seed(seed)
    (X_tr, y_tr), (X_val, y_val), (X_te, y_te) = load_splits(seed)
    model = build_model()
    train_loader = AugmentedBatches(DataLoader(TensorDataset(X_tr, y_tr), batch_size=32, shuffle=True,
                                               seed=seed), seed)
    val_loader = DataLoader(TensorDataset(X_val, y_val), batch_size=512)
    epochs = 12 if fast else 30
    opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    print(f"digits: {len(X_tr)} train / {len(X_val)} validation / {len(X_te)} test images of 8x8; "
          f"model\n{model}")
    t0 = time.perf_counter()
    hist = fit(model, nn.CrossEntropyLoss(), opt, train_loader, val_loader, epochs=epochs,
               metrics=["accuracy"], scheduler=sched, progress=progress)
    wall = time.perf_counter() - t0
    test = evaluate(model, nn.CrossEntropyLoss(), DataLoader(TensorDataset(X_te, y_te), batch_size=512),
                    metrics=["accuracy"])
    cm = confusion_matrix(predict(model, X_te), y_te, num_classes=10)
    rate = float(np.mean(hist["samples_per_s"]))
    print("confusion matrix on the test split (rows: true digit, columns: predicted):")
    for i, row in enumerate(cm.tolist()):
        print(f"  {i}: " + " ".join(f"{v:3d}" for v in row))
    print(f"trained {hist.epochs} epochs in {wall:.1f} s; training throughput {rate:,.0f} samples/s")
    print(f"test accuracy: {100 * test['accuracy']:.2f}%  (test loss {test['loss']:.4f})")
    return {"model": model, "test_accuracy": test["accuracy"], "samples_per_s": rate,
            "epochs": hist.epochs, "history": hist, "confusion_matrix": cm}


if __name__ == "__main__":
    main()

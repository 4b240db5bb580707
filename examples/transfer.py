"""Transfer learning: reuse a trained convolutional backbone for a new task, training only a new head.

    python examples/transfer.py

Task A: classify the digits 0-4 (all their training images). Task B: classify the digits 5-9
from only a few labelled images per class. The CNN trained on A is split into its feature
extractor (convolutions, the backbone) and its classifier (the head). For B:

- the backbone is frozen: ``backbone.requires_grad_(False)`` stops its gradients, and
  ``backbone.eval()`` stops its batch-norm layers from updating their running statistics;
- the head is replaced by a fresh Linear for the five new classes;
- only the new head's parameters are handed to the optimizer.

The same network trained from scratch on the few B images is the baseline, and full
fine-tuning (the A weights as the starting point for every layer, all trained on B at a lower
learning rate) the third variant. The frozen backbone's weights are checked bit-for-bit
unchanged after training the head. Picture: the three training-loss curves on task B.
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


class Net(nn.Module):
    def __init__(self, num_classes=5):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Linear(64 * 2 * 2, num_classes)

    def forward(self, x):
        return self.head(self.backbone(x))


def fit(model, params, X, y, epochs, seed, lr=3e-3, batch_size=32):
    """Adam on params; returns the optimizer and the mean training loss of each epoch."""
    rng = np.random.default_rng(seed)
    opt = optim.Adam(params, lr=lr)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        total = 0.0
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(dlcore.from_numpy(X[idx])), dlcore.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        losses.append(total / len(X))
    return opt, losses


def accuracy(model, X, y):
    was = [(m, m.training) for m in model.modules()]
    model.eval()
    with dlcore.no_grad():
        acc = float((model(dlcore.from_numpy(X)).argmax(1).numpy() == y).mean())
    for m, t in was:
        m.training = t
    return acc


def main(fast=False, seed=0, per_class=10, out_dir="transfer_out"):
    """Returns accuracies on task B (transfer, scratch), the task-A accuracy and the checks."""
    dlcore.manual_seed(seed)
    X, y = load_digits()
    X = (np.asarray(X) / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    y = np.asarray(y)
    perm = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.8 * len(X))
    tr, te = perm[:cut], perm[cut:]
    a_tr, a_te = tr[y[tr] < 5], te[y[te] < 5]
    b_te = te[y[te] >= 5]
    rng = np.random.default_rng(seed + 1)
    b_tr = np.concatenate([rng.choice(tr[y[tr] == c], per_class, replace=False) for c in range(5, 10)])
    epochs_a, epochs_b = (4, 30) if fast else (20, 150)
    t0 = time.perf_counter()

    net = Net(5)
    fit(net, net.parameters(), X[a_tr], y[a_tr], epochs_a, seed)
    acc_a = accuracy(net, X[a_te], y[a_te])
    print(f"task A (digits 0-4, {len(a_tr)} images): test accuracy {100 * acc_a:.1f}%")
    trained_a = {k: v.numpy().copy() for k, v in net.state_dict().items()}

    # transfer: freeze the backbone, replace the head, optimise only the head
    net.backbone.requires_grad_(False)
    net.backbone.eval()
    net.head = nn.Linear(64 * 2 * 2, 5)
    before = {k: v.numpy().copy() for k, v in net.backbone.state_dict().items()}
    trainable = [p for p in net.parameters() if p.requires_grad]
    opt, loss_transfer = fit(net, trainable, X[b_tr], y[b_tr] - 5, epochs_b, seed + 2)
    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    head_only = in_opt == {id(p) for p in net.head.parameters()}
    unchanged = all(np.array_equal(before[k], v.numpy()) for k, v in net.backbone.state_dict().items())
    acc_transfer = accuracy(net, X[b_te], y[b_te] - 5)

    dlcore.manual_seed(seed + 3)
    scratch = Net(5)
    _, loss_scratch = fit(scratch, scratch.parameters(), X[b_tr], y[b_tr] - 5, epochs_b, seed + 2)
    acc_scratch = accuracy(scratch, X[b_te], y[b_te] - 5)

    dlcore.manual_seed(seed + 4)
    tuned = Net(5)
    tuned.load_state_dict({k: dlcore.from_numpy(v) for k, v in trained_a.items()})
    tuned.head = nn.Linear(64 * 2 * 2, 5)
    _, loss_finetune = fit(tuned, tuned.parameters(), X[b_tr], y[b_tr] - 5, epochs_b, seed + 2, lr=1e-3)
    acc_finetune = accuracy(tuned, X[b_te], y[b_te] - 5)
    n_head = sum(p.numel() for p in net.head.parameters())
    n_all = sum(p.numel() for p in net.parameters())
    print(f"task B (digits 5-9, {per_class} labelled images per class): trained {n_head} of {n_all} parameters "
          f"(optimizer holds only the head: {head_only}; backbone unchanged: {unchanged})")
    print(f"  test accuracy: frozen backbone + new head {100 * acc_transfer:.1f}%, all layers fine-tuned from "
          f"the A weights {100 * acc_finetune:.1f}%, same net from scratch {100 * acc_scratch:.1f}% "
          f"({time.perf_counter() - t0:.1f} s)")
    viz = picture_writer(out_dir, "transfer")
    if viz is not None:
        viz.plot_curves({"frozen backbone, new head": loss_transfer, "fine-tune all from A": loss_finetune,
                         "from scratch": loss_scratch}, f"{out_dir}/task_b_training_loss.png",
                        ylabel="training loss on task B", logy=True)
        print(f"pictures in {out_dir}/")
    return {"task_a_accuracy": acc_a, "transfer_accuracy": acc_transfer, "scratch_accuracy": acc_scratch,
            "finetune_accuracy": acc_finetune,
            "optimizer_head_only": head_only, "backbone_unchanged": unchanged,
            "trainable_params": n_head, "total_params": n_all}


if __name__ == "__main__":
    main()

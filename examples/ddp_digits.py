"""Data-parallel training of the digits MLP over several processes (DistributedDataParallel).

    mpirun -n 2 python examples/ddp_digits.py          # or -n 4; pip install "dlcore[mpi]"
    python examples/ddp_digits.py                      # one process, same code

The model, splits and schedule are those of examples/digits_mlp.py. Each process (rank) is
started by mpirun and joins the group with init_process_group; DistributedDataParallel makes
every rank start from rank 0's weights and averages the gradients during backward, so the
ranks stay identical; DistributedSampler gives each rank its own part of the training data in
every epoch (global batch 64 = 64 / ranks per rank, so the run does the same optimisation
whatever the number of ranks). dlcore.train.fit is unchanged: the loss and accuracy it logs
are summed over the ranks, and only rank 0 prints. At the end rank 0 evaluates the model once
on the test split: about 98%, as in the single-process example.
"""
import os
import sys
import time

import dlcore
import dlcore.distributed as dist
import dlcore.nn as nn
import dlcore.optim as optim
from dlcore.data import DataLoader, DistributedSampler, TensorDataset
from dlcore.train import evaluate, fit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from digits_mlp import build_model, load_splits  # noqa: E402

GLOBAL_BATCH = 64


def main(fast=False, seed=0):
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if GLOBAL_BATCH % world:
        raise SystemExit(f"ddp_digits: {world} ranks do not divide the global batch of {GLOBAL_BATCH}")
    (X_tr, y_tr), (X_val, y_val), (X_te, y_te) = load_splits(seed)     # the same on every rank
    train_set = TensorDataset(X_tr, y_tr)
    sampler = DistributedSampler(train_set, seed=seed)                    # fit calls set_epoch
    train_loader = DataLoader(train_set, batch_size=GLOBAL_BATCH // world, sampler=sampler)
    val_set = TensorDataset(X_val, y_val)
    val_loader = DataLoader(val_set, batch_size=256, sampler=DistributedSampler(val_set, shuffle=False))

    dlcore.manual_seed(seed)
    model = nn.parallel.DistributedDataParallel(build_model())   # rank 0's initial weights everywhere
    dlcore.manual_seed(seed + 1 + rank)                          # each rank its own dropout masks
    epochs = 10 if fast else 30
    opt = optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    if rank == 0:
        print(f"ddp_digits: {world} rank(s), {len(X_tr)} training samples, {len(sampler)} per rank and epoch, "
              f"batch {GLOBAL_BATCH // world} per rank ({GLOBAL_BATCH} in all)")
    t0 = time.perf_counter()
    hist = fit(model, nn.CrossEntropyLoss(), opt, train_loader, val_loader, epochs=epochs,
               metrics=["accuracy"], scheduler=sched)
    wall = time.perf_counter() - t0
    result = {"history": hist, "world_size": world}
    if rank == 0:        # the weights are the same on every rank: one evaluation is enough
        test = evaluate(model.module, nn.CrossEntropyLoss(), DataLoader(TensorDataset(X_te, y_te), batch_size=512),
                        metrics=["accuracy"])
        rate = sum(hist["samples_per_s"]) / len(hist["samples_per_s"])
        print(f"trained {hist.epochs} epochs in {wall:.1f} s on {world} rank(s); {rate:,.0f} samples/s in all")
        print(f"test accuracy: {100 * test['accuracy']:.2f}%  (test loss {test['loss']:.4f})")
        result["test_accuracy"] = test["accuracy"]
    dist.destroy_process_group()
    return result


if __name__ == "__main__":
    main(fast="--fast" in sys.argv)

"""dlcore.train.fit unchanged under DDP.

    mpiexec -n 2 python tests/distributed/fit_ddp.py CHECKPOINT_DIR

Each rank trains on its DistributedSampler share. Checks here: the logged val_loss / accuracy
are those of the whole validation set (summed over ranks), equal to a plain evaluate() of the
final model on all of it; fit called set_epoch on the sampler. Printed for the test: the
progress lines (rank 0 only) and "HISTORY <rank> <json>" (must be equal on every rank).
"""
import json
import os
import sys

import numpy as np

import dlcore
import dlcore.distributed as dist
from dlcore import nn, optim
from dlcore.data import DataLoader, DistributedSampler, TensorDataset
from dlcore.train import ModelCheckpoint, evaluate, fit

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
g = np.random.default_rng(3)
X = g.standard_normal((90, 6)).astype(np.float32)
y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
train = TensorDataset(X[:60], y[:60])
val = TensorDataset(X[60:], y[60:])               # 30 samples: an exact split over 2 or 3 ranks
sampler = DistributedSampler(train, seed=5)
train_loader = DataLoader(train, batch_size=8, sampler=sampler)
val_loader = DataLoader(val, batch_size=8, sampler=DistributedSampler(val, shuffle=False))

dlcore.manual_seed(rank)
model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2)))
ckpt = os.path.join(sys.argv[1], "model-{epoch}.dlc")
hist = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), 1e-2), train_loader, val_loader,
           epochs=3, metrics=["accuracy"], callbacks=[ModelCheckpoint(ckpt)])
assert sampler.epoch == 2, sampler.epoch
whole = evaluate(model.module, nn.CrossEntropyLoss(), DataLoader(val, batch_size=30), metrics=["accuracy"])
np.testing.assert_allclose(hist["val_loss"][-1], whole["loss"], rtol=1e-5)
np.testing.assert_allclose(hist["val_accuracy"][-1], whole["accuracy"], rtol=1e-12)
row = {k: v for k, v in hist.items() if k not in ("time", "samples_per_s")}
print(f"HISTORY {rank} {json.dumps(row)}", flush=True)

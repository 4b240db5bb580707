"""DDP on W ranks with per-rank batch B/W steps like one process with batch B.

    mpiexec -n 2 python tests/distributed/ddp_equivalence.py mlp|cnn [--device cuda]

Every rank builds the model from its own seed (DDP must replace it by rank 0's), trains 20
SGD-with-momentum steps on its slice of each batch, and then replays the same 20 steps in a
single process on the whole batch (no communication), starting from rank 0's initial weights.
Parameters must agree within float32 rounding. The MLP run also checks no_sync gradient
accumulation (two half micro-batches, the first under no_sync) and that buckets start before
backward ends (communication overlaps the rest of backward).
"""
import sys

import numpy as np

import dlcore
import dlcore.distributed as dist
from dlcore import nn, optim

which = sys.argv[1]
device = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cpu"
dist.init_process_group("nccl" if device == "cuda" else "mpi")
rank, world = dist.get_rank(), dist.get_world_size()
STEPS, B = 20, 8 * world


def build(seed):
    dlcore.manual_seed(seed)
    if which == "mlp":
        return nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 5))
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 5))


g = np.random.default_rng(7)
shape = (12,) if which == "mlp" else (1, 8, 8)
X = g.standard_normal((STEPS, B) + shape).astype(np.float32)
Y = g.integers(0, 5, (STEPS, B))
loss_fn = nn.CrossEntropyLoss()

initial = {k: v.numpy().copy() for k, v in build(100).state_dict().items()}   # what rank 0 starts from
model = build(100 + rank).to(device)
ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.002)      # several buckets
assert len(ddp._buckets) > 1, len(ddp._buckets)
for k, v in model.state_dict().items():
    np.testing.assert_array_equal(v.cpu().numpy(), initial[k], err_msg=f"rank 0's {k} was not broadcast")

launched_before_last_grad = []
first_layer_weight = next(iter(model.parameters()))      # its gradient comes last in backward
first_layer_weight.register_post_accumulate_grad_hook(
    lambda p: launched_before_last_grad.append(ddp._next_bucket) if ddp.require_backward_grad_sync else None)

opt = optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
share = B // world
for s in range(STEPS):
    lo = rank * share
    xb = dlcore.tensor(X[s, lo:lo + share], device=device)
    yb = dlcore.tensor(Y[s, lo:lo + share], device=device)
    opt.zero_grad()
    if which == "mlp" and s % 2 == 1:        # gradient accumulation: two micro-batches
        h = share // 2
        with ddp.no_sync():
            (loss_fn(ddp(xb[:h]), yb[:h]) * 0.5).backward()
        (loss_fn(ddp(xb[h:]), yb[h:]) * 0.5).backward()
    else:
        loss_fn(ddp(xb), yb).backward()
    opt.step()
assert min(launched_before_last_grad) >= 1, f"no bucket started before backward ended: {launched_before_last_grad}"

ref = build(100).to(device)
ref_opt = optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
for s in range(STEPS):
    ref_opt.zero_grad()
    loss_fn(ref(dlcore.tensor(X[s], device=device)), dlcore.tensor(Y[s], device=device)).backward()
    ref_opt.step()

worst = 0.0
for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values()):
    a, b = a.cpu().numpy(), b.cpu().numpy()
    err = float(np.abs(a - b).max() / (np.abs(b).max() + 1e-12))
    worst = max(worst, err)
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5, err_msg=f"{which}: {k} after {STEPS} steps")
# and the ranks agree bit for bit: they applied the same averaged gradients
flat = np.concatenate([v.cpu().numpy().ravel() for v in model.state_dict().values()])
first = dlcore.tensor(flat)
dist.broadcast(first, src=0)
np.testing.assert_array_equal(flat, first.numpy(), err_msg="ranks diverged")
print(f"rank {rank}: ddp {which} ok on {device}: {STEPS} steps, {len(ddp._buckets)} buckets, "
      f"max relative difference to one process {worst:.2e}", flush=True)

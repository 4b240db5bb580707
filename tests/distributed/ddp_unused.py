"""find_unused_parameters: ranks that use different parts of the model still agree.

    mpiexec -n 2 python tests/distributed/ddp_unused.py

Rank 0's loss uses only branch a, the other ranks' use a and b; branch c is used nowhere.
Expected: a's and b's gradients are the averages over ranks of each rank's local gradient (a
rank that did not use b contributes zeros), c's gradient stays None; without
find_unused_parameters the missing gradients are an error naming the parameters.
"""
import numpy as np

import dlcore
import dlcore.distributed as dist
from dlcore import nn

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()


class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        # c first: buckets go in reverse order, so b's and a's can start during backward on the
        # ranks that use them while rank 0 must wait for the end of backward for b's.
        self.c, self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2), nn.Linear(3, 2)

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


def local_grads(r):
    dlcore.manual_seed(0)
    m = Branches()
    x = dlcore.tensor(np.random.default_rng(r).standard_normal((4, 3)).astype(np.float32))
    (m(x, r != 0) ** 2).sum().backward()
    return m, x, {n: (p.grad.numpy().copy() if p.grad is not None else None) for n, p in m.named_parameters()}


model, x, _ = local_grads(rank)
model.zero_grad()
ddp = nn.parallel.DistributedDataParallel(model, find_unused_parameters=True, bucket_cap_mb=1e-5)
(ddp(x, rank != 0) ** 2).sum().backward()
every = [local_grads(r)[2] for r in range(world)]
for name, p in model.named_parameters():
    if name.startswith("c."):
        assert p.grad is None, name
        continue
    want = sum((g[name] if g[name] is not None else 0) for g in every) / world
    np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-6, atol=1e-7, err_msg=name)

strict = nn.parallel.DistributedDataParallel(Branches())
try:
    (strict(x, True) ** 2).sum().backward()
except RuntimeError as e:
    assert "c.weight" in str(e) and "find_unused_parameters" in str(e), e
else:
    raise AssertionError("expected an error for parameters without gradients")
print(f"rank {rank}: ddp unused ok", flush=True)

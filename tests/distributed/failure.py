"""A rank that fails must not leave the others blocked.

    mpiexec -n 2 python tests/distributed/failure.py raise|timeout

raise: rank 1 raises before the collective rank 0 is waiting in; the uncaught exception
aborts the job (rank 0 is stopped by the launcher, which exits non-zero).
timeout: rank 1 stays away from the collective (sleeps) without failing; rank 0's all_reduce
gives up after the group's 2 s timeout with DistTimeoutError, which then aborts the job.
"""
import sys
import time

import dlcore
import dlcore.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=2.0)
t = dlcore.ones(10)
if dist.get_rank() == 1:
    if mode == "raise":
        raise ValueError("rank 1 fails on purpose")
    time.sleep(60)
dist.all_reduce(t)
print("unreachable: the collective completed", flush=True)

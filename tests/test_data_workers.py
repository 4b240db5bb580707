"""DataLoader(num_workers=N): same batches as in-process loading, seeding, errors, shutdown;
and the torch spellings reachable after a bare `import dlcore`."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import dlcore
from dlcore.data import DataLoader, Dataset, TensorDataset, get_worker_info


class Squares(Dataset):
    """A map-style dataset that is not a TensorDataset, so the loader takes the generic path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, i * i, dtype=np.float32), i


class Noisy(Squares):
    """Draws from dlcore's and NumPy's global generators inside __getitem__ (augmentation-like)."""

    def __getitem__(self, i):
        info = get_worker_info()
        wid = -1 if info is None else info.id
        return float(dlcore.rand(1).item()), float(np.random.rand()), wid


class Failing(Squares):
    def __getitem__(self, i):
        if i == 7:
            raise KeyError(f"sample {i} is broken")
        return super().__getitem__(i)


class Dying(Squares):
    def __getitem__(self, i):
        if i == 5:
            os._exit(3)
        return super().__getitem__(i)


def _collect(loader):
    return [(x.numpy().copy(), y.numpy().copy()) for x, y in loader]


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_give_the_same_batches_in_the_same_order(workers, shuffle):
    ds = Squares(23)                                   # 23: last batch partial
    ref = _collect(DataLoader(ds, batch_size=4, shuffle=shuffle, seed=5))
    got = _collect(DataLoader(ds, batch_size=4, shuffle=shuffle, seed=5, num_workers=workers))
    assert len(got) == len(ref) == 6
    for (xr, yr), (xg, yg) in zip(ref, got):
        np.testing.assert_array_equal(xr, xg)
        np.testing.assert_array_equal(yr, yg)
    seen = np.concatenate([y for _, y in got])
    assert sorted(seen.tolist()) == list(range(23))


def test_drop_last_and_epochs_with_workers():
    loader = DataLoader(Squares(10), batch_size=3, shuffle=True, seed=1, drop_last=True, num_workers=2)
    e0 = [y.numpy().tolist() for _, y in loader]
    e1 = [y.numpy().tolist() for _, y in loader]
    assert len(e0) == len(e1) == 3 and all(len(b) == 3 for b in e0 + e1)
    assert e0 != e1                                    # a new order every epoch


def test_worker_seeding_is_deterministic_and_differs_between_workers():
    def run():
        loader = DataLoader(Noisy(8), batch_size=1, num_workers=2, seed=11, collate_fn=lambda b: b[0])
        return list(loader)
    a, b = run(), run()
    assert a == b                                      # seeded: reproducible
    by_worker = {}
    for torch_like, np_like, wid in a:
        by_worker.setdefault(wid, []).append((torch_like, np_like))
    assert set(by_worker) == {0, 1}                    # batch k goes to worker k mod 2
    assert by_worker[0][0] != by_worker[1][0]          # different streams per worker
    assert get_worker_info() is None                   # the main process is not a worker


def test_worker_init_fn_runs_in_each_worker():
    def init(wid):
        np.random.seed(1000 + wid)
    loader = DataLoader(Noisy(4), batch_size=1, num_workers=2, worker_init_fn=init,
                        collate_fn=lambda b: b[0])
    vals = {}
    for _, np_like, wid in loader:
        vals.setdefault(wid, np_like)                  # each worker's first draw
    assert vals[0] == np.random.RandomState(1000).rand()
    assert vals[1] == np.random.RandomState(1001).rand()


def test_exception_in_worker_is_reraised_with_its_traceback():
    loader = DataLoader(Failing(16), batch_size=4, num_workers=2)
    with pytest.raises(RuntimeError, match=r"(?s)DataLoader worker 1 raised on batch 1.*KeyError.*sample 7 is broken"):
        list(loader)


def test_dead_worker_raises_instead_of_hanging():
    loader = DataLoader(Dying(16), batch_size=2, num_workers=2, timeout=30)
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(loader)


def test_breaking_out_early_stops_the_workers():
    import multiprocessing
    it = iter(DataLoader(Squares(100), batch_size=2, num_workers=2))
    next(it)
    procs = list(it._workers)
    assert all(p.is_alive() for p in procs)
    del it
    deadline = time.time() + 10
    while any(p.is_alive() for p in procs) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(p.is_alive() for p in procs)
    assert not [c for c in multiprocessing.active_children() if c in procs]


def test_tensor_dataset_keeps_the_in_process_fast_path():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    got = [x.numpy().copy() for x, in DataLoader(TensorDataset(X), batch_size=4, num_workers=2, pin_memory=True)]
    np.testing.assert_array_equal(np.concatenate(got), X)


def test_bad_loader_arguments():
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(Squares(3), num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(Squares(3), prefetch_factor=2)
    with pytest.raises(ValueError, match="timeout"):
        DataLoader(Squares(3), num_workers=1, timeout=-1)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_loading_leaves_no_worker_behind(tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text(
        "import time, numpy as np\n"
        "from dlcore.data import DataLoader, Dataset\n"
        "class Slow(Dataset):\n"
        "    def __len__(self): return 1000\n"
        "    def __getitem__(self, i):\n"
        "        time.sleep(0.05); return np.zeros(2, np.float32)\n"
        "it = iter(DataLoader(Slow(), batch_size=2, num_workers=2))\n"
        "next(it)\n"
        "try:\n"                                     # the signal may come right after the print
        "    print(' '.join(str(p.pid) for p in it._workers), flush=True)\n"
        "    for _ in it: pass\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    # preexec_fn: a runner started in the background (`cmd &` without job control) hands its
    # children SIGINT ignored, and Python then installs no KeyboardInterrupt handler; give the
    # child the disposition an interactive shell would.
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    pids = [int(p) for p in proc.stdout.readline().split()]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert "interrupted" in out and proc.returncode == 0
    time.sleep(0.2)
    for pid in pids:                                   # the workers are gone too
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_torch_spellings_reachable_after_bare_import():
    code = ("import dlcore; "
            "assert dlcore.optim.Adam and dlcore.optim.lr_scheduler.StepLR; "
            "assert dlcore.nn.functional.relu and dlcore.nn.Linear; "
            "assert dlcore.data.DataLoader is dlcore.utils.data.DataLoader; "
            "assert dlcore.utils.data.Dataset and dlcore.utils.data.TensorDataset; "
            "import dlcore.utils.data as d; assert d.random_split")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)

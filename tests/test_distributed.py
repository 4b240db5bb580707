# Single-process parts of data-parallel training: dlcore.distributed without MPI, the autograd
# hooks DDP is built on, DistributedSampler (against torch's when installed) and the
# DataLoader's sampler= argument. The multi-rank tests are in test_distributed_mpi.py.
import os
import subprocess
import sys

import numpy as np
import pytest

import dlcore
import dlcore.distributed as dist
from dlcore import nn
from dlcore.data import DataLoader, DistributedSampler, TensorDataset


# ---- dlcore.distributed without mpi4py -------------------------------------------------------
def test_import_dlcore_does_not_load_mpi4py_or_distributed():
    code = ("import sys, dlcore, dlcore.nn; assert 'mpi4py' not in sys.modules; "
            "assert 'dlcore.distributed' not in sys.modules, 'eager import'; "
            "import dlcore.distributed as d, dlcore.nn.parallel; assert 'mpi4py' not in sys.modules; "
            "print(d.is_available())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr


def test_without_mpi4py_init_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)      # makes `from mpi4py import MPI` fail
    with pytest.raises(ImportError, match=r'pip install "dlcore\[mpi\]"'):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


def test_calls_before_init_process_group_raise_clearly():
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier, dist.destroy_process_group):
        with pytest.raises(RuntimeError, match="init_process_group"):
            fn()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(dlcore.ones(3))
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="num_replicas and rank"):
        DistributedSampler(range(10))


def test_init_process_group_rejects_bad_arguments():
    with pytest.raises(ValueError, match="backend"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="init_method"):
        dist.init_process_group("mpi", init_method="tcp://10.0.0.1:23456")
    with pytest.raises(ValueError, match="timeout"):
        dist.init_process_group("mpi", timeout=0)


def test_reduce_op_names():
    assert {op.name for op in dist.ReduceOp} == {"SUM", "AVG", "PRODUCT", "MAX", "MIN"}


# ---- autograd: post-accumulate-grad hooks and queue_callback -----------------------------------
def test_post_accumulate_grad_hook_sees_the_total_gradient_once_per_backward():
    w = dlcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    ((w * w).sum() + (3 * w).sum()).backward()            # w reaches the loss along two paths
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 2 * np.array([1.0, 2.0, 3.0]) + 3)
    (w * 2).sum().backward()                              # accumulates: the hook sees the sum
    np.testing.assert_allclose(seen[1], seen[0] + 2)
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_grad_hooks_fire_from_the_output_layer_backwards():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    order = []
    for name, p in model.named_parameters():
        p.register_post_accumulate_grad_hook(lambda t, name=name: order.append(name))
    model(dlcore.randn(5, 3)).sum().backward()
    assert sorted(order) == sorted(n for n, _ in model.named_parameters())
    assert order.index("2.weight") < order.index("0.weight")   # later layer ready first


def test_post_accumulate_grad_hook_not_called_by_autograd_grad_and_only_on_leaves():
    w = dlcore.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    (gw,) = dlcore.autograd.grad((w * w).sum(), [w])
    np.testing.assert_allclose(gw.numpy(), [2.0, 4.0])
    assert calls == [] and w.grad is None
    with pytest.raises(RuntimeError, match="leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="require grad"):
        dlcore.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="callable"):
        w.register_post_accumulate_grad_hook(3)


def test_queue_callback_runs_once_after_the_whole_backward():
    a = dlcore.tensor([1.0], requires_grad=True)
    b = dlcore.tensor([2.0], requires_grad=True)
    events = []

    def hook(t):
        events.append("hook")
        if len(events) == 1:
            dlcore.autograd.queue_callback(lambda: events.append(("end", a.grad is not None and b.grad is not None)))
    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * b).sum().backward()
    assert events == ["hook", "hook", ("end", True)]
    with pytest.raises(RuntimeError, match="no backward is running"):
        dlcore.autograd.queue_callback(lambda: None)


# ---- DistributedSampler --------------------------------------------------------------------
@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (1, 4, False),
                                                  (7, 2, True), (0, 2, False), (13, 5, False), (13, 5, True)])
def test_distributed_sampler_covers_each_sample_once(n, replicas, drop_last):
    shares = [DistributedSampler(range(n), replicas, r, shuffle=True, seed=3, drop_last=drop_last)
              for r in range(replicas)]
    for s in shares:
        s.set_epoch(2)
    got = [list(s) for s in shares]
    lens = {len(g) for g in got}
    assert lens == {len(shares[0])}, "every rank must see the same number of samples"
    flat = [i for g in got for i in g]
    if drop_last:
        assert len(flat) == (n // replicas) * replicas and len(set(flat)) == len(flat)
    else:
        assert len(flat) == -(-n // replicas) * replicas
        assert set(flat) == set(range(n))                # padding only repeats samples
        if n % replicas == 0:
            assert sorted(flat) == list(range(n))


def test_distributed_sampler_epochs_and_seeds():
    s = DistributedSampler(range(50), 2, 0, seed=1)
    e0 = list(s)
    assert list(s) == e0                                  # same epoch, same order
    s.set_epoch(1)
    assert list(s) != e0
    s.set_epoch(0)
    assert list(s) == e0
    assert list(DistributedSampler(range(50), 2, 0, seed=2)) != e0
    assert list(DistributedSampler(range(50), 2, 0, shuffle=False)) == list(range(0, 50, 2))


def test_distributed_sampler_bad_arguments():
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(range(10), 2, 2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(10), 0, 0)
    with pytest.raises(TypeError, match="rank"):
        DistributedSampler(range(10), 2, 1.0)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 5, False), (17, 4, True),
                                                  (16, 4, False)])
def test_distributed_sampler_matches_torch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for r in range(replicas):
        ours = DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)
        ref = TorchSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(ref) and len(ours) == len(ref)
        ours = DistributedSampler(range(n), replicas, r, shuffle=True, drop_last=drop_last)
        ref = TorchSampler(range(n), replicas, r, shuffle=True, drop_last=drop_last)
        assert len(ours) == len(ref) and ours.total_size == ref.total_size   # shuffles differ (generators)
    del torch


def test_dataloader_with_sampler():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    ds = TensorDataset(X, y)
    sampler = DistributedSampler(ds, 2, 1, shuffle=False)
    loader = DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    labels = [int(v) for _, yb in loader for v in yb.numpy()]
    assert labels == [1, 3, 5, 7, 9]
    generic = DataLoader(ds, batch_size=2, sampler=sampler, collate_fn=lambda b: [int(s[1]) for s in b])
    assert [v for b in generic for v in b] == [1, 3, 5, 7, 9]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_size=2, sampler=sampler, shuffle=True)


@pytest.mark.cuda
def test_cuda_current_stream_is_a_raw_handle():
    s = dlcore.cuda.current_stream()
    assert isinstance(s.cuda_stream, int) and s.device == dlcore.cuda.current_device()


def test_nccl_is_loaded_at_run_time_and_a_missing_library_says_what_to_install(monkeypatch, tmp_path):
    from dlcore.distributed import nccl
    monkeypatch.setattr(nccl, "_lib", None)
    monkeypatch.setenv("DLCORE_NCCL_LIBRARY", str(tmp_path / "libnccl.so.2"))
    monkeypatch.setattr(nccl, "_candidates", lambda: iter([str(tmp_path / "libnccl.so.2")]))
    with pytest.raises(RuntimeError, match="pip install nvidia-nccl-cu13"):
        nccl.library()
    assert nccl._lib is None


def test_nccl_library_search_covers_the_wheel_layout(monkeypatch, tmp_path):
    from dlcore.distributed import nccl
    lib = tmp_path / "nvidia" / "nccl" / "lib"
    lib.mkdir(parents=True)
    (lib / "libnccl.so.2").write_bytes(b"")
    monkeypatch.setattr(sys, "path", [str(tmp_path)] + sys.path)
    monkeypatch.delenv("DLCORE_NCCL_LIBRARY", raising=False)
    found = list(nccl._candidates())
    assert str(lib / "libnccl.so.2") in found and found[-1] == "libnccl.so.2"


def test_nccl_bootstraps_over_loopback_when_every_rank_is_on_one_machine(monkeypatch):
    from dlcore.distributed import nccl
    monkeypatch.setenv("NCCL_SOCKET_IFNAME", "")            # recorded, so restored afterwards
    monkeypatch.delenv("NCCL_SOCKET_IFNAME")
    nccl.bootstrap_environment(single_node=False)          # across machines: NCCL's own choice
    assert "NCCL_SOCKET_IFNAME" not in os.environ
    nccl.bootstrap_environment(single_node=True)
    assert os.environ["NCCL_SOCKET_IFNAME"] == "lo"
    monkeypatch.setenv("NCCL_SOCKET_IFNAME", "eth1")       # the user's choice stands
    nccl.bootstrap_environment(single_node=True)
    assert os.environ["NCCL_SOCKET_IFNAME"] == "eth1"


# ---- the NCCL binding's C ABI, against a stand-in library (tests/distributed/fake_nccl.c) ------
@pytest.fixture
def fake_nccl(tmp_path, monkeypatch):
    import ctypes
    import os
    import shutil
    from dlcore.distributed import nccl
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the stand-in libnccl")
    so = tmp_path / "libnccl.so.2"
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed", "fake_nccl.c")
    subprocess.run([cc, "-shared", "-fPIC", "-O1", src, "-o", str(so)], check=True, timeout=60)
    monkeypatch.setattr(nccl, "_lib", None)
    monkeypatch.setenv("DLCORE_NCCL_LIBRARY", str(so))
    # host memory stands in for device memory; the stream handle is a recognisable value
    monkeypatch.setattr(nccl.Communicator, "_ptr", lambda self, t, name: ctypes.c_void_p(t.data_ptr()))
    monkeypatch.setattr(nccl, "_stream", lambda device: ctypes.c_void_p(0x5EED))
    monkeypatch.setattr(dlcore.cuda, "set_device", lambda index: None)

    class OneRank:                  # the two calls from_mpi makes on an mpi4py communicator
        def Get_rank(self):
            return 0

        def Get_size(self):
            return 1

        def Bcast(self, buf, root=0):
            pass
    yield nccl, ctypes.CDLL(str(so)), OneRank()
    nccl._lib = None


def _read(lib, name, kind):
    """A global variable of the stand-in library (what its last call received)."""
    return kind.in_dll(lib, name).value


def test_nccl_binding_passes_ids_pointers_counts_types_and_ops(fake_nccl):
    import ctypes
    nccl, lib, mpi = fake_nccl
    comm = nccl.Communicator.from_mpi(mpi, 0)
    assert _read(lib, "last_id_ok", ctypes.c_int) == 1           # 128-byte id passed by value intact
    assert (_read(lib, "last_nranks", ctypes.c_int), _read(lib, "last_rank", ctypes.c_int)) == (1, 0)
    cases = [("float32", dist.ReduceOp.SUM, 7, 0), ("float32", dist.ReduceOp.AVG, 7, 4),
             ("float64", dist.ReduceOp.PRODUCT, 8, 1), ("int64", dist.ReduceOp.MAX, 4, 2),
             ("int64", dist.ReduceOp.MIN, 4, 3), ("bool", dist.ReduceOp.SUM, 1, 2), ("bool", dist.ReduceOp.MIN, 1, 3)]
    for dtype, op, code, op_code in cases:
        a = (np.arange(13) % 3).astype(dtype)
        t = dlcore.tensor(a)
        comm.all_reduce(t, op)
        np.testing.assert_array_equal(t.numpy(), a)
        assert _read(lib, "last_count", ctypes.c_size_t) == 13
        assert (_read(lib, "last_dtype", ctypes.c_int), _read(lib, "last_op", ctypes.c_int)) == (code, op_code)
        assert _read(lib, "last_stream", ctypes.c_void_p) == 0x5EED
    with pytest.raises(TypeError, match="AVG"):
        comm.all_reduce(dlcore.tensor([1, 2]), dist.ReduceOp.AVG)
    comm.broadcast(dlcore.ones(4), 0)
    assert _read(lib, "last_root", ctypes.c_int) == 0 and _read(lib, "last_count", ctypes.c_size_t) == 4
    x = dlcore.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    out = [dlcore.zeros(2, 3)]
    comm.all_gather(out, x)
    np.testing.assert_array_equal(out[0].numpy(), x.numpy())
    assert _read(lib, "last_count", ctypes.c_size_t) == 6
    res = dlcore.zeros(2, 3)
    comm.reduce_scatter(res, [x], dist.ReduceOp.SUM)
    np.testing.assert_array_equal(res.numpy(), x.numpy())
    assert nccl.version() == 22703
    comm.destroy()

# test_dlpack.py — DLPack exchange with NumPy (and PyTorch when it is installed).
#
# Zero-copy is checked the way a user sees it: a write on one side is visible on the other.
# Lifetime is checked by dropping the producer and reading the consumer afterwards.
import gc

import numpy as np
import pytest

import dlcore
from conftest import requires_cuda, to_numpy

DTYPES = ["float32", "float64", "int64", "bool"]


def _values(dtype, shape=(3, 4)):
    x = (np.arange(int(np.prod(shape))) % 5).reshape(shape)
    return x.astype(dtype)


def test_dlpack_device():
    t = dlcore.zeros(3)
    dev = t.__dlpack_device__()
    assert tuple(int(v) for v in dev) == (1, 0)   # kDLCPU, device 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_from_dlpack_zero_copy(dtype):
    x = _values(dtype)
    t = dlcore.tensor(x)
    a = np.from_dlpack(t)
    assert a.dtype == np.dtype(dtype) and a.shape == (3, 4)
    np.testing.assert_array_equal(a, x)
    t.zero_()                                 # write on the dlcore side ...
    assert not a.any()                        # ... is seen on the NumPy side


def test_numpy_from_dlpack_is_writable():
    # NumPy >= 2 marks arrays imported through a legacy (unversioned) capsule read-only; a
    # producer that honours max_version=(1, 0) hands over a writable view.
    t = dlcore.zeros(4)
    a = np.from_dlpack(t)
    assert a.flags.writeable
    a[2] = 5.0
    assert t.tolist() == [0.0, 0.0, 5.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_dlcore_from_dlpack_numpy_zero_copy(dtype):
    x = _values(dtype)
    t = dlcore.from_dlpack(x)
    assert t.dtype == getattr(dlcore, dtype) and t.shape == (3, 4)
    np.testing.assert_array_equal(to_numpy(t), x)
    x[1, 2] = 1 if dtype != "bool" else True
    x[0, 0] = 0
    np.testing.assert_array_equal(to_numpy(t), x)
    t.fill_(1)
    assert np.all(x == 1)


def test_round_trip_shares_memory():
    t = dlcore.arange(12, dtype=dlcore.float32).reshape(3, 4)
    back = dlcore.from_dlpack(np.from_dlpack(t))
    assert back.shape == (3, 4) and back.dtype == dlcore.float32
    back[1, 1] = -9.0
    assert t.tolist()[1][1] == -9.0
    # a dlcore tensor is itself a producer
    same = dlcore.from_dlpack(t)
    same.fill_(2.0)
    assert np.all(to_numpy(t) == 2.0)


def test_non_contiguous_export():
    x = np.arange(30, dtype=np.float32).reshape(5, 6)
    t = dlcore.tensor(x)
    np.testing.assert_array_equal(np.from_dlpack(t.T), x.T)
    np.testing.assert_array_equal(np.from_dlpack(t[1::2, ::3]), x[1::2, ::3])
    np.testing.assert_array_equal(np.from_dlpack(t[:, 2]), x[:, 2])
    v = np.from_dlpack(t.T)
    t[0, 1] = 100.0
    assert v[1, 0] == 100.0                   # still a view of the same memory
    np.testing.assert_array_equal(np.from_dlpack(dlcore.tensor(2.5)), np.array(2.5, np.float32))


def test_non_contiguous_import():
    x = np.arange(42, dtype=np.float64).reshape(6, 7)
    for view in (x.T, x[::2, 1::3], x[:, 3], x[1:4, 2:5].T):
        t = dlcore.from_dlpack(view)
        assert tuple(t.shape) == view.shape
        np.testing.assert_array_equal(to_numpy(t), view)
        # ops on the imported strided tensor are correct
        np.testing.assert_allclose(to_numpy(t * 2 + 1), view * 2 + 1)
        np.testing.assert_allclose(to_numpy(t.sum(dim=0)), view.sum(axis=0))
    t = dlcore.from_dlpack(x.T)
    x[2, 5] = -1.0
    assert to_numpy(t)[5, 2] == -1.0


def test_lifetime_producer_dropped():
    a = np.from_dlpack(dlcore.arange(1000, dtype=dlcore.float64) * 2)  # temporary producer
    gc.collect()
    _ = [dlcore.ones(1000, dtype=dlcore.float64) for _ in range(10)]  # reuse freed memory
    np.testing.assert_array_equal(a, np.arange(1000) * 2.0)

    t = dlcore.from_dlpack(np.arange(1000, dtype=np.int64) * 3)
    gc.collect()
    _ = [np.ones(1000, np.int64) for _ in range(10)]
    np.testing.assert_array_equal(to_numpy(t), np.arange(1000) * 3)


def test_from_dlpack_empty_and_scalar():
    e = dlcore.from_dlpack(np.zeros((0, 3), np.float32))
    assert e.shape == (0, 3)
    s = dlcore.from_dlpack(np.array(4.5))
    assert s.shape == () and s.item() == 4.5


def test_from_dlpack_rejects_non_producers():
    with pytest.raises((TypeError, AttributeError)):
        dlcore.from_dlpack([1, 2, 3])


# ---------------------------------------------------------------------------------------------
# PyTorch interop (skipped when torch is not installed)

def test_torch_interop_cpu():
    torch = pytest.importorskip("torch")
    t = dlcore.arange(12, dtype=dlcore.float32).reshape(3, 4)
    pt = torch.from_dlpack(t)
    assert tuple(pt.shape) == (3, 4) and pt.dtype == torch.float32
    np.testing.assert_array_equal(pt.numpy(), to_numpy(t))
    pt[0, 0] = 42.0
    assert t.tolist()[0][0] == 42.0
    src = torch.arange(10, dtype=torch.float64).reshape(2, 5).t()
    d = dlcore.from_dlpack(src)
    assert d.shape == (5, 2) and d.dtype == dlcore.float64
    np.testing.assert_array_equal(to_numpy(d), src.numpy())
    src[1, 0] = -3.0
    assert to_numpy(d)[1, 0] == -3.0
    pt_t = torch.from_dlpack(t.T)
    np.testing.assert_array_equal(pt_t.numpy(), to_numpy(t).T)


@requires_cuda
def test_torch_interop_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA")
    t = dlcore.arange(6, dtype=dlcore.float32, device="cuda").reshape(2, 3)
    pt = torch.from_dlpack(t)
    assert pt.is_cuda
    np.testing.assert_array_equal(pt.cpu().numpy(), to_numpy(t))
    src = torch.randn(4, 5, device="cuda")
    d = dlcore.from_dlpack(src)
    assert d.is_cuda
    np.testing.assert_array_equal(to_numpy(d), src.cpu().numpy())

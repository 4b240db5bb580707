# Whole-row gathers and scatter-adds (index_select, index_add_) on the sizes where the CPU
# kernels take their fast paths (csrc/cpu/index.cpp): gathers whose output passes 4 MB with
# rows of 256 bytes or more use streaming stores (unaligned row starts, rows that are not a
# multiple of 16 bytes, 1-, 4- and 8-byte elements); scatter-adds of such rows prefetch the rows
# ahead. Both only move or add whole rows in index order, so the results must equal NumPy's
# exactly, on 1 and 2 threads and on both CPU paths.
import numpy as np
import pytest

import dlcore
from conftest import to_numpy


@pytest.fixture(params=["native", "avx2-fma"])
def cpu_path(request, monkeypatch):
    if request.param != "native":
        monkeypatch.setenv("DLCORE_CPU_PATH", request.param)
    return request.param


@pytest.fixture(params=[1, 2])
def threads(request):
    before = dlcore.get_num_threads()
    dlcore.set_num_threads(request.param)
    yield request.param
    dlcore.set_num_threads(before)


@pytest.mark.parametrize("dtype,shape,m", [
    ("float32", (3001, 67), 16001),     # 268-byte rows, 4.3 MB out: streaming, unaligned rows
    ("float64", (997, 33), 16411),      # 264-byte rows, 4.3 MB out
    ("int64", (50, 64), 8209),          # 512-byte rows, 4.2 MB out
    ("bool", (13, 301), 14009),         # 301-byte rows, 4.2 MB out
    ("float32", (3001, 67), 101),       # small output: plain copies
    ("float32", (7, 1), 5),             # one element per row
])
def test_index_select_rows_exact(dtype, shape, m, cpu_path, threads, rng):
    x = (rng.standard_normal(shape) > 0) if dtype == "bool" else \
        (rng.standard_normal(shape) * 100).astype(dtype)
    idx = rng.integers(0, shape[0], m)
    got = to_numpy(dlcore.tensor(x).index_select(0, dlcore.tensor(idx)))
    np.testing.assert_array_equal(got, np.take(x, idx, axis=0))
    # a middle dim too: [outer, n, inner] with outer > 1
    x3 = x.reshape(1, *shape).repeat(2, axis=0)
    got3 = to_numpy(dlcore.tensor(x3).index_select(1, dlcore.tensor(idx[:257])))
    np.testing.assert_array_equal(got3, np.take(x3, idx[:257], axis=1))


def test_index_select_empty_index(rng):
    x = rng.standard_normal((5, 300)).astype(np.float32)
    got = dlcore.tensor(x).index_select(0, dlcore.tensor(np.zeros(0, np.int64)))
    assert tuple(got.shape) == (0, 300)


@pytest.mark.parametrize("dtype,inner,n,m", [
    ("float32", 67, 1009, 4001),    # 268-byte rows, repeated indices
    ("float32", 256, 10000, 2048),  # the embedding-gradient shape of `bench ops`, scaled down
    ("float64", 33, 7, 997),        # few destination rows: heavy repetition
    ("float32", 64, 1, 3),          # a single destination row
    ("float32", 63, 50, 0),         # nothing to add
])
def test_index_add_rows_exact(dtype, inner, n, m, cpu_path, threads, rng):
    acc = rng.standard_normal((n, inner)).astype(dtype)
    src = rng.standard_normal((m, inner)).astype(dtype)
    idx = rng.integers(0, n, m)
    t = dlcore.tensor(acc.copy())
    t.index_add_(0, dlcore.tensor(idx), dlcore.tensor(src))
    want = acc.copy()
    np.add.at(want, idx, src)          # element by element in index order, in dtype: same bits
    np.testing.assert_array_equal(to_numpy(t), want)
    exact = acc.astype(np.float64)
    np.add.at(exact, idx, src.astype(np.float64))
    np.testing.assert_allclose(to_numpy(t), exact, rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-4 if dtype == "float32" else 1e-11)

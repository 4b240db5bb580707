# test_gemm_blocking.py — the CPU GEMM at the edges of its register tile and cache blocks.
#
# The blocks (MR x NR register tile, KC / MC / NC cache blocks) are chosen at run time from the
# cache sizes of the machine, so the shapes here are derived from what _C.gemm_blocking reports
# for the path under test: one less / one more than each block, 1, primes, and empty products.
# Every SIMD path the CPU has is forced in turn (DLCORE_CPU_PATH, read at each call), on one and
# two threads, with row-major operands and transposed views (the packers and the in-place reads
# differ), against a float64 NumPy reference.
import numpy as np
import pytest

import dlcore
from dlcore import _C
from conftest import make_array, to_numpy
from test_matmul import check_matmul

PATHS = ["generic", "avx2", None]      # None: the native path (AVX-512 where the CPU has it)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    saved = dlcore.get_num_threads()
    dlcore.set_num_threads(request.param)
    yield request.param
    dlcore.set_num_threads(saved)


def force_path(monkeypatch, path):
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    else:
        monkeypatch.delenv("DLCORE_CPU_PATH", raising=False)


def edge_shapes(blk):
    """(M, K, N) at the edges of the blocks in `blk` (a _C.gemm_blocking dict)."""
    MR, NR, MC, KC, NC = blk["MR"], blk["NR"], blk["MC"], blk["KC"], blk["NC"]
    return sorted({
        (1, 1, 1), (MR - 1, 2, NR - 1), (MR + 1, 3, NR + 1), (MR, 13, NR), (2 * MR + 1, 17, 3 * NR + 5),
        (13, KC - 1, 11), (7, KC + 1, NR + 3), (MR + 5, 2 * KC + 3, 2 * NR - 1),   # 1, 2, 3 kc passes
        (MC + 1, 5, NR + 1), (MC - 1, 19, 2), (2 * MC + 7, 3, 5),                  # M past one MC block
        (5, 3, NC + 1), (MR, 2, NC - 1),                                           # N past one NC block
        (97, 61, 53), (64, 64, 64), (256, 256, 10), (64, 10, 128),
    })


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p or "native")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_block_edges(path, dtype, threads, monkeypatch, rng):
    force_path(monkeypatch, path)
    blk = _C.gemm_blocking(dtype == "float64")
    assert blk["KC"] >= 16 and blk["MC"] % blk["MR"] == 0 and blk["NC"] % blk["NR"] == 0, blk
    for m, k, n in edge_shapes(blk):
        a = make_array(rng, (m, k), dtype)
        b = make_array(rng, (k, n), dtype)
        check_matmul(dlcore.tensor(a) @ dlcore.tensor(b), a, b, dtype)
        # Transposed views: A^T (column-major A), B^T (a Linear weight), both.
        at = dlcore.tensor(np.ascontiguousarray(a.T)).T
        bt = dlcore.tensor(np.ascontiguousarray(b.T)).T
        check_matmul(at @ dlcore.tensor(b), a, b, dtype)
        check_matmul(dlcore.tensor(a) @ bt, a, b, dtype)
        check_matmul(at @ bt, a, b, dtype)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p or "native")
def test_gemm_block_edges_empty(path, monkeypatch):
    force_path(monkeypatch, path)
    for m, k, n in [(0, 5, 7), (5, 0, 7), (5, 7, 0), (0, 0, 0)]:
        got = dlcore.zeros(m, k) @ dlcore.zeros(k, n)
        assert tuple(got.shape) == (m, n)
        np.testing.assert_array_equal(to_numpy(got), np.zeros((m, n), np.float32))


def check_gemm_epilogue(rng, a, b, beta, act, with_bias, dtype):
    """_C.gemm's C = act(A B + beta C + bias) (act 1 = ReLU) against float64."""
    (m, k), n = a.shape, b.shape[1]
    c0 = make_array(rng, (m, n), dtype)
    bias = make_array(rng, (n,), dtype)
    out = dlcore.tensor(c0.copy())
    _C.gemm(dlcore.tensor(a)._impl, dlcore.tensor(b)._impl,
            dlcore.tensor(bias)._impl if with_bias else None, act, 1.0, beta, out._impl,
            False, False)
    ref = a.astype(np.float64) @ b.astype(np.float64) + beta * c0 + (bias if with_bias else 0)
    if act == 1:
        ref = np.maximum(ref, 0)
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(to_numpy(out), ref, rtol=tol, atol=tol * np.sqrt(k))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p or "native")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_block_edges_accumulate(path, dtype, threads, monkeypatch, rng):
    # K over several kc passes: the first pass applies beta (and the bias), the later ones
    # accumulate (the plain C += AB write-back), the last one the activation; ragged M and N.
    force_path(monkeypatch, path)
    blk = _C.gemm_blocking(dtype == "float64")
    MR, NR, KC = blk["MR"], blk["NR"], blk["KC"]
    for (m, k, n), beta, act, with_bias in [((MR + 1, 2 * KC + 1, NR + 3), 1.0, 0, False),
                                            ((2 * MR - 1, KC + 7, 2 * NR + 1), 0.0, 0, False),
                                            ((3 * MR, 2 * KC - 1, NR - 1), 0.5, 1, True)]:
        a = make_array(rng, (m, k), dtype)
        b = make_array(rng, (k, n), dtype)
        check_gemm_epilogue(rng, a, b, beta, act, with_bias, dtype)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p or "native")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_narrow_c(path, dtype, threads, monkeypatch, rng):
    # N <= 12 with a row-major A: the dot-product kernels (vectors along k; the k tail masked,
    # column groups of the tile, row tiles split between threads) and the C^T path; B
    # row-major (B^T packed by the driver) and as a B^T view (read in place).
    force_path(monkeypatch, path)
    for m, k, n in [(8, 16, 1), (10, 23, 3), (31, 71, 10), (37, 16, 12), (64, 130, 7),
                    (200, 9, 5), (9, 257, 11)]:
        a = make_array(rng, (m, k), dtype)
        b = make_array(rng, (k, n), dtype)
        bt = dlcore.tensor(np.ascontiguousarray(b.T)).T
        check_matmul(dlcore.tensor(a) @ dlcore.tensor(b), a, b, dtype)
        check_matmul(dlcore.tensor(a) @ bt, a, b, dtype)
        # A row-major B with a row stride larger than N (a column slice of a wider matrix).
        wide = make_array(rng, (k, n + 5), dtype)
        check_matmul(dlcore.tensor(a) @ dlcore.tensor(wide)[:, 2:2 + n], a, wide[:, 2:2 + n], dtype)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p or "native")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_tall_a_several_passes(path, dtype, threads, monkeypatch, rng):
    # A tall A (>= 32 row panels per thread: the threads claim row chunks from a shared
    # counter, pass after pass) over three kc passes, ragged M and N, row-major A (read in
    # place or packed) and an A^T view; a bias and beta on the first pass only.
    force_path(monkeypatch, path)
    blk = _C.gemm_blocking(dtype == "float64")
    MR, NR, KC = blk["MR"], blk["NR"], blk["KC"]
    m, k, n = 64 * MR + 5, 2 * KC + 3, 2 * NR + 3
    a = make_array(rng, (m, k), dtype)
    b = make_array(rng, (k, n), dtype)
    check_matmul(dlcore.tensor(a) @ dlcore.tensor(b), a, b, dtype)
    at = dlcore.tensor(np.ascontiguousarray(a.T)).T
    check_matmul(at @ dlcore.tensor(b), a, b, dtype)
    check_gemm_epilogue(rng, a, b, 0.5, 1, True, dtype)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p or "native")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_every_edge_row_count(path, dtype, monkeypatch, rng):
    # Every row count of the last row panel (float64 runs some of them as pieces of the
    # instantiated row counts: 11 = 8 + 2 + 1), with the full epilogue: alpha, beta, ReLU and a
    # bias per column or per row (the per-row bias moves with each piece); A row-major (read
    # in place or packed) and as an A^T view.
    force_path(monkeypatch, path)
    MR = _C.gemm_blocking(dtype == "float64")["MR"]
    k, n = 19, 13
    for m in [r for r in range(1, MR)] + [MR + r for r in range(1, MR)]:
        a = make_array(rng, (m, k), dtype)
        b = make_array(rng, (k, n), dtype)
        c0 = make_array(rng, (m, n), dtype)
        for per_row in (False, True):
            bias = make_array(rng, (m if per_row else n,), dtype)
            for a_t in (dlcore.tensor(a), dlcore.tensor(np.ascontiguousarray(a.T)).T):
                out = dlcore.tensor(c0.copy())
                _C.gemm(a_t._impl, dlcore.tensor(b)._impl, dlcore.tensor(bias)._impl, 1, 0.75, 0.5,
                        out._impl, per_row, False)
                ref = 0.75 * (a.astype(np.float64) @ b.astype(np.float64)) + 0.5 * c0 + (
                    bias[:, None] if per_row else bias[None, :])
                tol = 1e-4 if dtype == "float32" else 1e-10
                np.testing.assert_allclose(to_numpy(out), np.maximum(ref, 0), rtol=tol, atol=tol * np.sqrt(k),
                                           err_msg=f"m={m} per_row={per_row}")

# test_matmul.py — matmul / @ against a float64 NumPy reference.
#
# Tolerance: the rounding error of a K-term dot product is bounded by a multiple of
# eps * sum_k |a_ik||b_kj|, so each element is checked against
#     |C - C_ref| <= rtol * |C_ref| + coef * (|A| @ |B|)
# with coef 1e-5 (float32) or 1e-13 (float64). Any indexing or tiling bug produces errors of the
# size of |C| itself and fails by orders of magnitude.
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dlcore
from conftest import assert_names_op, assert_names_shapes, make_array, to_numpy

COEF = {"float32": 1e-5, "float64": 1e-13}
RTOL = {"float32": 1e-5, "float64": 1e-12}


def check_matmul(out, a, b, dtype):
    """out: dlcore result; a, b: the NumPy inputs (any layout) in `dtype`."""
    assert out.dtype == getattr(dlcore, dtype)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = np.matmul(a64, b64)
    mag = np.matmul(np.abs(a64), np.abs(b64))
    got = to_numpy(out).astype(np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert np.all(np.isfinite(got))
    err = np.abs(got - ref)
    bound = RTOL[dtype] * np.abs(ref) + COEF[dtype] * mag + 1e-30
    if err.size and not np.all(err <= bound):
        i = np.unravel_index(int(np.argmax(err / bound)), err.shape)
        raise AssertionError(f"matmul {a.shape}@{b.shape} {dtype}: at {i} got {got[i]!r}, "
                             f"expected {ref[i]!r}, |err|={err[i]:.3g} > {bound[i]:.3g}; "
                             f"{int(np.sum(err > bound))}/{err.size} elements off")


# A sample of (M, K, N) from {1, 7, 31, 64, 257, 1000}: every value appears in every role, plus
# shapes that are exact tiles and shapes one past a tile.
MKN = [
    (1, 1, 1), (1, 7, 31), (7, 1, 64), (31, 64, 7), (64, 64, 64), (257, 31, 1), (1, 257, 1000),
    (1000, 7, 1), (7, 1000, 31), (257, 257, 64), (64, 1000, 257), (31, 31, 257), (1000, 64, 7),
    (65, 129, 33), (128, 256, 96), (1, 1000, 1), (1000, 1, 1000),
]


@pytest.mark.parametrize("m,k,n", MKN, ids=lambda v: str(v))
def test_matmul_2d_float32(m, k, n, device):
    rng = np.random.default_rng(m * 1000003 + k * 1009 + n)
    a = make_array(rng, (m, k), "float32")
    b = make_array(rng, (k, n), "float32")
    ta, tb = dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)
    check_matmul(ta @ tb, a, b, "float32")
    if m * n * k <= 2_000_000:
        check_matmul(dlcore.matmul(ta, tb), a, b, "float32")


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 31, 64), (257, 64, 31), (64, 1000, 7), (31, 257, 257)],
                         ids=lambda v: str(v))
def test_matmul_2d_float64(m, k, n, rng):
    a = make_array(rng, (m, k), "float64")
    b = make_array(rng, (k, n), "float64")
    check_matmul(dlcore.tensor(a) @ dlcore.tensor(b), a, b, "float64")


def test_matmul_value_scale(device, rng):
    # large and small magnitudes are held to relative, not absolute, accuracy
    a = make_array(rng, (33, 65), "float32") * np.float32(1e4)
    b = make_array(rng, (65, 17), "float32") * np.float32(1e-3)
    check_matmul(dlcore.tensor(a, device=device) @ dlcore.tensor(b, device=device), a, b, "float32")


@pytest.mark.parametrize("m,k,n", [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0), (1, 0, 1)])
def test_matmul_zero_size(m, k, n, device):
    a = np.ones((m, k), np.float32)
    b = np.ones((k, n), np.float32)
    out = dlcore.tensor(a, device=device) @ dlcore.tensor(b, device=device)
    assert out.shape == (m, n)
    np.testing.assert_array_equal(to_numpy(out), np.zeros((m, n)))   # K == 0 sums to zero


@pytest.mark.parametrize("m,k,n", [(7, 31, 5), (64, 64, 64), (257, 33, 130)], ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_transposed_views(m, k, n, dtype, device, rng):
    at = make_array(rng, (k, m), dtype)          # stored transposed
    bt = make_array(rng, (n, k), dtype)
    a = make_array(rng, (m, k), dtype)
    b = make_array(rng, (k, n), dtype)
    tat, tbt = dlcore.tensor(at, device=device), dlcore.tensor(bt, device=device)
    ta, tb = dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)
    check_matmul(tat.T @ tb, at.T, b, dtype)
    check_matmul(ta @ tbt.T, a, bt.T, dtype)
    check_matmul(tat.T @ tbt.T, at.T, bt.T, dtype)
    check_matmul(dlcore.matmul(tat.transpose(0, 1), tbt.transpose(1, 0)), at.T, bt.T, dtype)


def test_matmul_sliced_views(device, rng):
    a = make_array(rng, (70, 90), "float32")
    b = make_array(rng, (120, 50), "float32")
    ta, tb = dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)
    # row step, column offset, column step, and a transposed slice
    check_matmul(ta[::2, 5:65] @ tb[10:70, 3:40], a[::2, 5:65], b[10:70, 3:40], "float32")
    check_matmul(ta[:, ::3] @ tb[::4, :], a[:, ::3], b[::4, :], "float32")
    check_matmul(ta[1:31, :].T @ tb[:30, ::2], a[1:31, :].T, b[:30, ::2], "float32")
    check_matmul(ta[3] @ tb[:90], a[3], b[:90], "float32")
    # an expanded (stride-0) operand
    row = dlcore.tensor(a[:1], device=device).expand(8, 90)
    check_matmul(row @ dlcore.tensor(b[:90], device=device), np.broadcast_to(a[:1], (8, 90)), b[:90], "float32")


@pytest.mark.parametrize("sa,sb", [
    ((3, 7, 5), (3, 5, 4)), ((1, 31, 17), (4, 17, 9)), ((2, 1, 7, 5), (3, 5, 6)),
    ((4, 7, 5), (5, 6)), ((7, 5), (4, 5, 6)), ((2, 3, 1, 33, 20), (3, 1, 20, 7)),
    ((0, 7, 5), (5, 6)), ((5, 64, 65), (5, 65, 63)),
], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_batched_broadcast(sa, sb, dtype, device, rng):
    a = make_array(rng, sa, dtype)
    b = make_array(rng, sb, dtype)
    out = dlcore.tensor(a, device=device) @ dlcore.tensor(b, device=device)
    check_matmul(out, a, b, dtype)


def test_matmul_batched_transposed(device, rng):
    a = make_array(rng, (4, 33, 17), "float32")
    b = make_array(rng, (4, 21, 33), "float32")
    ta, tb = dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)
    check_matmul(ta.transpose(1, 2) @ tb.transpose(1, 2), a.transpose(0, 2, 1), b.transpose(0, 2, 1), "float32")
    check_matmul(ta.mT @ tb.mT, a.transpose(0, 2, 1), b.transpose(0, 2, 1), "float32")
    # batch dim that is not outermost in memory
    p = make_array(rng, (17, 4, 9), "float32")
    check_matmul(dlcore.tensor(p, device=device).permute(1, 0, 2).mT @ ta.mT.mT[:, :17, :5].mT.mT,
                 p.transpose(1, 0, 2).transpose(0, 2, 1), a[:, :17, :5], "float32")


@pytest.mark.parametrize("sa,sb", [
    ((7,), (7, 5)), ((31, 7), (7,)), ((7,), (7,)), ((1000,), (1000,)), ((257,), (257, 31)),
    ((5,), (3, 5, 4)), ((3, 4, 5), (5,)), ((0,), (0,)), ((0,), (0, 3)),
], ids=str)
def test_matmul_vectors(sa, sb, device, rng):
    a = make_array(rng, sa, "float32")
    b = make_array(rng, sb, "float32")
    out = dlcore.matmul(dlcore.tensor(a, device=device), dlcore.tensor(b, device=device))
    check_matmul(out, a, b, "float32")
    if len(sa) == 1 and len(sb) == 1:
        assert out.shape == ()


# ---------------------------------------------------------------------------------------------
# hypothesis shape fuzz

@st.composite
def matmul_shapes(draw):
    m, k, n = draw(st.integers(0, 9)), draw(st.integers(0, 9)), draw(st.integers(0, 9))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=0, max_side=3))
    ba, bb = batch.input_shapes
    kind = draw(st.sampled_from(["mm", "vm", "mv", "vv"]))
    sa = (k,) if kind in ("vm", "vv") else ba + (m, k)
    sb = (k,) if kind in ("mv", "vv") else bb + (k, n)
    transpose_a = draw(st.booleans()) and len(sa) >= 2
    transpose_b = draw(st.booleans()) and len(sb) >= 2
    return sa, sb, transpose_a, transpose_b


@settings(max_examples=50, deadline=None)
@given(shapes=matmul_shapes(), dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2**31))
def test_matmul_fuzz(shapes, dtype, seed):
    sa, sb, tra, trb = shapes
    rng = np.random.default_rng(seed)

    def operand(shape, transposed):
        if not transposed:
            x = make_array(rng, shape, dtype)
            return dlcore.tensor(x), x
        stored = shape[:-2] + (shape[-1], shape[-2])
        x = make_array(rng, stored, dtype)
        return dlcore.tensor(x).mT, np.swapaxes(x, -1, -2)

    ta, a = operand(sa, tra)
    tb, b = operand(sb, trb)
    check_matmul(ta @ tb, a, b, dtype)


# ---------------------------------------------------------------------------------------------
# errors

@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (4,)), ((6, 3), (4,)), ((3,), (2, 3)),
                                   ((2, 7, 3), (2, 4, 5))], ids=str)
def test_matmul_inner_mismatch(sa, sb):
    with pytest.raises(ValueError) as ei:
        dlcore.matmul(dlcore.ones(*sa), dlcore.ones(*sb))
    assert_names_op(ei, "matmul")
    assert_names_shapes(ei, sa, sb)
    with pytest.raises(ValueError) as ei:
        dlcore.ones(*sa) @ dlcore.ones(*sb)
    assert_names_op(ei, "matmul")


def test_matmul_batch_mismatch():
    with pytest.raises(ValueError) as ei:
        dlcore.ones(2, 3, 4) @ dlcore.ones(3, 4, 5)
    assert_names_op(ei, "matmul")


def test_matmul_zero_dim_operand():
    with pytest.raises(ValueError):
        dlcore.tensor(2.0) @ dlcore.ones(3)


@pytest.mark.parametrize("da,db", [(dlcore.int64, dlcore.int64), (dlcore.float32, dlcore.int64),
                                   (dlcore.bool, dlcore.bool), (dlcore.float32, dlcore.float64),
                                   (dlcore.float64, dlcore.float32)], ids=str)
def test_matmul_dtype_errors(da, db):
    with pytest.raises(TypeError):
        dlcore.ones(2, 3, dtype=da) @ dlcore.ones(3, 4, dtype=db)
    with pytest.raises(TypeError):
        dlcore.matmul(dlcore.ones(3, dtype=da), dlcore.ones(3, dtype=db))


def test_matmul_larger_threaded(device, rng):
    a = make_array(rng, (513, 1000), "float32")
    b = make_array(rng, (1000, 300), "float32")
    ta, tb = dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)
    check_matmul(ta @ tb, a, b, "float32")
    check_matmul(ta.T[:300].T @ tb[:300], a[:, :300], b[:300], "float32")


@pytest.mark.parametrize("m,k,n", [(100, 300, 1000), (64, 1100, 700), (97, 40, 2000)], ids=str)
def test_matmul_short_a_packed_b(m, k, n, rng):
    # M <= MC with a B too big to read in place: the path where threads own runs of B panels,
    # pack them group by group and prefetch the next group (or next kc pass) while computing.
    # Several groups per thread, K split into passes (1100), ragged last panels (700, 2000).
    a = make_array(rng, (m, k), "float32")
    b = make_array(rng, (k, n), "float32")
    check_matmul(dlcore.tensor(a) @ dlcore.tensor(b), a, b, "float32")
    check_matmul(dlcore.tensor(a) @ dlcore.tensor(b.T.copy()).T, a, b, "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_tall_a_split_by_rows(dtype, rng):
    # >= 32 row panels per thread: each of two threads packs and walks its own rows against a
    # shared packed B (several MC blocks each, K in two passes, ragged last panels), with a
    # row-major A, a transposed A, and the fused epilogue (bias + relu, beta accumulate).
    threads = dlcore.get_num_threads()
    dlcore.set_num_threads(2)
    try:
        m, k, n = 1003, 700, 131
        a = make_array(rng, (m, k), dtype)
        b = make_array(rng, (k, n), dtype)
        check_matmul(dlcore.tensor(a) @ dlcore.tensor(b), a, b, dtype)
        at = np.ascontiguousarray(a.T)
        check_matmul(dlcore.tensor(at).T @ dlcore.tensor(b), a, b, dtype)
        bias = make_array(rng, (n,), dtype)
        c0 = make_array(rng, (m, n), dtype)
        out = dlcore.tensor(c0.copy())
        dlcore._C.gemm(dlcore.tensor(a)._impl, dlcore.tensor(b)._impl, bias=dlcore.tensor(bias)._impl,
                       act=1, beta=0.5, out=out._impl)
        ref = np.maximum(a.astype(np.float64) @ b.astype(np.float64) + 0.5 * c0 + bias, 0)
        np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-4 if dtype == "float32" else 1e-10,
                                   atol=1e-3 if dtype == "float32" else 1e-9)
    finally:
        dlcore.set_num_threads(threads)


@pytest.mark.parametrize("path", ["generic", None])
def test_matmul_cpu_paths(path, monkeypatch, rng):
    # DLCORE_CPU_PATH=generic forces the portable kernels (read at each call); both the portable
    # and the dispatched (AVX2 when present) paths must meet the same bound.
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    for m, k, n in [(1, 1, 1), (7, 31, 5), (65, 129, 33), (257, 64, 130)]:
        for dtype in ("float32", "float64"):
            a = make_array(rng, (m, k), dtype)
            b = make_array(rng, (n, k), dtype)
            check_matmul(dlcore.tensor(a) @ dlcore.tensor(b).T, a, b.T, dtype)


# ---- the fused entry point: C = act(alpha * A @ B + beta * C + bias) -------------------------------
# _C.gemm is what Linear (and later convolution and the LSTM gates) call. Shapes reach every
# driver branch: K == 0 (no product), a narrow C (N <= 12: the AVX-512 dot-product and C^T
# paths), direct (unpacked) operands, packed blocks, and a B^T view (Linear's weight).
ACTS = {0: lambda x: x, 1: lambda x: np.maximum(x, 0.0), 2: lambda x: 1.0 / (1.0 + np.exp(-x)),
        3: np.tanh}
EPILOGUE_MKN = [(1, 1, 1), (7, 0, 5), (37, 50, 10), (64, 300, 3), (33, 17, 12), (100, 20, 40),
                (13, 257, 70), (130, 64, 33)]


@pytest.mark.parametrize("path", ["generic", "avx2", None])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_fused_epilogue(path, dtype, monkeypatch, rng):
    from dlcore import _C
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    for (m, k, n), b_transposed, act, alpha, beta, bias_kind in itertools.product(
            EPILOGUE_MKN, (False, True), ACTS, (1.0, -0.75), (0.0, 1.0, 0.6), (None, "row", "col")):
        per_row = bias_kind == "row"
        with_bias = bias_kind is not None
        a = make_array(rng, (m, k), dtype)
        b = make_array(rng, (k, n), dtype)
        c0 = make_array(rng, (m, n), dtype)
        bias = make_array(rng, (m if per_row else n,), dtype)
        tb = dlcore.tensor(np.ascontiguousarray(b.T)).T if b_transposed else dlcore.tensor(b)
        out = dlcore.tensor(c0)
        got = _C.gemm(dlcore.tensor(a)._impl, tb._impl,
                      dlcore.tensor(bias)._impl if with_bias else None, act, alpha, beta,
                      out._impl, per_row, False)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        ref = alpha * (a64 @ b64) + beta * c0
        if with_bias:
            ref = ref + (bias[:, None] if per_row else bias[None, :])
        ref = ACTS[act](ref)
        mag = abs(alpha) * (np.abs(a64) @ np.abs(b64)) + abs(beta) * np.abs(c0) + 1.0
        err = np.abs(to_numpy(out) - ref)
        assert np.all(err <= COEF[dtype] * mag), (
            f"gemm {m}x{k}x{n} bT={b_transposed} act={act} alpha={alpha} beta={beta} "
            f"bias={'row' if per_row else 'col' if with_bias else None}: max err {err.max():.3g}")
        assert tuple(got.shape) == (m, n) and got.data_ptr == out._impl.data_ptr

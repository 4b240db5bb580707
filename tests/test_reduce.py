# test_reduce.py — sum/mean/prod/var/std/max/min/argmax/argmin against float64 NumPy.
#
# Float32 sums are held to 1e-5 of the sum of |x| over the reduced elements (scale), which is
# far above the rounding of any reasonable accumulation order and far below any indexing bug.
import numpy as np
import pytest

import dlcore
from conftest import assert_close, make_array, to_numpy

SIZES = [1, 7, 31, 257, 1000]
SHAPE3 = (5, 7, 6)
DIMS = [None, 0, 1, 2, -1, -2, -3, (0, 2), (-1, 0), (0, 1, 2), (1,)]


def _sum_scale(x, dim):
    return float(np.max(np.sum(np.abs(x), axis=dim), initial=1.0))


# ---------------------------------------------------------------------------------------------
# sum / mean / prod

@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_reductions_1d(n, dtype, device, rng):
    a = make_array(rng, (n,), dtype, -1, 1)
    t = dlcore.tensor(a, device=device)
    x = a.astype(np.float64)
    s = t.sum()
    assert s.shape == ()
    assert_close(s, np.sum(x), dtype, scale=_sum_scale(x, None))
    assert_close(t.mean(), np.mean(x), dtype, scale=_sum_scale(x, None) / n)
    p = make_array(rng, (n,), dtype, 0.9, 1.1)
    assert_close(dlcore.tensor(p, device=device).prod(), np.prod(p.astype(np.float64)), dtype,
                 rtol=1e-4 if dtype == "float32" else 1e-12)
    assert_close(t.max(), np.max(x), dtype)
    assert_close(t.min(), np.min(x), dtype)
    assert t.argmax().item() == int(np.argmax(x))
    assert t.argmin().item() == int(np.argmin(x))
    assert t.argmax().dtype == dlcore.int64


# keepdim with dim=None is not part of the contract, so it is not among the combinations
DIM_KEEPDIM = [(d, k) for d in DIMS for k in (False, True) if d is not None or not k]


@pytest.mark.parametrize("dim,keepdim", DIM_KEEPDIM, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sum_mean_prod_dims(dim, keepdim, dtype, device, rng):
    a = make_array(rng, SHAPE3, dtype, -1, 1)
    t = dlcore.tensor(a, device=device)
    x = a.astype(np.float64)
    kw = {} if dim is None else {"dim": dim}
    assert_close(t.sum(keepdim=keepdim, **kw), np.sum(x, axis=dim, keepdims=keepdim), dtype,
                 scale=_sum_scale(x, dim))
    cnt = x.size // np.sum(x, axis=dim).size  # elements reduced into each output
    assert_close(t.mean(keepdim=keepdim, **kw), np.mean(x, axis=dim, keepdims=keepdim), dtype,
                 scale=_sum_scale(x, dim) / cnt)
    if not isinstance(dim, tuple):  # prod takes one dim, as torch.prod does
        p = make_array(rng, SHAPE3, dtype, 0.5, 1.5)
        assert_close(dlcore.tensor(p, device=device).prod(keepdim=keepdim, **kw),
                     np.prod(p.astype(np.float64), axis=dim, keepdims=keepdim), dtype, rtol=1e-5)


@pytest.mark.parametrize("dim", [0, 1, -1, (0, 1)], ids=str)
def test_reduce_functions(dim, rng):
    a = make_array(rng, (31, 7), "float64")
    t = dlcore.tensor(a)
    assert_close(dlcore.sum(t, dim), np.sum(a, axis=dim), "float64")
    assert_close(dlcore.mean(t, dim), np.mean(a, axis=dim), "float64")
    if not isinstance(dim, tuple):
        assert_close(dlcore.prod(t, dim), np.prod(a, axis=dim), "float64")
    assert_close(dlcore.var(t, dim), np.var(a, axis=dim, ddof=1), "float64")
    assert_close(dlcore.std(t, dim), np.std(a, axis=dim, ddof=1), "float64")


def test_reduce_functions_no_dim(rng):
    a = make_array(rng, (31, 7), "float64")
    t = dlcore.tensor(a)
    assert_close(dlcore.sum(t), np.sum(a), "float64")
    assert_close(dlcore.mean(t), np.mean(a), "float64")
    assert_close(dlcore.max(t), np.max(a), "float64")
    assert_close(dlcore.min(t), np.min(a), "float64")
    assert dlcore.argmax(t).item() == int(np.argmax(a))
    assert dlcore.argmin(t).item() == int(np.argmin(a))
    assert dlcore.argmax(t, 1).tolist() == np.argmax(a, axis=1).tolist()


@pytest.mark.parametrize("n", SIZES)
def test_sum_along_each_size(n, device, rng):
    # reduce the long axis, the short axis, and a middle axis of an awkwardly sized tensor
    a = make_array(rng, (3, n, 2), "float32")
    t = dlcore.tensor(a, device=device)
    x = a.astype(np.float64)
    for dim in (0, 1, 2, (0, 2)):
        assert_close(t.sum(dim=dim), np.sum(x, axis=dim), "float32", scale=_sum_scale(x, dim))
        if isinstance(dim, int):
            assert_close(t.max(dim=dim).values, np.max(x, axis=dim), "float32")
            np.testing.assert_array_equal(to_numpy(t.argmin(dim=dim)), np.argmin(x, axis=dim))


def test_reductions_non_contiguous(device, rng):
    a = make_array(rng, (40, 33), "float32")
    t = dlcore.tensor(a, device=device)
    x = a.astype(np.float64)
    views = [(t.T, x.T), (t[::3, 1::2], x[::3, 1::2]), (t.T[5:, ::4], x.T[5:, ::4])]
    for v, xv in views:
        for dim in (None, 0, 1, -1):
            assert_close(v.sum(**({} if dim is None else {"dim": dim})), np.sum(xv, axis=dim),
                         "float32", scale=_sum_scale(xv, dim))
            assert_close(v.mean(**({} if dim is None else {"dim": dim})), np.mean(xv, axis=dim),
                         "float32")
        assert_close(v.var(dim=0), np.var(xv, axis=0, ddof=1), "float32", rtol=1e-4)
        assert_close(v.max(dim=1).values, np.max(xv, axis=1), "float32")
        assert v.argmax(dim=0).tolist() == np.argmax(xv, axis=0).tolist()
        assert v.argmin().item() == int(np.argmin(xv))
    # expanded (stride-0) input
    col = dlcore.tensor(a[:, :1], device=device).expand(40, 5)
    assert_close(col.sum(dim=1), 5 * x[:, 0], "float32")


# ---------------------------------------------------------------------------------------------
# var / std

@pytest.mark.parametrize("dim,keepdim", [(None, False)] + [(d, k) for d in (0, 1, -1, (0, 2)) for k in (False, True)],
                         ids=str)
def test_var_std(dim, keepdim, device, rng):
    a = make_array(rng, SHAPE3, "float32", -2, 2)
    t = dlcore.tensor(a, device=device)
    x = a.astype(np.float64)
    kw = {"keepdim": keepdim}
    if dim is not None:
        kw["dim"] = dim
    assert_close(t.var(**kw), np.var(x, axis=dim, ddof=1, keepdims=keepdim), "float32", rtol=1e-4)
    assert_close(t.var(unbiased=False, **kw), np.var(x, axis=dim, ddof=0, keepdims=keepdim), "float32", rtol=1e-4)
    assert_close(t.std(**kw), np.std(x, axis=dim, ddof=1, keepdims=keepdim), "float32", rtol=1e-4)
    assert_close(t.std(unbiased=False, **kw), np.std(x, axis=dim, ddof=0, keepdims=keepdim), "float32", rtol=1e-4)
    for c in (0, 1, 2):
        assert_close(t.var(correction=c, **kw), np.var(x, axis=dim, ddof=c, keepdims=keepdim), "float32", rtol=1e-4)


def test_var_float64_and_large_mean(rng):
    a = rng.standard_normal(1000)
    assert_close(dlcore.tensor(a).var(), np.var(a, ddof=1), "float64")
    assert_close(dlcore.tensor(a).std(), np.std(a, ddof=1), "float64")
    # Values with a large mean and unit spread: a one-pass E[x^2]-E[x]^2 in float32 loses
    # everything here; a two-pass or Welford algorithm does not.
    b = (100.0 + rng.standard_normal(1000)).astype(np.float32)
    assert_close(dlcore.tensor(b).var(), np.var(b.astype(np.float64), ddof=1), "float32", rtol=1e-3, atol=1e-3)


# ---------------------------------------------------------------------------------------------
# max / min / argmax / argmin

@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_max_min_with_dim(dim, keepdim, dtype, device, rng):
    # distinct values, so the index of the extreme is unique
    a = (rng.permutation(int(np.prod(SHAPE3))) - 100).reshape(SHAPE3).astype(dtype) / (
        1 if dtype == "int64" else 7)
    a = a.astype(dtype)
    t = dlcore.tensor(a, device=device)
    for name in ("max", "min"):
        out = getattr(t, name)(dim=dim, keepdim=keepdim)
        values, indices = out                      # a namedtuple unpacks ...
        np.testing.assert_array_equal(to_numpy(out.values), to_numpy(values))   # ... and names
        np.testing.assert_array_equal(to_numpy(out.indices), to_numpy(indices))
        ref = getattr(np, name)(a, axis=dim, keepdims=keepdim)
        assert_close(values, ref.astype(np.float64) if dtype != "int64" else ref, dtype)
        assert indices.dtype == dlcore.int64
        argref = getattr(np, "arg" + name)(a, axis=dim)
        if keepdim:
            argref = np.expand_dims(argref, dim)
        np.testing.assert_array_equal(to_numpy(indices), argref)
        # positional dim works too
        np.testing.assert_array_equal(to_numpy(getattr(t, name)(dim).values), getattr(np, name)(a, axis=dim))


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin(dim, keepdim, device, rng):
    a = make_array(rng, (31, 17), "float32")
    t = dlcore.tensor(a, device=device)
    for name in ("argmax", "argmin"):
        if dim is None:
            out = getattr(t, name)()
            assert out.shape == () and out.dtype == dlcore.int64
            assert out.item() == int(getattr(np, name)(a))
            continue
        out = getattr(t, name)(dim=dim, keepdim=keepdim)
        ref = getattr(np, name)(a, axis=dim)
        if keepdim:
            ref = np.expand_dims(ref, dim)
        assert out.dtype == dlcore.int64
        np.testing.assert_array_equal(to_numpy(out), ref)


def test_argmax_first_occurrence_ties(device, rng):
    # Few distinct values: every row has ties; NumPy returns the first occurrence, so must we.
    a = rng.integers(0, 3, size=(64, 257)).astype(np.float32)
    t = dlcore.tensor(a, device=device)
    for name in ("argmax", "argmin"):
        np.testing.assert_array_equal(to_numpy(getattr(t, name)(dim=1)), getattr(np, name)(a, axis=1))
        np.testing.assert_array_equal(to_numpy(getattr(t, name)(dim=0)), getattr(np, name)(a, axis=0))
        assert getattr(t, name)().item() == int(getattr(np, name)(a))
    # max(dim).indices must at least point at a maximal element
    vals, idx = t.max(dim=1)
    np.testing.assert_array_equal(a[np.arange(64), to_numpy(idx)], to_numpy(vals))
    ones = dlcore.ones(1000)
    assert ones.argmax().item() == 0 and ones.argmin().item() == 0
    i = dlcore.tensor([3, 9, 9, 1, 9])
    assert i.argmax().item() == 1


def test_max_nan_propagates(device):
    a = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0], [np.nan, -1.0, 0.0]], dtype=np.float32)
    t = dlcore.tensor(a, device=device)
    assert np.isnan(t.max().item())
    assert np.isnan(t.min().item())
    np.testing.assert_array_equal(np.isnan(to_numpy(t.max(dim=1).values)), [True, False, True])
    np.testing.assert_array_equal(np.isnan(to_numpy(t.min(dim=0).values)), [True, True, False])
    assert to_numpy(t.max(dim=1).values)[1] == 6.0
    big = np.zeros(1000, np.float32)
    big[777] = np.nan
    assert np.isnan(dlcore.tensor(big, device=device).max().item())


# ---------------------------------------------------------------------------------------------
# integer / bool, empty

def test_int64_and_bool_sum(device, rng):
    a = rng.integers(-2**40, 2**40, size=(257, 3), dtype=np.int64)
    t = dlcore.tensor(a, device=device)
    s = t.sum()
    assert s.dtype == dlcore.int64
    assert s.item() == int(np.sum(a))          # exact: no float accumulation
    assert_close(t.sum(dim=0), np.sum(a, axis=0), "int64")
    assert_close(t.max(dim=1).values, np.max(a, axis=1), "int64")
    assert t.min().item() == int(np.min(a))
    small = rng.integers(-3, 4, size=(5, 6), dtype=np.int64)
    assert_close(dlcore.tensor(small, device=device).prod(dim=1), np.prod(small, axis=1), "int64")
    b = rng.integers(0, 2, size=(31, 5)).astype(bool)
    tb = dlcore.tensor(b, device=device)
    assert tb.sum().dtype == dlcore.int64
    assert tb.sum().item() == int(b.sum())
    assert_close(tb.sum(dim=1), b.sum(axis=1), "int64")


def test_empty_reductions(device):
    e = dlcore.zeros(0, device=device)
    s = e.sum()
    assert s.shape == () and s.dtype == dlcore.float32 and s.item() == 0.0
    assert e.prod().item() == 1.0
    m = dlcore.ones(3, 0, device=device)
    assert_close(m.sum(dim=1), np.zeros(3), "float32")
    assert m.sum(dim=0).shape == (0,)
    assert_close(m.sum(dim=1, keepdim=True), np.zeros((3, 1)), "float32")
    assert_close(m.prod(dim=1), np.ones(3), "float32")
    assert dlcore.zeros(0, dtype=dlcore.int64, device=device).sum().item() == 0


def test_max_of_empty_raises():
    # the contract allows either type here
    with pytest.raises((ValueError, RuntimeError)):
        dlcore.zeros(0).max()
    with pytest.raises((ValueError, RuntimeError)):
        dlcore.zeros(0).min()
    with pytest.raises((ValueError, RuntimeError)):
        dlcore.zeros(3, 0).max(dim=1)


# ---------------------------------------------------------------------------------------------
# errors

@pytest.mark.parametrize("call", [
    lambda t: t.sum(dim=3), lambda t: t.sum(dim=-4), lambda t: t.sum(dim=(0, 3)),
    lambda t: t.mean(dim=5), lambda t: t.prod(dim=3), lambda t: t.var(dim=-4),
    lambda t: t.max(dim=3), lambda t: t.min(dim=-4), lambda t: t.argmax(dim=3),
    lambda t: t.argmin(dim=-4), lambda t: t.std(dim=3),
])
def test_dim_out_of_range(call):
    with pytest.raises(IndexError):
        call(dlcore.ones(2, 3, 4))


@pytest.mark.parametrize("dtype", [dlcore.int64, dlcore.bool])
def test_mean_of_int_raises(dtype):
    with pytest.raises(TypeError):
        dlcore.ones(4, dtype=dtype).mean()
    with pytest.raises(TypeError):
        dlcore.ones(4, 2, dtype=dtype).mean(dim=0)


def test_large_reductions_cross_threads(device, rng):
    a = make_array(rng, (1_000_003,), "float32")
    t = dlcore.tensor(a, device=device)
    x = a.astype(np.float64)
    assert_close(t.sum(), np.sum(x), "float32", scale=float(np.sum(np.abs(x))))
    assert_close(t.mean(), np.mean(x), "float32")
    assert_close(t.var(), np.var(x, ddof=1), "float32", rtol=1e-4)
    assert t.argmax().item() == int(np.argmax(x))
    assert t.argmin().item() == int(np.argmin(x))
    m = make_array(rng, (1003, 1001), "float32")
    tm = dlcore.tensor(m, device=device)
    y = m.astype(np.float64)
    for dim in (0, 1):
        assert_close(tm.sum(dim=dim), y.sum(axis=dim), "float32", scale=_sum_scale(y, dim))
        assert_close(tm.T.sum(dim=dim), y.T.sum(axis=dim), "float32", scale=_sum_scale(y.T, dim))
        np.testing.assert_array_equal(to_numpy(tm.T.argmax(dim=dim)), np.argmax(y.T, axis=dim))
        assert_close(tm.T.max(dim=dim).values, np.max(y.T, axis=dim), "float32")


def test_float32_sums_are_cascaded(rng):
    # Positive values make a running float32 sum drift by ~n*eps (1e-3 relative at 2^22
    # values); the cascaded (tree) sum stays within a few eps * log2(n).
    a = rng.random(2**22 + 13, dtype=np.float32)
    exact = np.sum(a.astype(np.float64))
    got = dlcore.tensor(a).sum().item()
    assert abs(got - exact) <= 2e-6 * exact, (got, exact)
    m = rng.random((2**20 + 3, 3), dtype=np.float32)
    exact_cols = m.astype(np.float64).sum(axis=0)
    got_cols = to_numpy(dlcore.tensor(m).sum(dim=0))
    assert np.all(np.abs(got_cols - exact_cols) <= 5e-6 * exact_cols), (got_cols, exact_cols)


def test_sum_does_not_depend_on_thread_count(rng):
    a = dlcore.tensor(rng.standard_normal(1_000_003).astype(np.float32))
    m = dlcore.tensor(rng.standard_normal((3001, 517)).astype(np.float32))
    tall = dlcore.tensor(rng.standard_normal((9001, 37)).astype(np.float32))   # rows split
    before = dlcore.get_num_threads()
    try:
        dlcore.set_num_threads(1)
        one = (a.sum().item(), to_numpy(m.sum(dim=0)), to_numpy(m.sum(dim=1)), to_numpy(tall.sum(dim=0)))
        dlcore.set_num_threads(2)
        two = (a.sum().item(), to_numpy(m.sum(dim=0)), to_numpy(m.sum(dim=1)), to_numpy(tall.sum(dim=0)))
    finally:
        dlcore.set_num_threads(before)
    assert one[0] == two[0]
    for x, y in zip(one[1:], two[1:]):
        np.testing.assert_array_equal(x, y)
    exact = to_numpy(tall).astype(np.float64).sum(axis=0)
    assert np.all(np.abs(two[3] - exact) <= 1e-5 * np.abs(to_numpy(tall)).sum(axis=0))


def _cascade_sum_reference(x):
    """The tree reduce.cpp documents, in NumPy with x's dtype at every step: blocks of 1024
    values summed into 32 lanes (lane j takes values j, j+32, ...), each block's lanes combined
    as s[k] = (l[k]+l[k+8])+(l[k+16]+l[k+24]), then ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)); block
    sums merged like a binary counter, whole super-blocks of 32 blocks first, each on its own."""
    t = x.dtype.type

    class Cascade:
        def __init__(self):
            self.level = {}

        def push(self, s, k=0):
            while k in self.level:
                s = t(self.level.pop(k) + s)
                k += 1
            self.level[k] = s

        def total(self):
            out = t(0)
            for k in sorted(self.level):
                out = t(out + self.level[k])
            return out

    def block_sum(b):
        lanes = np.zeros(32, x.dtype)
        full = len(b) // 32 * 32
        for r in range(0, full, 32):
            lanes = lanes + b[r:r + 32]
        lanes[:len(b) - full] = lanes[:len(b) - full] + b[full:]
        l = (lanes[0:8] + lanes[8:16]) + (lanes[16:24] + lanes[24:32])
        return t(t(t(l[0] + l[1]) + t(l[2] + l[3])) + t(t(l[4] + l[5]) + t(l[6] + l[7])))

    block, sup = 1024, 1024 * 32
    top = Cascade()
    nsup = len(x) // sup
    for s in range(nsup):
        c = Cascade()
        for b in range(s * sup, (s + 1) * sup, block):
            c.push(block_sum(x[b:b + block]))
        top.push(c.total(), 5)
    for b in range(nsup * sup, len(x), block):
        top.push(block_sum(x[b:b + block]))
    return top.total()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sum_follows_the_documented_cascade_exactly(dtype, rng):
    # reduce.cpp's tree, bit for bit, whatever the thread split of the super-blocks: a kernel
    # that reorders the reads (more streams, other thread splits) must keep these bits.
    # Super-block counts 0, 3, 4, 5, 9 (odd splits over 2 threads) and partial tails.
    before = dlcore.get_num_threads()
    try:
        for n in (1, 31, 33, 1023, 1025 + 31, 32768 - 1, 32768 * 3 + 1023, 32768 * 4, 32768 * 5 + 1000,
                  32768 * 9 + 7):
            x = rng.standard_normal(n).astype(dtype)
            want = _cascade_sum_reference(x)
            for threads in (1, 2):
                dlcore.set_num_threads(threads)
                got = dlcore.tensor(x).sum().item()
                assert got == float(want), (n, threads, got, float(want))
            assert abs(float(want) - np.sum(x.astype(np.float64))) <= 1e-5 * np.sum(np.abs(x))
    finally:
        dlcore.set_num_threads(before)


def _column_cascade_reference(m):
    """Column sums as reduce.cpp documents them, in NumPy with m's dtype at every step: blocks of
    32 rows summed row by row in order, block vectors merged like a binary counter (level k
    holds the sum of 2^k blocks; a new sum joins as (older + newer)), the levels added from
    the lowest up at the end."""
    levels = {}
    for r0 in range(0, m.shape[0], 32):
        part = m[r0].copy()
        for r in range(r0 + 1, min(r0 + 32, m.shape[0])):
            part = part + m[r]
        k = 0
        while k in levels:
            part = levels.pop(k) + part
            k += 1
        levels[k] = part
    out = np.zeros(m.shape[1], m.dtype)
    for k in sorted(levels):
        out = out + levels[k]
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_column_sums_follow_the_documented_cascade_exactly(dtype, rng):
    # Column sums (sum over dim 0 of [rows, cols]: a Linear layer's bias gradient) are split
    # over threads in super-blocks of 2^level blocks, the level picked per call; the bits must
    # not depend on it, on the thread count, or on the register strips of the block sums
    # (widths below, at and past a strip of 8 vectors, with tails).
    before = dlcore.get_num_threads()
    try:
        for rows, cols in [(1, 5), (31, 64), (33, 7), (100, 129), (1600, 64), (1601, 37),
                           (2048 * 2 + 33, 16), (5000, 200), (257, 1024)]:
            m = rng.standard_normal((rows, cols)).astype(dtype)
            want = _column_cascade_reference(m)
            for threads in (1, 2):
                dlcore.set_num_threads(threads)
                got = to_numpy(dlcore.tensor(m).sum(dim=0))
                np.testing.assert_array_equal(got, want, err_msg=f"{rows}x{cols}, {threads} threads")
    finally:
        dlcore.set_num_threads(before)

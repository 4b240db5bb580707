# test_views.py — shape ops, storage sharing, indexing, setitem, cat/stack against NumPy.
#
# "Shares storage" is tested by writing through one tensor and reading the other, which is
# what a user observes; the values are always compared with the same operation in NumPy.
import numpy as np
import pytest

import dlcore
from conftest import assert_close, to_numpy


def _base(shape=(3, 4, 5), dtype=np.float32):
    x = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    return dlcore.tensor(x), x


def _assert_same(t, x):
    assert tuple(t.shape) == x.shape, (tuple(t.shape), x.shape)
    np.testing.assert_array_equal(to_numpy(t), x)


# ---------------------------------------------------------------------------------------------
# reshape / view / flatten

@pytest.mark.parametrize("shape", [(60,), (-1,), (6, 10), (6, -1), (-1, 5, 2), (3, 4, 5), (1, 60, 1), (2, 2, 15)])
def test_reshape_and_view_share_storage(shape):
    t, x = _base()
    for r in (t.reshape(*shape), t.reshape(shape), t.view(*shape)):
        _assert_same(r, x.reshape(shape))
    r = t.reshape(shape)
    r.fill_(-1.0)
    assert np.all(to_numpy(t) == -1.0)
    v = t.view(*shape)
    v.zero_()
    assert np.all(to_numpy(t) == 0.0)


def test_reshape_non_contiguous_copies_correct_values():
    t, x = _base((4, 6))
    r = t.T.reshape(-1)
    _assert_same(r, x.T.reshape(-1))
    r.fill_(0)
    _assert_same(t, x)  # a copy: base untouched
    _assert_same(t[:, ::2].reshape(2, 6), x[:, ::2].reshape(2, 6))


def test_view_of_non_contiguous_raises():
    t, _ = _base((4, 6))
    with pytest.raises(RuntimeError):
        t.T.view(24)
    with pytest.raises(RuntimeError):
        t[:, :3].view(-1)          # rows 6 apart, 3 long: no single stride walks them
    with pytest.raises(RuntimeError):
        t.T[1:].view(-1)
    # ... whereas t[:, ::2] has strides (6, 2): rows 3 long at stride 2 tile evenly, so a flat
    # view with stride 2 exists
    t2, x2 = _base((4, 6))
    _assert_same(t2[:, ::2].view(-1), x2[:, ::2].reshape(-1))


def test_view_when_strides_allow():
    # rows 0 and 2 of a (4, 6) tensor: not contiguous, but splitting the last dim is still a view
    t, x = _base((4, 6))
    s = t[::2]
    v = s.view(2, 2, 3)
    _assert_same(v, x[::2].reshape(2, 2, 3))
    v.fill_(-5)
    expect = x.copy()
    expect[::2] = -5
    _assert_same(t, expect)
    r = t[::2].reshape(2, 3, 2)   # reshape returns a view when one exists
    r.zero_()
    expect[::2] = 0
    _assert_same(t, expect)


@pytest.mark.parametrize("shape", [(7,), (61,), (5, 13), (-1, -1), (0, -1), (-2, 30)])
def test_reshape_bad_sizes(shape):
    t, _ = _base()
    with pytest.raises(ValueError):
        t.reshape(*shape)
    with pytest.raises(ValueError):
        t.view(*shape)


@pytest.mark.parametrize("start,end", [(0, -1), (1, -1), (0, 1), (1, 2), (-2, -1), (2, 2)])
def test_flatten(start, end):
    t, x = _base((2, 3, 4))
    f = t.flatten(start, end)
    s, e = start % 3, end % 3
    expected_shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    _assert_same(f, x.reshape(expected_shape))
    assert t.flatten().shape == (24,)
    _assert_same(t.transpose(0, 2).flatten(), x.transpose(2, 1, 0).reshape(-1))


# ---------------------------------------------------------------------------------------------
# transpose / permute / contiguous / T

def test_transpose_permute_T():
    t, x = _base()
    _assert_same(t.transpose(0, 2), x.transpose(2, 1, 0))
    _assert_same(t.transpose(-1, -2), x.swapaxes(-1, -2))
    _assert_same(t.transpose(1, 1), x)
    _assert_same(t.permute(2, 0, 1), x.transpose(2, 0, 1))
    _assert_same(t.permute(-1, 0, 1), x.transpose(2, 0, 1))
    _assert_same(t.permute(1, 2, 0).permute(2, 0, 1), x)
    _assert_same(t.mT, x.swapaxes(-1, -2))
    m, mx = _base((3, 7))
    _assert_same(m.T, mx.T)
    _assert_same(m.T.T, mx)
    # storage shared
    p = t.permute(2, 0, 1)
    p[0].fill_(-1)
    expect = x.copy()
    expect[:, :, 0] = -1
    _assert_same(t, expect)


def test_contiguous():
    t, x = _base()
    c = t.contiguous()
    c.fill_(1.0)                       # already contiguous: same storage
    assert np.all(to_numpy(t) == 1.0)
    t, x = _base()
    nt = t.transpose(0, 1)
    assert not nt.is_contiguous()
    c = nt.contiguous()
    assert c.is_contiguous()
    assert c.stride() == (15, 5, 1)
    _assert_same(c, x.transpose(1, 0, 2))
    c.fill_(0)
    _assert_same(t, x)                 # a copy


# ---------------------------------------------------------------------------------------------
# squeeze / unsqueeze / expand

def test_squeeze_unsqueeze():
    t = dlcore.zeros(1, 3, 1, 4)
    assert t.squeeze().shape == (3, 4)
    assert t.squeeze(0).shape == (3, 1, 4)
    assert t.squeeze(2).shape == (1, 3, 4)
    assert t.squeeze(-2).shape == (1, 3, 4)
    assert t.squeeze(1).shape == (1, 3, 1, 4)   # not size 1: unchanged, as torch does
    u = dlcore.zeros(3, 4)
    assert u.unsqueeze(0).shape == (1, 3, 4)
    assert u.unsqueeze(1).shape == (3, 1, 4)
    assert u.unsqueeze(2).shape == (3, 4, 1)
    assert u.unsqueeze(-1).shape == (3, 4, 1)
    assert u.unsqueeze(-3).shape == (1, 3, 4)
    with pytest.raises(IndexError):
        u.unsqueeze(3)
    with pytest.raises(IndexError):
        u.unsqueeze(-4)
    b, x = _base((3, 4))
    s = b.unsqueeze(1)
    s[1].fill_(-1)
    x = x.copy()
    x[1] = -1
    _assert_same(b, x)
    _assert_same(b.unsqueeze(0).squeeze(0), x)


def test_expand():
    t, x = _base((3, 1))
    _assert_same(t.expand(3, 4), np.broadcast_to(x, (3, 4)))
    _assert_same(t.expand(2, 3, 4), np.broadcast_to(x, (2, 3, 4)))
    _assert_same(t.expand(-1, 5), np.broadcast_to(x, (3, 5)))
    e = t.expand(3, 4)
    assert e.stride()[1] == 0
    t.fill_(7.0)                        # expand is a view
    assert np.all(to_numpy(e) == 7.0)
    s = dlcore.tensor(2.0).expand(2, 2)
    _assert_same(s, np.full((2, 2), 2.0, np.float32))
    with pytest.raises(ValueError):
        t.expand(4, 4)                  # size 3 cannot become 4
    with pytest.raises(ValueError):
        t.expand(4)                     # fewer dims than the tensor


# ---------------------------------------------------------------------------------------------
# basic indexing

INDICES = [
    0, -1, 2, slice(None), slice(1, 3), slice(None, None, 2), slice(-3, None), slice(1, 100),
    slice(5, 1), slice(None, -1, 3), (0, 1), (0, slice(None), -1), (Ellipsis, 0), (Ellipsis, None),
    (None, 0), (slice(None), None, 1), (0, Ellipsis, slice(1, None, 2)), (None, Ellipsis, None),
    (-1, -1, -1), (Ellipsis,), (), (1, slice(None, None, 3), slice(2, 4)), None,
    (slice(None), slice(None), slice(None, None, 4)), (-3, -4, -5), (slice(0, 0), 1),
    (Ellipsis, slice(None, None, 2), None, 3),
]


@pytest.mark.parametrize("idx", INDICES, ids=repr)
def test_basic_indexing_matches_numpy_and_is_a_view(idx):
    t, x = _base()
    v = t[idx]
    _assert_same(v, x[idx])
    # writing through the view changes the base exactly where NumPy says it should
    v.fill_(-1.0)
    expect = x.copy()
    expect[idx] = -1.0
    _assert_same(t, expect)


def test_indexing_non_contiguous_and_chained():
    t, x = _base((6, 8))
    _assert_same(t.T[1:5:2, -2], x.T[1:5:2, -2])
    _assert_same(t[1:][::2][:, 3:], x[1:][::2][:, 3:])
    _assert_same(t[..., ::3].T[::2], x[..., ::3].T[::2])


@pytest.mark.parametrize("idx", [3, -4, (0, 4), (0, -5), (0, 0, 0), (Ellipsis, 9)], ids=repr)
def test_index_out_of_range(idx):
    t = dlcore.zeros(3, 4)
    with pytest.raises(IndexError):
        t[idx]
    with pytest.raises(IndexError):
        t[idx] = 1.0


# ---------------------------------------------------------------------------------------------
# setitem

@pytest.mark.parametrize("idx", [0, -1, slice(1, 3), (slice(None), 2), (Ellipsis, slice(None, None, 2)),
                                 (1, slice(1, 4), -1), (slice(None), slice(None), slice(None))], ids=repr)
def test_setitem_scalar(idx):
    t, x = _base()
    t[idx] = 3.5
    x = x.copy()
    x[idx] = 3.5
    _assert_same(t, x)


def test_setitem_tensor_broadcast():
    t, x = _base()
    x = x.copy()
    row = np.arange(5, dtype=np.float32) * -1
    t[1] = dlcore.tensor(row)                       # (5,) broadcast into (4, 5)
    x[1] = row
    _assert_same(t, x)
    col = np.array([[10.0], [20.0], [30.0]], np.float32)
    t[:, 2] = dlcore.tensor(col)                    # (3, 1) into (3, 5)
    x[:, 2] = col
    _assert_same(t, x)
    blk = np.full((2, 2, 2), 9.0, np.float32)
    t[1:, ::2, 3:] = dlcore.tensor(blk)
    x[1:, ::2, 3:] = blk
    _assert_same(t, x)
    t[...] = 0
    _assert_same(t, np.zeros_like(x))


def test_setitem_from_overlapping_view():
    # the value aliases the destination: the result must equal NumPy's (which copies first)
    t, x = _base((6,))
    t[1:] = t[:-1].clone()
    x = x.copy()
    x[1:] = x[:-1].copy()
    _assert_same(t, x)


def test_setitem_shape_mismatch():
    t = dlcore.zeros(3, 4)
    with pytest.raises(ValueError):
        t[0] = dlcore.ones(5)


# ---------------------------------------------------------------------------------------------
# advanced indexing (gather along dim 0)

def test_int64_tensor_indexing():
    t, x = _base((6, 3))
    idx = np.array([4, 0, 0, 5, 2], dtype=np.int64)
    g = t[dlcore.tensor(idx)]
    _assert_same(g, x[idx])
    g.fill_(-1)
    _assert_same(t, x)                      # a copy
    _assert_same(t[dlcore.tensor(np.zeros(0, np.int64))], x[np.zeros(0, np.int64)])
    v, vx = _base((10,))
    _assert_same(v[dlcore.tensor([9, 3, 3])], vx[[9, 3, 3]])
    _assert_same(t.T[dlcore.tensor([2, 0])], x.T[[2, 0]])


def test_bool_tensor_indexing():
    t, x = _base((5, 4))
    m = np.array([True, False, True, True, False])
    g = t[dlcore.tensor(m)]
    _assert_same(g, x[m])
    g.fill_(0)
    _assert_same(t, x)
    none = np.zeros(5, bool)
    _assert_same(t[dlcore.tensor(none)], x[none])
    v, vx = _base((7,))
    vm = vx > 3
    _assert_same(v[v > 3], vx[vm])


def test_advanced_index_errors():
    t = dlcore.zeros(4, 3)
    with pytest.raises(IndexError):
        t[dlcore.tensor([0, 4])]
    with pytest.raises(IndexError):
        t[dlcore.tensor([-5])]
    with pytest.raises(IndexError):
        t[dlcore.tensor([True, False])]     # mask length differs from dim 0


# ---------------------------------------------------------------------------------------------
# cat / stack

def test_cat():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(9, dtype=np.float32).reshape(3, 3) + 100
    c = np.arange(8, dtype=np.float32).reshape(2, 4) - 50
    ta, tb, tc = dlcore.tensor(a), dlcore.tensor(b), dlcore.tensor(c)
    _assert_same(dlcore.cat([ta, tb]), np.concatenate([a, b]))
    _assert_same(dlcore.cat([ta, tb], dim=0), np.concatenate([a, b], 0))
    _assert_same(dlcore.cat((ta, tc), dim=1), np.concatenate([a, c], 1))
    _assert_same(dlcore.cat([ta, tc, ta], dim=-1), np.concatenate([a, c, a], -1))
    _assert_same(dlcore.cat([ta]), a)
    _assert_same(dlcore.cat([ta, dlcore.zeros(0, 3)]), a)
    _assert_same(dlcore.cat([tb.T, ta.T], dim=1), np.concatenate([b.T, a.T], 1))   # non-contiguous
    out = dlcore.cat([ta, ta])
    out.fill_(0)
    _assert_same(ta, a)                       # a new tensor
    i = dlcore.cat([dlcore.arange(3), dlcore.arange(2)])
    assert i.dtype == dlcore.int64 and i.tolist() == [0, 1, 2, 0, 1]


def test_cat_mismatch():
    with pytest.raises(ValueError):
        dlcore.cat([dlcore.zeros(2, 3), dlcore.zeros(2, 4)], dim=0)
    with pytest.raises(ValueError):
        dlcore.cat([dlcore.zeros(2, 3), dlcore.zeros(3, 3)], dim=1)
    with pytest.raises(ValueError):
        dlcore.cat([dlcore.zeros(2, 3), dlcore.zeros(2, 3, 1)])


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim):
    xs = [np.arange(6, dtype=np.float64).reshape(2, 3) * k for k in range(4)]
    out = dlcore.stack([dlcore.tensor(x) for x in xs], dim=dim)
    _assert_same(out, np.stack(xs, axis=dim))
    assert out.dtype == dlcore.float64


def test_stack_mismatch_and_views():
    with pytest.raises(ValueError):
        dlcore.stack([dlcore.zeros(2, 3), dlcore.zeros(3, 2)])
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    ta = dlcore.tensor(a)
    _assert_same(dlcore.stack([ta.T, ta.T * 2]), np.stack([a.T, a.T * 2]))
    _assert_same(dlcore.stack([ta[:, 1], ta[:, 3]], dim=1), np.stack([a[:, 1], a[:, 3]], axis=1))


def test_numpy_values_unchanged_by_default_ops():
    # shape ops never touch values: a broad smoke check across a chain of them
    t, x = _base((2, 3, 4))
    r = t.permute(2, 0, 1).reshape(4, 6).T.unsqueeze(0).expand(2, 6, 4).flatten(0, 1)
    xr = np.broadcast_to(x.transpose(2, 0, 1).reshape(4, 6).T[None], (2, 6, 4)).reshape(12, 4)
    assert_close(r, xr.astype(np.float64), "float32")


def test_reshape_empty_and_numpy_int_index():
    e = dlcore.zeros(0, 3)
    assert e.reshape(-1).shape == (0,)
    assert e.reshape(3, 0, 5).shape == (3, 0, 5)
    t, x = _base((4, 5))
    _assert_same(t[np.int64(2)], x[2])
    _assert_same(t[np.int64(-1), np.int64(3)], x[-1, 3])


def test_tolist_and_item_of_views():
    t, x = _base((3, 4))
    assert t.T.tolist() == x.T.tolist()
    assert t[:, ::2].tolist() == x[:, ::2].tolist()
    assert t[1:2, 2:3].item() == x[1, 2]
    assert t.T[3, 1].item() == x[1, 3]


def test_from_numpy_strided_shares_memory():
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    t = dlcore.from_numpy(x[:, ::2])
    _assert_same(t, x[:, ::2])
    t.fill_(-1.0)
    assert np.all(x[:, ::2] == -1.0) and np.all(x[:, 1::2] != -1.0)
    tt = dlcore.from_numpy(x.T)
    _assert_same(tt, x.T)


# ---- index_select / advanced indexing (device kernels) ------------------------------------------
INDEX_CASES = [  # (shape, dim, index values)
    ((7,), 0, [3, 0, 6, 3, -1]), ((1,), 0, [0, 0, -1]), ((5, 31), 0, [4, 4, 0, -5]),
    ((5, 31), 1, list(range(30, -1, -3))), ((2, 257, 3), 1, [256, 0, 128, -2, 7]),
    ((3, 4, 5), 2, []), ((0, 6), 1, [5, 1]), ((1000, 7), 0, list(range(0, 1000, 7))),
    ((4, 3, 2, 5), -2, [1, 0, 1]),
]


@pytest.mark.parametrize("shape,dim,ids", INDEX_CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_index_select_matches_numpy(shape, dim, ids, dtype, device, rng):
    ref = (rng.standard_normal(shape) * 100).astype({"bool": np.float64}.get(dtype, dtype))
    ref = ref > 0 if dtype == "bool" else ref
    x = dlcore.tensor(ref, device=device)
    idx = dlcore.tensor(np.asarray(ids, dtype=np.int64), device=device)
    want = np.take(ref, np.asarray(ids, dtype=np.int64), axis=dim)
    got = dlcore.index_select(x, dim, idx)
    assert got.device == x.device and got.dtype == x.dtype
    np.testing.assert_array_equal(to_numpy(got), want)
    # a transposed (non-contiguous) input gives the same values
    if len(shape) >= 2:
        xt = dlcore.tensor(np.ascontiguousarray(np.swapaxes(ref, 0, -1)), device=device).transpose(0, -1)
        np.testing.assert_array_equal(to_numpy(xt.index_select(dim, ids)), want)


def test_index_select_backward_accumulates_repeats(device, rng):
    a = rng.standard_normal((6, 5))
    x = dlcore.tensor(a, device=device, requires_grad=True)
    ids = [5, 0, 5, 5, -6, 2]
    y = dlcore.index_select(x, 0, ids)
    w = rng.standard_normal((len(ids), 5))
    (y * dlcore.tensor(w, device=device)).sum().backward()
    want = np.zeros_like(a)
    np.add.at(want, np.asarray(ids) % 6, w)
    assert_close(x.grad, want, "float64")
    assert dlcore.autograd.gradcheck(lambda t: dlcore.index_select(t, 1, [4, 0, 4, 1]),
                            (dlcore.tensor(rng.standard_normal((3, 5)), requires_grad=True),))


def test_advanced_index_backward_on_device(device, rng):
    a = rng.standard_normal((4, 9, 3))
    x = dlcore.tensor(a, device=device, requires_grad=True)
    sel = np.array([8, 1, 1, -1, 0])
    y = x[1:, dlcore.tensor(sel)]
    np.testing.assert_array_equal(to_numpy(y.detach()), a[1:, sel])
    w = rng.standard_normal(y.shape)
    (y * dlcore.tensor(w, device=device)).sum().backward()
    want = np.zeros_like(a)
    np.add.at(want[1:], (slice(None), sel % 9), w)
    assert_close(x.grad, want, "float64")


def test_index_select_errors(device):
    x = dlcore.zeros(4, 3, device=device)
    with pytest.raises(IndexError, match="index_select.*out of range"):
        dlcore.index_select(x, 0, [0, 4])
    with pytest.raises(IndexError, match="index_select.*out of range"):
        dlcore.index_select(x, 1, [-4])
    with pytest.raises(IndexError, match="index_select"):
        dlcore.index_select(x, 2, [0])
    with pytest.raises(TypeError, match="index_select.*int64"):
        dlcore.index_select(x, 0, dlcore.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="index_select.*1-D"):
        dlcore.index_select(x, 0, dlcore.tensor([[0, 1]]))
    with pytest.raises(IndexError, match="index_select.*0-d"):
        dlcore.index_select(dlcore.tensor(1.0, device=device), 0, [0])
    from dlcore import _C
    acc = dlcore.zeros(4, 3, device=device)
    with pytest.raises(ValueError, match="index_add_.*shape"):
        _C.index_add_(acc._impl, 0, dlcore.tensor([0, 1])._impl, dlcore.ones(3, 3, device=device)._impl)
    with pytest.raises(TypeError, match="index_add_.*dtype"):
        _C.index_add_(acc._impl, 0, dlcore.tensor([0])._impl, dlcore.ones(1, 3, dtype=dlcore.float64, device=device)._impl)


def test_index_add_large_parallel_matches_numpy(rng):
    # Enough work for the thread team; many repeats of few rows (the embedding gradient).
    from dlcore import _C
    for dtype in ("float32", "float64", "int64"):
        n, m, inner = 50, 20000, 37
        src = (rng.standard_normal((m, inner)) * 10).astype(dtype)
        ids = rng.integers(0, n, m)
        acc = dlcore.zeros(n, inner, dtype=getattr(dlcore, dtype))
        _C.index_add_(acc._impl, 0, dlcore.tensor(ids)._impl, dlcore.tensor(src)._impl)
        want = np.zeros((n, inner), dtype=np.float64)
        np.add.at(want, ids, src.astype(np.float64))
        tol = {"float32": 1e-3, "float64": 1e-9, "int64": 0}[dtype]
        np.testing.assert_allclose(to_numpy(acc).astype(np.float64), want, rtol=tol, atol=tol)


def test_index_add_same_bits_on_any_thread_count(rng):
    from dlcore import _C
    src = dlcore.tensor(rng.standard_normal((3, 5000, 67)).astype(np.float32))
    ids = dlcore.tensor(rng.integers(0, 40, 5000))
    before = dlcore.get_num_threads()
    out = []
    try:
        for nt in (1, 2):
            dlcore.set_num_threads(nt)
            acc = dlcore.zeros(3, 40, 67)
            _C.index_add_(acc._impl, 1, ids._impl, src._impl)
            out.append(to_numpy(acc))
    finally:
        dlcore.set_num_threads(before)
    np.testing.assert_array_equal(out[0], out[1])

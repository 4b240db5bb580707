"""Pooling (dlcore.nn.pooling) and resizing (dlcore.nn.upsampling): max / avg / lp / adaptive
pooling, max_unpool and interpolate against float64 NumPy references written here (direct loops
over the windows / source pixels), torch.nn.functional agreement on hypothesis-drawn
configurations (values, indices, gradients), gradcheck of every op, modules (reprs, outputs
against torch), bad input and empty batches; CPU vs CUDA when a GPU exists."""
import math

import numpy as np
import pytest

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
from dlcore.autograd import gradcheck

from conftest import assert_close, assert_names_op, assert_names_shapes, requires_cuda

RNG = np.random.default_rng(7)


def T(a, requires_grad=False, device="cpu"):
    return dlcore.tensor(np.asarray(a), requires_grad=requires_grad, device=device)


def distinct(shape, dtype=np.float64, rng=RNG):
    """Random values with no ties (max pooling's arg-max is then unique)."""
    n = int(np.prod(shape))
    v = (rng.permutation(n) + rng.uniform(0.1, 0.9, n)) / max(n, 1) * 4 - 2
    return v.reshape(shape).astype(dtype)


def npa(t):
    return np.array(t.detach().cpu().numpy() if t.is_cuda else t.detach().numpy())


# ---- NumPy references -----------------------------------------------------------------------

def out_size(n, k, s, p, d, ceil):
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def ref_max_pool2d(x, k, s, p, d, ceil):
    """(values, int64 flat indices) of a (N, C, H, W) float64 array."""
    N, C, H, W = x.shape
    OH, OW = out_size(H, k[0], s[0], p[0], d[0], ceil), out_size(W, k[1], s[1], p[1], d[1], ceil)
    y = np.empty((N, C, OH, OW))
    idx = np.empty((N, C, OH, OW), np.int64)
    flat = x.reshape(N, C, H * W)
    for oh in range(OH):
        rows = [oh * s[0] - p[0] + i * d[0] for i in range(k[0])]
        for ow in range(OW):
            cols = [ow * s[1] - p[1] + j * d[1] for j in range(k[1])]
            pos = [r * W + c for r in rows if 0 <= r < H for c in cols if 0 <= c < W]
            win = flat[:, :, pos]
            a = np.argmax(win, axis=2)                       # first maximum
            y[:, :, oh, ow] = np.take_along_axis(win, a[..., None], 2)[..., 0]
            idx[:, :, oh, ow] = np.asarray(pos)[a]
    return y, idx


def ref_avg_pool2d(x, k, s, p, ceil, count_include_pad=True, divisor_override=None):
    N, C, H, W = x.shape
    OH, OW = out_size(H, k[0], s[0], p[0], 1, ceil), out_size(W, k[1], s[1], p[1], 1, ceil)
    y = np.zeros((N, C, OH, OW))
    for oh in range(OH):
        for ow in range(OW):
            h0, w0 = oh * s[0] - p[0], ow * s[1] - p[1]
            h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
            padded = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            if h0 >= h1 or w0 >= w1:
                continue
            div = divisor_override or (padded if count_include_pad else (h1 - h0) * (w1 - w0))
            y[:, :, oh, ow] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / div
    return y


def ad_bounds(i, n, o):
    return (i * n) // o, -(-((i + 1) * n) // o)


def ref_adaptive(x, oh_, ow_, is_max):
    N, C, H, W = x.shape
    y = np.empty((N, C, oh_, ow_))
    idx = np.empty((N, C, oh_, ow_), np.int64)
    for oh in range(oh_):
        h0, h1 = ad_bounds(oh, H, oh_)
        for ow in range(ow_):
            w0, w1 = ad_bounds(ow, W, ow_)
            win = x[:, :, h0:h1, w0:w1].reshape(N, C, -1)
            if is_max:
                a = np.argmax(win, axis=2)
                y[:, :, oh, ow] = np.take_along_axis(win, a[..., None], 2)[..., 0]
                idx[:, :, oh, ow] = (h0 + a // (w1 - w0)) * W + w0 + a % (w1 - w0)
            else:
                y[:, :, oh, ow] = win.mean(axis=2)
    return y, idx


def ref_unpool(x, idx, oh, ow):
    N, C = x.shape[:2]
    y = np.zeros((N, C, oh * ow))
    for n in range(N):
        for c in range(C):
            y[n, c, idx[n, c].ravel()] = x[n, c].ravel()
    return y.reshape(N, C, oh, ow)


# ---- forward against the NumPy references ---------------------------------------------------

CONFIGS = [  # kernel, stride, padding, dilation, ceil_mode
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 2), (2, 2), (0, 0), (1, 1), True),
    ((3, 3), (2, 2), (1, 1), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), True),
    ((3, 2), (1, 3), (1, 0), (2, 1), True),
    ((1, 1), (1, 1), (0, 0), (1, 1), False),
    ((5, 3), (3, 2), (2, 1), (1, 3), True),
]
SHAPES = [(2, 3, 7, 9), (1, 1, 1, 1), (3, 2, 8, 8), (1, 5, 13, 11), (2, 1, 6, 17)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_max_pool2d_matches_numpy(cfg, dtype):
    k, s, p, d, ceil = cfg
    for shape in SHAPES:
        H, W = shape[2:]
        if out_size(H, k[0], s[0], p[0], d[0], ceil) < 1 or out_size(W, k[1], s[1], p[1], d[1], ceil) < 1:
            continue
        x = distinct(shape, np.dtype(dtype))
        y, i = F.max_pool2d(T(x), k, s, p, d, ceil, return_indices=True)
        ry, ri = ref_max_pool2d(x.astype(np.float64), k, s, p, d, ceil)
        assert_close(y, ry, dtype)
        assert_close(i, ri, "int64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("cip,div", [(True, None), (False, None), (True, 3)])
def test_avg_pool2d_matches_numpy(cfg, dtype, cip, div):
    k, s, p, _, ceil = cfg
    for shape in SHAPES:
        H, W = shape[2:]
        if out_size(H, k[0], s[0], p[0], 1, ceil) < 1 or out_size(W, k[1], s[1], p[1], 1, ceil) < 1:
            continue
        x = RNG.standard_normal(shape).astype(dtype)
        y = F.avg_pool2d(T(x), k, s, p, ceil, cip, div)
        assert_close(y, ref_avg_pool2d(x.astype(np.float64), k, s, p, ceil, cip, div), dtype)


def test_1d_pools_are_2d_pools_of_height_one():
    x = distinct((2, 3, 29))
    y, i = F.max_pool1d(T(x), 4, 3, 2, 2, True, return_indices=True)
    ry, ri = ref_max_pool2d(x[:, :, None], (1, 4), (1, 3), (0, 2), (1, 2), True)
    assert_close(y, ry[:, :, 0], "float64")
    assert_close(i, ri[:, :, 0], "int64")
    a = F.avg_pool1d(T(x), 3, 2, 1, True, False)
    assert_close(a, ref_avg_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), True, False)[:, :, 0],
                 "float64")


@pytest.mark.parametrize("shape,out", [((2, 3, 7, 9), (3, 4)), ((1, 2, 5, 5), (5, 5)),
                                       ((2, 2, 4, 6), (7, 1)), ((1, 3, 13, 8), (1, 1)),
                                       ((2, 1, 1, 1), (2, 3))])
def test_adaptive_matches_numpy(shape, out):
    x = distinct(shape)
    assert_close(F.adaptive_avg_pool2d(T(x), out), ref_adaptive(x, *out, False)[0], "float64")
    y, i = F.adaptive_max_pool2d(T(x), out, return_indices=True)
    ry, ri = ref_adaptive(x, *out, True)
    assert_close(y, ry, "float64")
    assert_close(i, ri, "int64")
    x32 = x.astype(np.float32)
    assert_close(F.adaptive_avg_pool2d(T(x32), out), ref_adaptive(x, *out, False)[0], "float32")


def test_adaptive_output_size_forms_and_global_pool():
    x = RNG.standard_normal((2, 3, 6, 5))
    assert tuple(F.adaptive_avg_pool2d(T(x), (None, 2)).shape) == (2, 3, 6, 2)
    assert tuple(F.adaptive_avg_pool2d(T(x), (4, None)).shape) == (2, 3, 4, 5)
    assert tuple(F.adaptive_max_pool2d(T(x), 3).shape) == (2, 3, 3, 3)
    assert_close(F.adaptive_avg_pool2d(T(x), 1), x.mean(axis=(2, 3), keepdims=True), "float64")
    big = RNG.standard_normal((4, 64, 56, 56)).astype(np.float32)   # ResNet-sized global pool
    assert_close(F.adaptive_avg_pool2d(T(big), 1), big.astype(np.float64).mean(axis=(2, 3), keepdims=True),
                 "float32")


def test_lp_pool_matches_formula():
    x = RNG.uniform(0.1, 2.0, (2, 3, 7, 8))
    for p in (1.0, 2.0, 3.0):
        y = F.lp_pool2d(T(x), p, (3, 2), 2)
        ref = (ref_avg_pool2d(x ** p, (3, 2), (2, 2), (0, 0), False) * 6) ** (1 / p)
        assert_close(y, ref, "float64")
    y1 = F.lp_pool1d(T(x[:, :, 0]), 2, 3)
    ref1 = np.sqrt(ref_avg_pool2d(x[:, :, :1] ** 2, (1, 3), (1, 3), (0, 0), False)[:, :, 0] * 3)
    assert_close(y1, ref1, "float64")


def test_max_unpool2d_matches_numpy_and_inverts_pool():
    x = distinct((2, 3, 8, 10))
    y, i = F.max_pool2d(T(x), 2, return_indices=True)
    u = F.max_unpool2d(y, i, 2)
    assert_close(u, ref_unpool(npa(y), npa(i), 8, 10), "float64")
    # odd input: the pool dropped the last row/col; output_size restores the shape
    x = distinct((1, 2, 7, 9))
    y, i = F.max_pool2d(T(x), 2, return_indices=True)
    u = F.max_unpool2d(y, i, 2, output_size=(7, 9))
    assert tuple(u.shape) == (1, 2, 7, 9)
    assert_close(u, ref_unpool(npa(y), npa(i), 7, 9), "float64")
    u = F.max_unpool2d(y, i, 2, output_size=[1, 2, 7, 9])
    assert tuple(u.shape) == (1, 2, 7, 9)
    # unbatched
    y, i = F.max_pool2d(T(x[0]), 3, 2, 1, return_indices=True)
    u = F.max_unpool2d(y, i, 3, 2, 1, output_size=(7, 9))
    assert_close(u, ref_unpool(npa(y)[None], npa(i)[None], 7, 9)[0], "float64")


def test_unbatched_inputs():
    x = distinct((3, 9, 8))
    y, i = F.max_pool2d(T(x), 3, 2, 1, return_indices=True)
    ry, ri = ref_max_pool2d(x[None], (3, 3), (2, 2), (1, 1), (1, 1), False)
    assert_close(y, ry[0], "float64")
    assert_close(i, ri[0], "int64")
    assert tuple(F.avg_pool1d(T(x[0]), 2).shape) == (9, 4)
    assert tuple(F.adaptive_avg_pool2d(T(x), (2, 3)).shape) == (3, 2, 3)


def test_non_contiguous_and_unbatched_gradients():
    base = distinct((2, 3, 9, 7))
    xt = T(base.transpose(0, 1, 3, 2).copy()).transpose(2, 3)     # a strided view of `base`
    assert not xt.is_contiguous()
    y, i = F.max_pool2d(xt, 3, 2, 1, return_indices=True)
    ry, ri = ref_max_pool2d(base, (3, 3), (2, 2), (1, 1), (1, 1), False)
    assert_close(y, ry, "float64")
    assert_close(i, ri, "int64")
    assert_close(F.avg_pool2d(xt, 2), ref_avg_pool2d(base, (2, 2), (2, 2), (0, 0), False), "float64")
    assert_close(F.interpolate(xt, size=(4, 5), mode="bilinear"),
                 ref_interpolate(base, (4, 5), "bilinear"), "float64")
    x = T(base[0], requires_grad=True)                            # unbatched (C, H, W)
    y = F.max_pool2d(x, 2)
    y.backward(dlcore.ones(*y.shape, dtype=dlcore.float64))
    _, ri = ref_max_pool2d(base[:1], (2, 2), (2, 2), (0, 0), (1, 1), False)
    g = np.zeros(9 * 7 * 3)
    np.add.at(g, (ri[0] + (np.arange(3) * 63)[:, None, None]).ravel(), 1.0)
    assert_close(x.grad, g.reshape(3, 9, 7), "float64")


def test_nan_propagates_through_max_pool():
    x = distinct((1, 1, 4, 4))
    x[0, 0, 1, 0] = np.nan
    y = npa(F.max_pool2d(T(x), 2))
    assert np.isnan(y[0, 0, 0, 0]) and not np.isnan(y[0, 0, 1, 1])
    y = npa(F.max_pool2d(T(x), 3, 1, 1))
    assert np.isnan(y[0, 0, :3, :2]).all()


# ---- zero-size batch ------------------------------------------------------------------------

def test_empty_batch():
    x = T(np.zeros((0, 3, 8, 8)), requires_grad=True)
    outs = [F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, 1),
            F.adaptive_max_pool2d(x, (2, 3)), F.lp_pool2d(x, 2, 2)]
    shapes = [(0, 3, 4, 4), (0, 3, 4, 4), (0, 3, 1, 1), (0, 3, 2, 3), (0, 3, 4, 4)]
    for o, s in zip(outs, shapes):
        assert tuple(o.shape) == s
        o.backward(dlcore.zeros(*s, dtype=dlcore.float64))
    assert tuple(x.grad.shape) == (0, 3, 8, 8)
    y, i = F.max_pool2d(x.detach(), 2, return_indices=True)
    assert tuple(F.max_unpool2d(y, i, 2).shape) == (0, 3, 8, 8)
    assert tuple(F.max_pool1d(T(np.zeros((0, 2, 5))), 2).shape) == (0, 2, 2)


# ---- gradients ------------------------------------------------------------------------------

def _leaf(shape, positive=False):
    a = distinct(shape)
    if positive:
        a = np.abs(a) + 0.5
    return dlcore.tensor(a, requires_grad=True)


def test_gradcheck_max_pools():
    assert gradcheck(lambda x: F.max_pool2d(x, 2), (_leaf((2, 2, 5, 6)),))
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (_leaf((1, 2, 6, 7)),))
    assert gradcheck(lambda x: F.max_pool2d(x, (3, 2), 1, (1, 0), (2, 1)), (_leaf((1, 1, 7, 5)),))
    assert gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1), (_leaf((2, 2, 9)),))
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 2)), (_leaf((1, 2, 7, 5)),))


def test_gradcheck_avg_pools():
    assert gradcheck(lambda x: F.avg_pool2d(x, 2), (_leaf((2, 2, 5, 6)),))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), (_leaf((1, 2, 6, 7)),))
    assert gradcheck(lambda x: F.avg_pool2d(x, (2, 3), 1, (1, 1), False, True, 5), (_leaf((1, 1, 4, 5)),))
    assert gradcheck(lambda x: F.avg_pool1d(x, 3, 2, 1, True), (_leaf((2, 2, 8)),))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (_leaf((1, 2, 7, 5)),))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, 1), (_leaf((2, 3, 4, 5)),))


def test_gradcheck_lp_pool_and_unpool():
    assert gradcheck(lambda x: F.lp_pool2d(x, 2, 2), (_leaf((1, 2, 4, 5), True),))
    assert gradcheck(lambda x: F.lp_pool2d(x, 3, (2, 3), 1, True), (_leaf((1, 1, 4, 5), True),))
    assert gradcheck(lambda x: F.lp_pool1d(x, 2, 3, 2), (_leaf((1, 2, 7), True),))
    # non-overlapping windows: distinct indices (duplicates would overwrite each other)
    _, i = F.max_pool2d(T(distinct((1, 2, 6, 7))), (2, 3), (2, 3), (1, 1), return_indices=True)
    assert gradcheck(lambda x: F.max_unpool2d(x, i, (2, 3), (2, 3), (1, 1), (6, 7)),
                     (_leaf(tuple(i.shape)),))


def test_max_pool_gradient_goes_to_argmax_and_accumulates():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0                        # the max of all four overlapping 2x2 windows
    t = T(x, requires_grad=True)
    F.max_pool2d(t, 2, 1).backward(dlcore.tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]])))
    g = np.zeros((1, 1, 3, 3))
    g[0, 0, 1, 1] = 10.0
    assert_close(t.grad, g, "float64")
    # ties: the first maximum in window order gets the gradient (as torch)
    t = T(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(t, 2).backward(dlcore.ones(1, 1, 1, 1, dtype=dlcore.float64))
    assert_close(t.grad, np.array([[[[1.0, 0.0], [0.0, 0.0]]]]), "float64")


# ---- torch agreement on random configurations -------------------------------------------------

def _pool_case(data, st, with_dilation=True):
    k = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    d = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))) if with_dilation else (1, 1)
    s = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    p = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2)))
    ceil = data.draw(st.booleans())
    n = data.draw(st.sampled_from([0, 1, 2, 3]))
    c = data.draw(st.sampled_from([1, 2, 5]))
    hw = []
    for i in range(2):
        need = max(1, (k[i] - 1) * d[i] + 1 - 2 * p[i])
        hw.append(data.draw(st.integers(need, need + 12)))
    return (n, c, *hw), k, s, p, d, ceil


def _torch_grad(torch, fn, x, g):
    """(torch's output, its input gradient for output gradient g, or None). A dilated max
    window lying entirely in the padding gives -inf and an index outside its plane, where
    torch's backward writes out of bounds (into another plane, or past the buffer): no
    backward is run then (dlcore's skips such an index)."""
    tx = torch.tensor(x, requires_grad=True)
    out = fn(tx)
    y = out[0] if isinstance(out, tuple) else out
    if torch.isinf(y).any():
        return out, None
    y.backward(torch.tensor(g))
    return out, tx.grad.numpy()


def test_max_pool2d_agrees_with_torch():
    torch = pytest.importorskip("torch")
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies

    @hyp.settings(max_examples=60)
    @hyp.given(st.data())
    def check(data):
        shape, k, s, p, d, ceil = _pool_case(data, st)
        x = distinct(shape)
        tf = lambda t: torch.nn.functional.max_pool2d(t, k, s, p, d, ceil, True)  # noqa: E731
        ty, ti = tf(torch.tensor(x))
        g = RNG.standard_normal(tuple(ty.shape))
        (ty, ti), tg = _torch_grad(torch, tf, x, g)
        xt = T(x, requires_grad=True)
        y, i = F.max_pool2d(xt, k, s, p, d, ceil, return_indices=True)
        y.backward(T(g))
        assert_close(y.detach(), ty.detach().numpy(), "float64")
        assert_close(i, ti.numpy(), "int64")
        if tg is not None:
            assert_close(xt.grad, tg, "float64")
    check()


def test_avg_pool2d_agrees_with_torch():
    torch = pytest.importorskip("torch")
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies

    @hyp.settings(max_examples=60)
    @hyp.given(st.data())
    def check(data):
        shape, k, s, p, _, ceil = _pool_case(data, st, with_dilation=False)
        cip = data.draw(st.booleans())
        div = data.draw(st.sampled_from([None, None, 1, 7]))
        x = RNG.standard_normal(shape)
        tf = lambda t: torch.nn.functional.avg_pool2d(t, k, s, p, ceil, cip, div)  # noqa: E731
        g = RNG.standard_normal(tuple(tf(torch.tensor(x)).shape))
        ty, tg = _torch_grad(torch, tf, x, g)
        assert tg is not None
        xt = T(x, requires_grad=True)
        y = F.avg_pool2d(xt, k, s, p, ceil, cip, div)
        y.backward(T(g))
        assert_close(y.detach(), ty.detach().numpy(), "float64")
        assert_close(xt.grad, tg, "float64")
    check()


def test_1d_and_lp_and_adaptive_agree_with_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies

    @hyp.settings(max_examples=40)
    @hyp.given(st.data())
    def check(data):
        shape, k, s, p, d, ceil = _pool_case(data, st)
        x = distinct(shape)
        x1 = x[:, :, 0]
        cases = [
            (lambda t: F.max_pool1d(t, k[1], s[1], p[1], d[1], ceil, True),
             lambda t: tF.max_pool1d(t, k[1], s[1], p[1], d[1], ceil, True), x1),
            (lambda t: F.avg_pool1d(t, k[1], s[1], min(p[1], k[1] // 2), ceil),
             lambda t: tF.avg_pool1d(t, k[1], s[1], min(p[1], k[1] // 2), ceil), x1),
            (lambda t: F.lp_pool2d(t, 2.0, k, s, ceil), lambda t: tF.lp_pool2d(t, 2.0, k, s, ceil),
             np.abs(x) + 0.1),
            (lambda t: F.adaptive_avg_pool2d(t, (k[0] + 1, s[1] + 2)),
             lambda t: tF.adaptive_avg_pool2d(t, (k[0] + 1, s[1] + 2)), x),
            (lambda t: F.adaptive_max_pool2d(t, (k[1], s[0] + 1), True),
             lambda t: tF.adaptive_max_pool2d(t, (k[1], s[0] + 1), True), x),
        ]
        for f, tf, xin in cases:
            try:
                tout = tf(torch.tensor(xin))
            except RuntimeError:                 # e.g. output too small: so must ours be
                with pytest.raises(ValueError):
                    f(T(xin))
                continue
            ty = tout[0] if isinstance(tout, tuple) else tout
            g = RNG.standard_normal(tuple(ty.shape))
            tout, tg = _torch_grad(torch, tf, xin, g)
            xt = T(xin, requires_grad=True)
            out = f(xt)
            y = out[0] if isinstance(out, tuple) else out
            y.backward(T(g))
            ty = tout[0] if isinstance(tout, tuple) else tout
            assert_close(y.detach(), ty.detach().numpy(), "float64")
            if isinstance(out, tuple):
                assert_close(out[1], tout[1].numpy(), "int64")
            if tg is not None:
                assert_close(xt.grad, tg, "float64", atol=1e-10)
    check()


def test_1d_adaptive_and_unpool_agree_with_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    for shape, out in [((2, 3, 11), 4), ((1, 2, 5), 7), ((3, 7), 1), ((2, 1, 9), None)]:
        x = distinct(shape)
        osz = out if out is not None else (None,)
        for f, tf in [(lambda t: F.adaptive_avg_pool1d(t, osz), lambda t: tF.adaptive_avg_pool1d(t, out or shape[-1])),
                      (lambda t: F.adaptive_max_pool1d(t, osz, True),
                       lambda t: tF.adaptive_max_pool1d(t, out or shape[-1], True))]:
            tout = tf(torch.tensor(x))
            ty = tout[0] if isinstance(tout, tuple) else tout
            g = RNG.standard_normal(tuple(ty.shape))
            tout, tg = _torch_grad(torch, tf, x, g)
            xt = T(x, requires_grad=True)
            o = f(xt)
            y = o[0] if isinstance(o, tuple) else o
            y.backward(T(g))
            assert_close(y.detach(), (tout[0] if isinstance(tout, tuple) else tout).detach().numpy(), "float64")
            if isinstance(o, tuple):
                assert_close(o[1], tout[1].numpy(), "int64")
            assert_close(xt.grad, tg, "float64")
    x = distinct((2, 3, 10))
    y, i = tF.max_pool1d(torch.tensor(x), 2, return_indices=True)
    ty = y.detach().clone().requires_grad_(True)
    tu = tF.max_unpool1d(ty, i, 2, output_size=[11])
    g = RNG.standard_normal(tuple(tu.shape))
    tu.backward(torch.tensor(g))
    dy = T(y.numpy(), requires_grad=True)
    u = F.max_unpool1d(dy, T(i.numpy()), 2, output_size=[11])
    u.backward(T(g))
    assert_close(u.detach(), tu.detach().numpy(), "float64")
    assert_close(dy.grad, ty.grad.numpy(), "float64")
    assert gradcheck(lambda t: F.adaptive_avg_pool1d(t, 3), (_leaf((2, 2, 7)),))
    assert gradcheck(lambda t: F.adaptive_max_pool1d(t, 4), (_leaf((1, 2, 9)),))
    with pytest.raises(ValueError) as e:
        F.adaptive_avg_pool1d(T(distinct((2, 3, 4, 5))), 2)
    assert_names_shapes(e, (2, 3, 4, 5))


def test_max_unpool2d_agrees_with_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    for shape, k, s, p, osz in [((2, 3, 8, 8), 2, 2, 0, None), ((1, 2, 9, 7), 3, 2, 1, (9, 7)),
                                ((3, 1, 5, 6), (2, 3), (1, 2), (1, 1), (5, 6))]:
        x = distinct(shape)
        y, i = tF.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
        ty = y.detach().clone().requires_grad_(True)
        tu = tF.max_unpool2d(ty, i, k, s, p, osz)
        g = RNG.standard_normal(tuple(tu.shape))
        tu.backward(torch.tensor(g))
        dy = T(y.numpy(), requires_grad=True)
        u = F.max_unpool2d(dy, T(i.numpy()), k, s, p, osz)
        u.backward(T(g))
        assert_close(u.detach(), tu.detach().numpy(), "float64")
        assert_close(dy.grad, ty.grad.numpy(), "float64")


# ---- modules --------------------------------------------------------------------------------

MODULES = [
    ("MaxPool2d", (3,), dict(stride=2, padding=1)),
    ("MaxPool2d", ((2, 3),), dict(dilation=(1, 2), ceil_mode=True)),
    ("MaxPool1d", (3,), dict(stride=1, padding=1)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False)),
    ("AvgPool2d", (2,), dict(divisor_override=3)),
    ("AvgPool1d", (3,), dict(stride=2)),
    ("LPPool2d", (2, 2), dict()),
    ("LPPool2d", (3, (2, 3)), dict(stride=1, ceil_mode=True)),
    ("LPPool1d", (2, 3), dict()),
    ("AdaptiveAvgPool2d", ((3, None),), dict()),
    ("AdaptiveAvgPool2d", (1,), dict()),
    ("AdaptiveMaxPool2d", (2,), dict()),
    ("MaxUnpool2d", (2,), dict()),
    ("AdaptiveAvgPool1d", (4,), dict()),
    ("AdaptiveMaxPool1d", (2,), dict()),
    ("MaxUnpool1d", (3,), dict(stride=2)),
]


@pytest.mark.parametrize("name,args,kw", MODULES)
def test_modules_match_torch(name, args, kw):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict() == {} and len(theirs.state_dict()) == 0
    one_d = name.endswith("1d")
    x = np.abs(distinct((2, 3, 9) if one_d else (2, 3, 9, 8))) + 0.1
    if name == "MaxUnpool2d":
        y, i = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
        got = ours(T(y.numpy()), T(i.numpy()), output_size=(9, 8))
        want = theirs(y, i, output_size=(9, 8))
    elif name == "MaxUnpool1d":
        y, i = torch.nn.functional.max_pool1d(torch.tensor(x), 3, 2, return_indices=True)
        got, want = ours(T(y.numpy()), T(i.numpy())), theirs(y, i)
    else:
        got, want = ours(T(x)), theirs(torch.tensor(x))
    assert_close(got, want.numpy(), "float64")


def test_torch_model_state_dict_round_trip():
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(torch.nn.MaxPool2d(3, 2, 1), torch.nn.AvgPool2d(2),
                             torch.nn.Upsample(scale_factor=2, mode="bilinear"),
                             torch.nn.AdaptiveAvgPool2d((2, 3)), torch.nn.Flatten(),
                             torch.nn.Linear(3 * 6, 4))
    ours = nn.Sequential(nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(2),
                         nn.Upsample(scale_factor=2, mode="bilinear"),
                         nn.AdaptiveAvgPool2d((2, 3)), nn.Flatten(), nn.Linear(3 * 6, 4))
    ours.load_state_dict({k: T(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = RNG.standard_normal((2, 3, 17, 13)).astype(np.float32)
    assert_close(ours(T(x)).detach(), tm(torch.tensor(x)).detach().numpy(), "float32")


def test_module_return_indices():
    x = distinct((1, 2, 6, 6))
    y, i = nn.MaxPool2d(2, return_indices=True)(T(x))
    y2, i2 = nn.AdaptiveMaxPool2d(3, return_indices=True)(T(x))
    assert_close(i, npa(i2), "int64")
    u = nn.MaxUnpool2d(2)(y, i)
    assert_close(u, ref_unpool(npa(y), npa(i), 6, 6), "float64")


# ---- bad input ------------------------------------------------------------------------------

def test_bad_geometry_raises_value_error():
    x = T(RNG.standard_normal((2, 3, 8, 8)))
    with pytest.raises(ValueError, match="pad should be at most half of effective kernel size") as e:
        F.max_pool2d(x, 3, padding=2)
    assert_names_op(e, "max_pool2d")
    with pytest.raises(ValueError, match="pad should be at most half"):
        F.avg_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="pad should be at most half"):
        F.max_pool2d(x, 3, padding=2, dilation=2)      # torch bounds pad by kernel_size / 2
    for kw in (dict(kernel_size=0), dict(kernel_size=2, stride=0), dict(kernel_size=2, dilation=0),
               dict(kernel_size=(2, -1)), dict(kernel_size=2, padding=-1)):
        with pytest.raises(ValueError) as e:
            F.max_pool2d(x, **kw)
        assert_names_op(e, "max_pool2d")
    with pytest.raises(ValueError) as e:
        F.avg_pool1d(T(RNG.standard_normal((2, 3, 8))), 2, stride=0)
    assert_names_op(e, "avg_pool1d")
    with pytest.raises(ValueError, match="too small") as e:
        F.max_pool2d(T(RNG.standard_normal((1, 2, 2, 5))), 3)
    assert_names_shapes(e, (1, 2, 2, 5))
    with pytest.raises(ValueError):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError):
        F.max_pool2d(x, (2, 2, 2))


def test_bad_rank_dtype_and_type():
    with pytest.raises(ValueError) as e:
        F.max_pool2d(T(RNG.standard_normal((4, 5))), 2)
    assert_names_op(e, "max_pool2d")
    assert_names_shapes(e, (4, 5))
    with pytest.raises(ValueError) as e:
        F.avg_pool2d(T(RNG.standard_normal((1, 2, 3, 4, 5))), 2)
    assert_names_shapes(e, (1, 2, 3, 4, 5))
    with pytest.raises(ValueError):
        F.max_pool1d(T(RNG.standard_normal((2, 3, 4, 5))), 2)
    with pytest.raises(ValueError):
        F.max_pool2d(T(np.zeros((2, 0, 4, 4))), 2)         # only the batch may be empty
    with pytest.raises(TypeError) as e:
        F.max_pool2d(T(np.arange(16).reshape(1, 1, 4, 4)), 2)
    assert_names_op(e, "max_pool2d")
    with pytest.raises(TypeError):
        F.adaptive_avg_pool2d(T(np.ones((1, 1, 4, 4), bool)), 2)
    with pytest.raises(TypeError):
        F.max_pool2d(np.zeros((1, 1, 4, 4)), 2)
    with pytest.raises(ValueError) as e:
        F.adaptive_avg_pool2d(T(RNG.standard_normal((1, 2, 4, 4))), (0, 2))
    assert_names_op(e, "adaptive_avg_pool2d")
    with pytest.raises(ValueError):
        F.adaptive_max_pool2d(T(RNG.standard_normal((1, 2, 4, 4))), (2, 2, 2))


def test_bad_unpool_arguments():
    x = distinct((1, 2, 6, 6))
    y, i = F.max_pool2d(T(x), 2, return_indices=True)
    with pytest.raises(TypeError) as e:
        F.max_unpool2d(y, T(npa(i).astype(np.float64)), 2)
    assert_names_op(e, "max_unpool2d")
    with pytest.raises(ValueError) as e:
        F.max_unpool2d(y, T(npa(i)[:, :, :2]), 2)
    assert_names_shapes(e, (1, 2, 2, 3))
    bad = npa(i).copy()
    bad[0, 1, 2, 2] = 36
    with pytest.raises(ValueError, match="invalid max index"):
        F.max_unpool2d(y, T(bad), 2)
    bad[0, 1, 2, 2] = -1
    with pytest.raises(ValueError, match="invalid max index"):
        F.max_unpool2d(y, T(bad), 2)
    with pytest.raises(ValueError, match="output_size"):
        F.max_unpool2d(y, i, 2, output_size=(9, 6))
    with pytest.raises(ValueError, match="output_size"):
        F.max_unpool2d(y, i, 2, output_size=(6, 6, 6, 6, 6))
    with pytest.raises(ValueError):
        F.max_unpool2d(T(RNG.standard_normal((3, 3))), T(np.zeros((3, 3), np.int64)), 2)


# ---- interpolate ----------------------------------------------------------------------------

def ref_resize_1d(x, out, mode, align, scale=None):
    """Resize the last axis of x (float64) to `out` by the sampling rules of interpolate."""
    n = x.shape[-1]
    step = (1.0 / scale) if scale else n / out
    y = np.empty(x.shape[:-1] + (out,))
    for o in range(out):
        if mode in ("nearest", "nearest-exact"):
            c = (o + 0.5) * step if mode == "nearest-exact" else o * step
            y[..., o] = x[..., min(int(math.floor(np.float32(c))), n - 1)]
            continue
        if align:
            src = o * (n - 1) / (out - 1) if out > 1 else 0.0
        else:
            src = max((o + 0.5) * step - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n - 1)
        i1 = min(i0 + 1, n - 1)
        lam = src - i0
        y[..., o] = (1 - lam) * x[..., i0] + lam * x[..., i1]
    return y


def ref_interpolate(x, out, mode, align=False, scales=None):
    scales = scales or [None] * len(out)
    y = ref_resize_1d(x, out[-1], mode, align, scales[-1])
    if len(out) == 2:   # separable: resize H on the transposed array
        y = np.swapaxes(ref_resize_1d(np.swapaxes(y, -1, -2), out[0], mode, align, scales[0]), -1, -2)
    return y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,kw,out", [
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bilinear"), (9, 4)),
    ((2, 3, 5, 7), dict(size=(9, 13), mode="bilinear", align_corners=True), (9, 13)),
    ((1, 2, 4, 4), dict(scale_factor=2, mode="bilinear"), (8, 8)),
    ((1, 2, 1, 3), dict(size=(3, 1), mode="bilinear", align_corners=True), (3, 1)),
    ((2, 3, 5, 7), dict(scale_factor=(1.7, 0.6), mode="nearest"), (8, 4)),
    ((2, 3, 5, 7), dict(size=(11, 3), mode="nearest-exact"), (11, 3)),
    ((2, 3, 4, 4), dict(scale_factor=2, mode="nearest"), (8, 8)),
    # integer column repeats (the copy paths of the CPU kernel: 1, 2, 3, 4 and the table for 5)
    ((1, 2, 3, 5), dict(scale_factor=(3, 4), mode="nearest"), (9, 20)),
    ((2, 1, 3, 7), dict(size=(3, 14), mode="nearest-exact"), (3, 14)),
    ((1, 1, 2, 3), dict(scale_factor=(1, 5), mode="nearest"), (2, 15)),
    ((1, 2, 6, 7), dict(size=(3, 7), mode="nearest"), (3, 7)),
    ((1, 2, 17), dict(scale_factor=3, mode="nearest"), (51,)),
    ((2, 3, 9), dict(scale_factor=1.3, mode="linear"), (11,)),
    ((2, 3, 9), dict(size=4, mode="linear", align_corners=True), (4,)),
    ((2, 3, 9), dict(size=13, mode="nearest"), (13,)),
])
def test_interpolate_matches_numpy(shape, kw, out, dtype):
    x = RNG.standard_normal(shape).astype(dtype)
    y = F.interpolate(T(x), **kw)
    sf = kw.get("scale_factor")
    scales = None if sf is None else (list(sf) if isinstance(sf, tuple) else [sf] * len(out))
    assert_close(y, ref_interpolate(x.astype(np.float64), out, kw["mode"],
                                    kw.get("align_corners", False), scales), dtype)


def test_interpolate_agrees_with_torch():
    torch = pytest.importorskip("torch")
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies

    @hyp.settings(max_examples=60)
    @hyp.given(st.data())
    def check(data):
        mode = data.draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "area"]))
        two_d = mode == "bilinear" or (mode != "linear" and data.draw(st.booleans()))
        n, c = data.draw(st.sampled_from([0, 1, 2])), data.draw(st.sampled_from([1, 3]))
        sp = [data.draw(st.integers(1, 9)) for _ in range(2 if two_d else 1)]
        kw = dict(mode=mode)
        if mode in ("linear", "bilinear"):
            kw["align_corners"] = data.draw(st.booleans())
        if data.draw(st.booleans()):
            kw["size"] = [data.draw(st.integers(1, 17)) for _ in sp]
        else:
            kw["scale_factor"] = [data.draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.7, 3.0])) for _ in sp]
            if any(int(v * f) < 1 for v, f in zip(sp, kw["scale_factor"])):
                kw["scale_factor"] = [2.0] * len(sp)
            kw["recompute_scale_factor"] = data.draw(st.sampled_from([None, True]))
        x = RNG.standard_normal((n, c, *sp))
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.interpolate(tx, **kw)
        g = RNG.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(g))
        xt = T(x, requires_grad=True)
        y = F.interpolate(xt, **kw)
        y.backward(T(g))
        assert_close(y.detach(), ty.detach().numpy(), "float64")
        assert_close(xt.grad, tx.grad.numpy(), "float64")
    check()


def test_gradcheck_interpolate():
    assert gradcheck(lambda x: F.interpolate(x, size=(5, 7), mode="bilinear"), (_leaf((1, 2, 3, 4)),))
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=0.6, mode="bilinear", align_corners=True),
                     (_leaf((1, 1, 5, 6)),))
    assert gradcheck(lambda x: F.interpolate(x, size=7, mode="linear"), (_leaf((2, 1, 4)),))
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=(2, 1.5), mode="nearest"), (_leaf((1, 2, 3, 4)),))
    assert gradcheck(lambda x: F.interpolate(x, size=(2, 3), mode="nearest-exact"), (_leaf((1, 1, 5, 4)),))
    assert gradcheck(lambda x: F.interpolate(x, size=(2, 3), mode="area"), (_leaf((1, 1, 5, 4)),))


def test_upsample_modules_match_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 3, 5, 6))
    for ours, theirs in [
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.Upsample(size=(7, 9), mode="bilinear", align_corners=False),
         torch.nn.Upsample(size=(7, 9), mode="bilinear", align_corners=False)),
        (nn.Upsample(scale_factor=(2, 3), mode="nearest"), torch.nn.Upsample(scale_factor=(2, 3), mode="nearest")),
        (nn.UpsamplingNearest2d(size=8), torch.nn.UpsamplingNearest2d(size=8)),
        (nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)),
    ]:
        assert repr(ours) == repr(theirs)
        assert_close(ours(T(x)), theirs(torch.tensor(x)).numpy(), "float64")
    y = nn.Upsample(scale_factor=2, mode="linear")(T(x[:, :, 0]))
    assert tuple(y.shape) == (2, 3, 12)
    assert tuple(F.upsample_bilinear(T(x), scale_factor=2).shape) == (2, 3, 10, 12)
    assert tuple(F.interpolate(T(np.zeros((0, 3, 4, 4))), scale_factor=2).shape) == (0, 3, 8, 8)


def test_interpolate_bad_input():
    x = T(RNG.standard_normal((1, 2, 4, 4)))
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(ValueError) as e:
        F.interpolate(x, size=3, mode="linear")
    assert_names_shapes(e, (1, 2, 4, 4))
    with pytest.raises(ValueError) as e:
        F.interpolate(T(RNG.standard_normal((1, 2, 4))), size=3, mode="bilinear")
    assert_names_shapes(e, (1, 2, 4))
    with pytest.raises(ValueError) as e:
        F.interpolate(T(RNG.standard_normal((2, 4))), size=3)
    assert_names_op(e, "interpolate")
    with pytest.raises(ValueError):
        F.interpolate(x, size=(3, 3, 3))
    with pytest.raises(ValueError) as e:
        F.interpolate(x, scale_factor=0.1)          # floor(4 * 0.1) = 0
    assert_names_op(e, "interpolate")
    with pytest.raises(ValueError):
        F.interpolate(x, size=(0, 3), mode="bilinear")
    with pytest.raises(ValueError):
        F.interpolate(x, size=3, mode="cubic-ish")
    with pytest.raises(TypeError):
        F.interpolate(T(np.ones((1, 1, 2, 2), np.int64)), scale_factor=2)


# ---- CUDA agreement ------------------------------------------------------------------------

@requires_cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_matches_cpu(dtype):
    ops = [
        lambda x: F.max_pool2d(x, 2, return_indices=True),
        lambda x: F.max_pool2d(x, 3, 2, 1, 2, True, True),
        lambda x: F.max_pool1d(x.reshape(x.shape[0], x.shape[1], -1), 4, 3, 1, 1, True, True),
        lambda x: F.avg_pool2d(x, 2),
        lambda x: F.avg_pool2d(x, 3, 2, 1, True, False),
        lambda x: F.avg_pool2d(x, (3, 2), 1, 1, False, True, 4),
        lambda x: F.adaptive_avg_pool2d(x, 1),
        lambda x: F.adaptive_avg_pool2d(x, (3, 5)),
        lambda x: F.adaptive_max_pool2d(x, (4, 3), True),
        lambda x: F.lp_pool2d(x.abs() + 0.1, 2, 3, 2),
        lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
        lambda x: F.interpolate(x, size=(5, 17), mode="nearest-exact"),
        lambda x: F.interpolate(x, size=(23, 7), mode="bilinear"),
        lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True),
        lambda x: F.interpolate(x.reshape(x.shape[0], x.shape[1], -1), size=50, mode="linear"),
    ]
    x = distinct((3, 4, 11, 12), np.dtype(dtype))
    g_seed = np.random.default_rng(3)
    for op in ops:
        outs = []
        for dev in ("cpu", "cuda"):
            xt = T(x, requires_grad=True, device=dev)
            out = op(xt)
            y = out[0] if isinstance(out, tuple) else out
            g = g_seed.standard_normal(tuple(y.shape)).astype(dtype) if dev == "cpu" else g
            y.backward(T(g, device=dev))
            outs.append((npa(y), npa(out[1]) if isinstance(out, tuple) else None, npa(xt.grad)))
        (yc, ic, gc), (yg, ig, gg) = outs
        assert_close(yg, yc, dtype, check_dtype=False)
        if ic is not None:
            np.testing.assert_array_equal(ig, ic)
        assert_close(gg, gc, dtype, check_dtype=False)
    y, i = F.max_pool2d(T(x, device="cuda"), 2, return_indices=True)
    u = F.max_unpool2d(y, i, 2, output_size=(11, 12))
    yc, ic = F.max_pool2d(T(x), 2, return_indices=True)
    assert_close(npa(u), npa(F.max_unpool2d(yc, ic, 2, output_size=(11, 12))), dtype, check_dtype=False)
    bad = npa(i).copy()
    bad[0, 0, 0, 0] = 10 ** 6
    with pytest.raises(ValueError, match="invalid max index"):
        F.max_unpool2d(y, T(bad, device="cuda"), 2)

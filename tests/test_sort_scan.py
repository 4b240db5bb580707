# sort / argsort / topk / kthvalue / median and cumsum / cumprod / logcumsumexp / logsumexp
# against torch: ties (stable), NaN order, empty and size-1 dims, every dim, float64 gradchecks.
import numpy as np
import pytest

import dlcore
from dlcore.autograd import gradcheck
from conftest import T, assert_close, tt

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")
st = hyp.strategies



def _data(rng, shape, kind, dt):
    if kind == "ties":
        x = rng.integers(-2, 3, size=shape).astype(dt)
    elif kind == "nan":
        x = rng.standard_normal(shape).astype(dt)
        x[rng.random(shape) < 0.3] = np.nan
        x[rng.random(shape) < 0.1] = np.inf
        x[rng.random(shape) < 0.1] = -0.0
    else:
        x = rng.standard_normal(shape).astype(dt)
    return x


@hyp.settings(max_examples=30)
@hyp.given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=3), data=st.data())
def test_sort_matches_torch_stable(shape, data):
    rng = np.random.default_rng(sum(shape) * 13 + len(shape))
    kind = data.draw(st.sampled_from(["plain", "ties", "nan"]))
    dt = data.draw(st.sampled_from([np.float32, np.float64, np.int64]))
    if dt is np.int64 and kind == "nan":
        kind = "ties"
    x = _data(rng, shape, kind, dt)
    nd = max(len(shape), 1)
    d = data.draw(st.integers(-nd, nd - 1))
    desc = data.draw(st.booleans())
    v, i = dlcore.sort(T(x), d, descending=desc)
    wv, wi = torch.sort(tt(x), dim=d, descending=desc, stable=True)
    np.testing.assert_array_equal(np.asarray(v), wv.numpy())
    np.testing.assert_array_equal(np.asarray(i), wi.numpy())
    np.testing.assert_array_equal(np.asarray(T(x).argsort(d, descending=desc)), wi.numpy())


def test_sort_long_rows_radix_path():
    rng = np.random.default_rng(3)
    for dt in (np.float32, np.float64, np.int64):
        x = _data(rng, (3, 1000), "nan" if dt != np.int64 else "ties", dt)
        if dt != np.int64:
            x[0, :400] = rng.integers(-3, 3, size=400)   # many ties
        for desc in (False, True):
            v, i = dlcore.sort(T(x), 1, descending=desc)
            wv, wi = torch.sort(tt(x), dim=1, descending=desc, stable=True)
            np.testing.assert_array_equal(np.asarray(v), wv.numpy())
            np.testing.assert_array_equal(np.asarray(i), wi.numpy())
    b = rng.random(300) > 0.5
    np.testing.assert_array_equal(np.asarray(dlcore.sort(T(b)).indices), torch.sort(tt(b), stable=True).indices.numpy())


@hyp.settings(max_examples=30)
@hyp.given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3), data=st.data())
def test_topk_kthvalue_median(shape, data):
    rng = np.random.default_rng(sum(shape) * 5 + 1)
    kind = data.draw(st.sampled_from(["plain", "ties", "nan"]))
    x = _data(rng, shape, kind, np.float64)
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    k = data.draw(st.integers(0, n))
    largest = data.draw(st.booleans())
    v, i = T(x).topk(k, d, largest=largest)
    wv, _ = torch.topk(tt(x), k, d, largest=largest)
    np.testing.assert_array_equal(np.asarray(v), wv.numpy())
    # indices point at the values (which of equal values is returned is unspecified in torch)
    np.testing.assert_array_equal(np.take_along_axis(x, np.asarray(i), d), np.asarray(v))
    if k >= 1:
        kv, ki = T(x).kthvalue(k, d, keepdim=True)
        wkv, _ = torch.kthvalue(tt(x), k, d, keepdim=True)
        np.testing.assert_array_equal(np.asarray(kv), wkv.numpy())
        np.testing.assert_array_equal(np.take_along_axis(x, np.asarray(ki), d), np.asarray(kv))
    mv, mi = T(x).median(d)
    wmv, wmi = torch.median(tt(x), d)
    np.testing.assert_array_equal(np.asarray(mv), wmv.numpy())
    got = np.take_along_axis(x, np.expand_dims(np.asarray(mi), d), d).squeeze(d)
    np.testing.assert_array_equal(got, np.asarray(mv))
    np.testing.assert_array_equal(np.asarray(dlcore.median(T(x))), torch.median(tt(x)).numpy())


def test_topk_large_and_small_k_paths():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 3000)).astype(np.float32)
    x[:, ::7] = 0.5    # ties
    for k in (1, 10, 64, 65, 500, 3000):
        for largest in (True, False):
            v, i = dlcore.topk(T(x), k, largest=largest)
            wv, _ = torch.topk(tt(x), k, largest=largest)
            np.testing.assert_array_equal(np.asarray(v), wv.numpy())
            np.testing.assert_array_equal(np.take_along_axis(x, np.asarray(i), 1), np.asarray(v))


def test_sort_errors():
    with pytest.raises(IndexError, match="topk"):
        dlcore.zeros(3, 4).topk(5)
    with pytest.raises(IndexError, match="kthvalue"):
        dlcore.zeros(3, 4).kthvalue(0)
    with pytest.raises(IndexError, match="sort"):
        dlcore.zeros(3).sort(1)


@hyp.settings(max_examples=25)
@hyp.given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=3), data=st.data())
def test_scans_match_torch(shape, data):
    rng = np.random.default_rng(sum(shape) + 11)
    nd = max(len(shape), 1)
    d = data.draw(st.integers(-nd, nd - 1))
    for dt in (np.float32, np.float64):
        x = rng.uniform(-2, 2, size=shape).astype(dt)
        assert_close(dlcore.cumsum(T(x), d), torch.cumsum(tt(x), d).numpy(), dt.__name__, atol=1e-5)
        assert_close(T(x).cumprod(d), torch.cumprod(tt(x), d).numpy(), dt.__name__, atol=1e-5)
        assert_close(T(x).logcumsumexp(d), torch.logcumsumexp(tt(x), d).numpy(), dt.__name__, atol=1e-5)
        assert_close(dlcore.logsumexp(T(x), d), torch.logsumexp(tt(x), d).numpy(), dt.__name__, atol=1e-5)
        assert_close(T(x).logsumexp(d, keepdim=True), torch.logsumexp(tt(x), d, keepdim=True).numpy(),
                     dt.__name__, atol=1e-5)
    xi = rng.integers(-3, 4, size=shape)
    np.testing.assert_array_equal(np.asarray(dlcore.cumsum(T(xi), d)), torch.cumsum(tt(xi), d).numpy())
    np.testing.assert_array_equal(np.asarray(dlcore.cumprod(T(xi), d)), torch.cumprod(tt(xi), d).numpy())
    xb = rng.random(shape) > 0.5
    got = dlcore.cumsum(T(xb), d)
    assert got.dtype is dlcore.int64
    np.testing.assert_array_equal(np.asarray(got), torch.cumsum(tt(xb), d).numpy())


def test_scan_wide_inner_and_infinities():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 7, 300))
    assert_close(dlcore.cumsum(T(x), 1), torch.cumsum(tt(x), 1).numpy(), "float64")
    y = np.array([-np.inf, -np.inf, 0.0, np.inf, 1.0])
    assert_close(dlcore.logcumsumexp(T(y), 0), torch.logcumsumexp(tt(y), 0).numpy(), "float64")
    big = np.array([1000.0, 1000.0, -1000.0])
    assert_close(dlcore.logsumexp(T(big), 0), torch.logsumexp(tt(big), 0).numpy(), "float64")


def test_gradients_float64():
    rng = np.random.default_rng(5)
    x = T(rng.standard_normal((3, 5)), dtype="float64").requires_grad_()
    assert gradcheck(lambda a: a.sort(1, descending=True).values, (x,))
    assert gradcheck(lambda a: a.sort(0).values, (x,))
    assert gradcheck(lambda a: a.topk(2, 1).values, (x,))
    assert gradcheck(lambda a: a.kthvalue(2, 0).values, (x,))
    assert gradcheck(lambda a: a.median(1).values, (x,))
    assert gradcheck(lambda a: a.cumsum(1), (x,))
    assert gradcheck(lambda a: a.cumsum(0), (x,))
    assert gradcheck(lambda a: a.cumprod(1), (x,))
    assert gradcheck(lambda a: a.logcumsumexp(1), (x,))
    assert gradcheck(lambda a: a.logsumexp(1), (x,))
    z = T(np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 0.5]]), dtype="float64").requires_grad_()
    assert gradcheck(lambda a: a.cumprod(1), (z,))    # zeros: the exact recurrence


def test_cumprod_grad_with_zeros_matches_torch():
    a = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 1.0, 0.0, 2.0]])
    g = np.arange(8.0).reshape(2, 4)
    x = T(a).requires_grad_()
    x.cumprod(1).backward(T(g))
    w = tt(a).requires_grad_()
    w.cumprod(1).backward(tt(g))
    assert_close(x.grad, w.grad.numpy(), "float64")


def test_scan_row_groups_forward_and_reverse():
    # 19 rows of the last dim: two full groups of 8 rows scanned together plus a partial group;
    # the gradient of cumsum is the reverse scan on the same path.
    rng = np.random.default_rng(9)
    x = rng.standard_normal((19, 23))
    g = rng.standard_normal((19, 23))
    assert_close(dlcore.cumsum(T(x), 1), np.cumsum(x, 1), "float64")
    assert_close(dlcore.cumprod(T(x), 1), np.cumprod(x, 1), "float64")
    xt = T(x).requires_grad_()
    xt.cumsum(1).backward(T(g))
    assert_close(xt.grad, np.cumsum(g[:, ::-1], 1)[:, ::-1], "float64")

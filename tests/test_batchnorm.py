"""Batch norm and local response norm: float64 NumPy references (outputs, running statistics,
every gradient), torch agreement (functional and modules, momentum / cumulative average, train
/ eval switching, state_dict round trip), gradcheck, determinism across thread counts, bad
input, empty batches, and CPU vs CUDA when a GPU is present."""
import re

import numpy as np
import pytest

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
from dlcore.autograd import gradcheck

from conftest import assert_close as _assert_close, assert_names_op, assert_names_shapes, requires_cuda

RNG = np.random.default_rng(7)


def T(a, dtype=None, requires_grad=False, device="cpu"):
    return dlcore.tensor(np.asarray(a), dtype=dtype, device=device, requires_grad=requires_grad)


def assert_close(actual, *args, **kw):
    if isinstance(actual, dlcore.Tensor):
        actual = actual.detach()
    _assert_close(actual, *args, **kw)


def npa(t):
    t = t.detach()
    return np.asarray(t.cpu() if t.is_cuda else t)


# ---- float64 NumPy references ------------------------------------------------------------------

def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _bcast(v, x):
    return np.asarray(v, np.float64).reshape((1, -1) + (1,) * (x.ndim - 2))


def bn_ref(x, rm, rv, w, b, training, momentum=0.1, eps=1e-5):
    """(y, new running_mean, new running_var, mean used, invstd used) in float64."""
    x = x.astype(np.float64)
    C = x.shape[1]
    w = np.ones(C) if w is None else w.astype(np.float64)
    b = np.zeros(C) if b is None else b.astype(np.float64)
    if training:
        mean = x.mean(axis=_axes(x))
        var = x.var(axis=_axes(x))
        m = x.size // C
        if rm is not None:
            rm = (1 - momentum) * rm.astype(np.float64) + momentum * mean
            rv = (1 - momentum) * rv.astype(np.float64) + momentum * var * m / (m - 1)
    else:
        mean, var = rm.astype(np.float64), rv.astype(np.float64)
    invstd = 1 / np.sqrt(var + eps)
    y = (x - _bcast(mean, x)) * _bcast(invstd * w, x) + _bcast(b, x)
    return y, rm, rv, mean, invstd


def bn_grad_ref(x, w, g, training, mean, invstd):
    """(dx, dweight, dbias) in float64 from the textbook formulas."""
    x, g = x.astype(np.float64), g.astype(np.float64)
    C = x.shape[1]
    w = np.ones(C) if w is None else w.astype(np.float64)
    xhat = (x - _bcast(mean, x)) * _bcast(invstd, x)
    db = g.sum(axis=_axes(x))
    dw = (g * xhat).sum(axis=_axes(x))
    if training:
        m = x.size // C
        dx = _bcast(w * invstd, x) * (g - _bcast(db / m, x) - xhat * _bcast(dw / m, x))
    else:
        dx = g * _bcast(w * invstd, x)
    return dx, dw, db


def lrn_ref(x, size, alpha=1e-4, beta=0.75, k=1.0):
    x = x.astype(np.float64)
    C = x.shape[1]
    sq = x * x
    acc = np.zeros_like(x)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C - 1, c + (size - 1) // 2)
        acc[:, c] = sq[:, lo:hi + 1].sum(axis=1)
    return x / (k + alpha / size * acc) ** beta


TOL = {"float32": (2e-5, 2e-5), "float64": (1e-11, 1e-11)}

SHAPES = [(5, 3), (7, 1), (2, 1), (13, 6), (2, 4, 9), (3, 5, 1), (1, 3, 7), (3, 5, 4, 4),
          (1, 2, 3, 3), (4, 1, 13, 11), (2, 3, 1, 1), (2, 3, 64, 70), (2, 2, 3, 2, 5),
          (40001, 3), (300, 2, 3, 5)]   # the last two: several row blocks per channel


# ---- functional vs NumPy -----------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_numpy(shape, dtype, training):
    C = shape[1]
    x = RNG.standard_normal(shape) * 2 + 0.5
    w, b = RNG.standard_normal(C), RNG.standard_normal(C)
    rm, rv = RNG.standard_normal(C), RNG.uniform(0.5, 2.0, C)
    g = RNG.standard_normal(shape)
    x, w, b, rm, rv, g = (a.astype(dtype) for a in (x, w, b, rm, rv, g))
    tx, tw, tb = T(x, requires_grad=True), T(w, requires_grad=True), T(b, requires_grad=True)
    trm, trv = T(rm), T(rv)
    y = F.batch_norm(tx, trm, trv, tw, tb, training, 0.2, 1e-4)
    ey, erm, erv, mean, invstd = bn_ref(x, rm, rv, w, b, training, 0.2, 1e-4)
    rtol, atol = TOL[dtype]
    assert_close(y, ey, dtype, rtol, atol)
    assert_close(trm, erm, dtype, rtol, atol)
    assert_close(trv, erv, dtype, rtol, atol)
    y.backward(T(g))
    edx, edw, edb = bn_grad_ref(x, w, g, training, mean, invstd)
    assert_close(tx.grad, edx, dtype, rtol * 5, atol * 5)
    assert_close(tw.grad, edw, dtype, rtol * 5, atol * 5, scale=np.abs(g).sum() / C)
    assert_close(tb.grad, edb, dtype, rtol * 5, atol * 5, scale=np.abs(g).sum() / C)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_no_affine_no_running_stats(dtype):
    x = RNG.standard_normal((6, 4, 5)).astype(dtype)
    tx = T(x, requires_grad=True)
    y = F.batch_norm(tx, None, None, training=True)
    ey, *_ = bn_ref(x, None, None, None, None, True)
    assert_close(y, ey, dtype, *TOL[dtype])
    g = RNG.standard_normal(x.shape).astype(dtype)
    y.backward(T(g))
    _, _, _, mean, invstd = bn_ref(x, None, None, None, None, True)
    assert_close(tx.grad, bn_grad_ref(x, None, g, True, mean, invstd)[0], dtype,
                 *(5 * t for t in TOL[dtype]))


def test_variance_of_offset_data_float32():
    """Data far from zero (mean 1e4, std 1): the shifted double sums keep the variance exact
    where the naive E[x^2] - E[x]^2 in float32 would return noise."""
    x = (1e4 + RNG.standard_normal((16, 3, 20, 20))).astype(np.float32)
    rm, rv = T(np.zeros(3, np.float32)), T(np.ones(3, np.float32))
    y = F.batch_norm(T(x), rm, rv, training=True, momentum=1.0)
    ey, erm, erv, *_ = bn_ref(x, np.zeros(3), np.ones(3), None, None, True, 1.0)
    assert_close(rv, erv, "float32", 1e-5, 1e-6)
    assert_close(rm, erm, "float32", 1e-6, 1e-7)
    # y = x*scale + shift loses |mean|/std * eps_f32 ~ 1e4 * 6e-8 in float32 (as torch does).
    assert_close(y, ey, "float32", 1e-3, 1e-3)


def test_deterministic_across_thread_counts():
    x = RNG.standard_normal((9, 3, 37, 41)).astype(np.float32)
    g = RNG.standard_normal(x.shape).astype(np.float32)
    x2 = RNG.standard_normal((50001, 3)).astype(np.float32)
    old = dlcore.get_num_threads()
    res = []
    try:
        for n in (1, 2, 3):
            dlcore.set_num_threads(n)
            out = []
            for xx, gg in ((x, g), (x2, x2[::-1].copy())):
                tx = T(xx, requires_grad=True)
                w = T(np.ones(3, np.float32), requires_grad=True)
                rm, rv = T(np.zeros(3, np.float32)), T(np.ones(3, np.float32))
                y = F.batch_norm(tx, rm, rv, w, None, True)
                y.backward(T(gg))
                out += [npa(y), npa(rm), npa(rv), npa(tx.grad), npa(w.grad)]
            res.append(out)
    finally:
        dlcore.set_num_threads(old)
    for other in res[1:]:
        for a, b in zip(res[0], other):
            np.testing.assert_array_equal(a, b)


# ---- gradcheck -------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 2, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(shape, training):
    C = shape[1]
    x = T(RNG.standard_normal(shape), dlcore.float64, True)
    w = T(RNG.standard_normal(C), dlcore.float64, True)
    b = T(RNG.standard_normal(C), dlcore.float64, True)
    rm, rv = RNG.standard_normal(C), RNG.uniform(0.5, 2, C)

    def f(x, w, b):
        # fresh running statistics each call: the training update must not feed back
        return F.batch_norm(x, T(rm, dlcore.float64), T(rv, dlcore.float64), w, b, training, 0.1, 1e-3)
    assert gradcheck(f, (x, w, b))


def test_batch_norm_gradcheck_without_affine():
    x = T(RNG.standard_normal((5, 2, 3)), dlcore.float64, True)
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,))


@pytest.mark.parametrize("shape,size", [((2, 5, 3), 3), ((1, 4, 2, 3), 2), ((2, 3, 2, 1, 2), 5),
                                        ((2, 6, 3), 1)])
def test_local_response_norm_gradcheck(shape, size):
    x = T(RNG.standard_normal(shape) * 2, dlcore.float64, True)
    assert gradcheck(lambda x: F.local_response_norm(x, size, alpha=0.5, beta=0.75, k=1.5), (x,))
    assert gradcheck(lambda x: F.local_response_norm(x, size, alpha=0.3, beta=1.3, k=2.0), (x,))


# ---- local response norm ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 5, 7), (3, 1, 4, 4), (2, 7, 3, 5), (1, 11, 600),
                                   (2, 3, 2, 2, 3), (0, 4, 5)])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 12])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_local_response_norm_matches_numpy(shape, size, dtype):
    x = (RNG.standard_normal(shape) * 3).astype(dtype)
    for alpha, beta, k in ((1e-4, 0.75, 1.0), (0.5, 0.5, 2.0), (0.2, 1.7, 0.5)):
        y = F.local_response_norm(T(x), size, alpha, beta, k)
        assert_close(y, lrn_ref(x, size, alpha, beta, k), dtype, *TOL[dtype])


def test_local_response_norm_module_and_torch():
    torch = pytest.importorskip("torch")
    x = (RNG.standard_normal((3, 7, 5, 4)) * 2).astype(np.float64)
    g = RNG.standard_normal(x.shape)
    for size, alpha, beta, k in ((5, 1e-4, 0.75, 1.0), (4, 0.3, 0.9, 2.0), (2, 1.0, 0.5, 1.0)):
        m = nn.LocalResponseNorm(size, alpha, beta, k)
        tm = torch.nn.LocalResponseNorm(size, alpha, beta, k)
        assert repr(m) == repr(tm)
        tx = T(x, requires_grad=True)
        y = m(tx)
        y.backward(T(g))
        ttx = torch.tensor(x, requires_grad=True)
        ty = tm(ttx)
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(npa(y), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(npa(tx.grad), ttx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_local_response_norm_errors():
    with pytest.raises(ValueError) as e:
        F.local_response_norm(T(np.ones((4, 3), np.float32)), 2)
    assert_names_op(e, "local_response_norm")
    with pytest.raises(ValueError):
        F.local_response_norm(T(np.ones((4, 3, 2), np.float32)), 0)
    with pytest.raises(TypeError):
        F.local_response_norm(T(np.ones((4, 3, 2), np.int64)), 2)


# ---- torch agreement ---------------------------------------------------------------------------

def _torch_bn(torch, cls, *args, **kw):
    m = getattr(torch.nn, cls)(*args, **kw).double()
    return m


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 5)), ("BatchNorm1d", (4, 5, 7)),
                                       ("BatchNorm2d", (3, 5, 6, 7)), ("BatchNorm2d", (2, 5, 1, 3)),
                                       ("BatchNorm3d", (2, 5, 2, 3, 2))])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_modules_match_torch_over_steps(cls, shape, momentum):
    """Several training steps (outputs, every gradient, running statistics, the counter), then
    eval, then training again: the same as torch at every point."""
    torch = pytest.importorskip("torch")
    C = shape[1]
    m = getattr(nn, cls)(C, momentum=momentum).double()
    tm = _torch_bn(torch, cls, C, momentum=momentum)
    with torch.no_grad():
        w, b = RNG.standard_normal(C), RNG.standard_normal(C)
        tm.weight.copy_(torch.tensor(w))
        tm.bias.copy_(torch.tensor(b))
    with dlcore.no_grad():
        m.weight.copy_(T(w))
        m.bias.copy_(T(b))
    for step, mode in enumerate(["train", "train", "train", "eval", "train", "eval"]):
        m.train(mode == "train")
        tm.train(mode == "train")
        x = RNG.standard_normal(shape) * (1 + step) + step
        g = RNG.standard_normal(shape)
        tx = T(x, requires_grad=True)
        ttx = torch.tensor(x, requires_grad=True)
        m.zero_grad()
        tm.zero_grad()
        y = m(tx)
        ty = tm(ttx)
        y.backward(T(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(npa(y), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(npa(tx.grad), ttx.grad.numpy(), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(npa(m.weight.grad), tm.weight.grad.numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(npa(m.bias.grad), tm.bias.grad.numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(npa(m.running_mean), tm.running_mean.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(npa(m.running_var), tm.running_var.numpy(), rtol=1e-12, atol=1e-12)
        assert int(m.num_batches_tracked.item()) == int(tm.num_batches_tracked)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_functional_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for shape in [(17, 4), (3, 4, 10), (5, 4, 9, 7)]:
        x = (RNG.standard_normal(shape) * 3 - 1).astype(dtype)
        w, b = RNG.standard_normal(4).astype(dtype), RNG.standard_normal(4).astype(dtype)
        rm, rv = np.zeros(4, dtype), np.ones(4, dtype)
        g = RNG.standard_normal(shape).astype(dtype)
        for training in (True, False):
            args = [T(a, requires_grad=True) for a in (x, w, b)]
            targs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
            trm, trv, ttrm, ttrv = T(rm), T(rv), torch.tensor(rm), torch.tensor(rv)
            y = F.batch_norm(args[0], trm, trv, args[1], args[2], training, 0.3, 1e-3)
            ty = tf.batch_norm(targs[0], ttrm, ttrv, targs[1], targs[2], training, 0.3, 1e-3)
            y.backward(T(g))
            ty.backward(torch.tensor(g))
            rtol = 3e-5 if dtype == "float32" else 1e-10
            for a, e in [(y, ty), (trm, ttrm), (trv, ttrv)] + list(zip([a.grad for a in args],
                                                                       [a.grad for a in targs])):
                np.testing.assert_allclose(npa(a), e.detach().numpy(), rtol=rtol, atol=rtol * 10)


def test_state_dict_round_trip_with_torch():
    torch = pytest.importorskip("torch")
    tm = torch.nn.BatchNorm2d(6, momentum=0.3)
    tm.train()
    for _ in range(3):
        tm(torch.randn(4, 6, 5, 5) * 2 + 1)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-1, 1)
    tm.eval()
    sd = {k: v.numpy() for k, v in tm.state_dict().items()}
    m = nn.BatchNorm2d(6, momentum=0.3)
    assert list(m.state_dict().keys()) == list(sd.keys())
    m.load_state_dict(sd)
    m.eval()
    assert m.num_batches_tracked.dtype == dlcore.int64 and int(m.num_batches_tracked.item()) == 3
    x = RNG.standard_normal((2, 6, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(npa(m(T(x))), tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    # and back: dlcore's state_dict loads into a fresh torch module
    tm2 = torch.nn.BatchNorm2d(6)
    tm2.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m.state_dict().items()})
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(tm2.state_dict()[k].numpy(), v.numpy())


def test_module_defaults_and_repr():
    torch = pytest.importorskip("torch")
    for cls in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        for kw in ({}, {"affine": False}, {"momentum": None, "eps": 1e-3},
                   {"track_running_stats": False}, {"bias": False}):
            try:
                tm = getattr(torch.nn, cls)(5, **kw)
            except TypeError:                 # a torch before batch norm's `bias` argument
                assert "bias" in kw
                continue
            m = getattr(nn, cls)(5, **kw)
            # torch's repr names `bias` from the release that added it; compare with the
            # installed torch's spelling.
            want = repr(tm)
            got = repr(m) if "bias=" in want else re.sub(r", bias=\w+", "", repr(m))
            assert got == want
            assert list(m.state_dict().keys()) == list(tm.state_dict().keys())
            for k, v in tm.state_dict().items():
                np.testing.assert_array_equal(npa(m.state_dict()[k]), v.numpy())
            assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]


def test_track_running_stats_false_uses_batch_stats_in_eval():
    torch = pytest.importorskip("torch")
    m, tm = nn.BatchNorm1d(3, track_running_stats=False), torch.nn.BatchNorm1d(3, track_running_stats=False)
    assert m.running_mean is None and m.num_batches_tracked is None
    x = RNG.standard_normal((6, 3, 4)).astype(np.float32)
    for mode in (True, False):
        m.train(mode)
        tm.train(mode)
        np.testing.assert_allclose(npa(m(T(x))), tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_reset_and_eval_uses_running_stats():
    m = nn.BatchNorm2d(2)
    x = RNG.standard_normal((3, 2, 4, 4)).astype(np.float32) * 5 + 3
    m(T(x))
    assert int(m.num_batches_tracked.item()) == 1
    assert not np.allclose(npa(m.running_mean), 0)
    m.eval()
    rm, rv = npa(m.running_mean).copy(), npa(m.running_var).copy()
    y = m(T(x))
    ey, *_ = bn_ref(x, rm, rv, np.ones(2), np.zeros(2), False)
    assert_close(y, ey, "float32", 2e-5, 2e-5)
    np.testing.assert_array_equal(npa(m.running_mean), rm)      # eval leaves them alone
    assert int(m.num_batches_tracked.item()) == 1
    with dlcore.no_grad():
        m.weight.fill_(3.0)
    m.reset_running_stats()
    np.testing.assert_array_equal(npa(m.running_mean), 0)
    np.testing.assert_array_equal(npa(m.running_var), 1)
    assert int(m.num_batches_tracked.item()) == 0
    np.testing.assert_array_equal(npa(m.weight), 3)
    m.reset_parameters()
    np.testing.assert_array_equal(npa(m.weight), 1)


# ---- empty batches and bad input ---------------------------------------------------------------

def test_empty_batch():
    """As torch: N = 0 gives an empty output in eval AND in training (the running statistics
    stay as they were); only exactly one value per channel is refused in training."""
    for shape in [(0, 3), (0, 3, 4), (0, 3, 2, 2), (2, 3, 0)]:
        x = T(np.zeros(shape, np.float32), requires_grad=True)
        rm, rv = T(np.full(3, 0.5, np.float32)), T(np.full(3, 2.0, np.float32))
        w = T(np.ones(3, np.float32), requires_grad=True)
        for training in (False, True):
            y = F.batch_norm(x, rm, rv, w, None, training)
            assert tuple(y.shape) == shape
            np.testing.assert_array_equal(npa(rm), 0.5)
            np.testing.assert_array_equal(npa(rv), 2.0)
            y.sum().backward()
            assert tuple(x.grad.shape) == shape
            np.testing.assert_array_equal(npa(w.grad), 0)
            x.grad = w.grad = None
    m = nn.BatchNorm1d(3)
    assert tuple(m(T(np.zeros((0, 3), np.float32))).shape) == (0, 3)
    assert int(m.num_batches_tracked.item()) == 1            # counted, as torch does
    np.testing.assert_array_equal(npa(m.running_mean), 0)
    np.testing.assert_array_equal(npa(m.running_var), 1)


def test_one_value_per_channel_in_training_raises():
    for shape in [(1, 3), (1, 3, 1), (1, 3, 1, 1)]:
        with pytest.raises(ValueError) as e:
            F.batch_norm(T(np.ones(shape, np.float32)), None, None, training=True)
        assert "more than 1 value per channel" in str(e.value)
        assert_names_shapes(e, shape)
    # eval with one value is fine
    y = F.batch_norm(T(np.ones((1, 3), np.float32)), T(np.zeros(3, np.float32)),
                     T(np.ones(3, np.float32)), training=False)
    assert tuple(y.shape) == (1, 3)


def test_bad_input_errors():
    x = T(np.ones((4, 3, 5), np.float32))
    f3 = T(np.ones(3, np.float32))
    # wrong channel count of the per-channel tensors
    for kw in ({"weight": T(np.ones(4, np.float32))}, {"bias": T(np.ones(2, np.float32))}):
        with pytest.raises(ValueError) as e:
            F.batch_norm(x, f3, f3, training=True, **kw)
        assert_names_op(e, "batch_norm")
        assert_names_shapes(e, (4, 3, 5))
    with pytest.raises(ValueError) as e:
        F.batch_norm(x, T(np.zeros(4, np.float32)), T(np.ones(4, np.float32)))
    assert "running_mean" in str(e.value)
    with pytest.raises(ValueError):
        F.batch_norm(x, T(np.zeros((3, 1), np.float32)), f3)
    # rank
    with pytest.raises(ValueError):
        F.batch_norm(T(np.ones(5, np.float32)), None, None, training=True)
    # eval without statistics; only one of the two
    with pytest.raises(ValueError):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError):
        F.batch_norm(x, f3, None, training=True)
    # dtypes
    with pytest.raises(TypeError):
        F.batch_norm(x, T(np.zeros(3)), T(np.ones(3)))                # float64 stats, float32 x
    with pytest.raises(TypeError):
        F.batch_norm(x, f3, f3, weight=T(np.ones(3)))
    with pytest.raises(TypeError):
        F.batch_norm(T(np.ones((4, 3), np.int64)), None, None, training=True)
    with pytest.raises(TypeError):
        F.batch_norm(np.ones((4, 3)), None, None, training=True)
    # modules: rank and channels, named with the layer and shape
    for m, shape in ((nn.BatchNorm1d(3), (4, 3, 2, 2)), (nn.BatchNorm1d(3), (3,)),
                     (nn.BatchNorm2d(3), (4, 3, 2)), (nn.BatchNorm2d(3), (4, 5, 2, 2)),
                     (nn.BatchNorm1d(3), (4, 2)), (nn.BatchNorm3d(3), (4, 3, 2, 2))):
        with pytest.raises(ValueError) as e:
            m(T(np.ones(shape, np.float32)))
        assert_names_op(e, type(m).__name__)
        assert_names_shapes(e, shape)
    with pytest.raises(TypeError):
        nn.BatchNorm2d(3)(T(np.ones((2, 3, 2, 2))))                   # float64 input, float32 layer


# ---- CUDA --------------------------------------------------------------------------------------

@requires_cuda
@pytest.mark.parametrize("shape", [(7, 3), (40000, 5), (3, 4, 9), (4, 3, 33, 35), (2, 1, 128, 128),
                                   (64, 2, 3, 3), (0, 3, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_matches_cpu(shape, dtype):
    C = shape[1]
    x = (RNG.standard_normal(shape) * 2 + 1).astype(dtype)
    g = RNG.standard_normal(shape).astype(dtype)
    w, b = RNG.standard_normal(C).astype(dtype), RNG.standard_normal(C).astype(dtype)
    rm, rv = RNG.standard_normal(C).astype(dtype), RNG.uniform(0.5, 2, C).astype(dtype)
    rtol = 1e-4 if dtype == "float32" else 1e-10
    for training in (True, False):
        res = {}
        for dev in ("cpu", "cuda"):
            tx, tw, tb = (T(a, requires_grad=True, device=dev) for a in (x, w, b))
            trm, trv = T(rm, device=dev), T(rv, device=dev)
            y = F.batch_norm(tx, trm, trv, tw, tb, training, 0.1, 1e-5)
            y.backward(T(g, device=dev))
            res[dev] = [npa(v) for v in (y, trm, trv, tx.grad, tw.grad, tb.grad)]
        for a, c in zip(res["cpu"], res["cuda"]):
            np.testing.assert_allclose(c, a, rtol=rtol, atol=rtol * max(1.0, float(np.abs(a).max(initial=0))))
    if len(shape) >= 3:
        for size in (1, 4, 5):
            res = {}
            for dev in ("cpu", "cuda"):
                tx = T(x, requires_grad=True, device=dev)
                y = F.local_response_norm(tx, size, 0.3, 0.75, 1.0)
                if y.numel():
                    y.backward(T(g, device=dev))
                    res[dev] = [npa(y), npa(tx.grad)]
            for a, c in zip(res.get("cpu", []), res.get("cuda", [])):
                np.testing.assert_allclose(c, a, rtol=rtol, atol=rtol)


@requires_cuda
def test_cuda_module_and_device_mismatch():
    m = nn.BatchNorm2d(3).to("cuda")
    x = RNG.standard_normal((4, 3, 5, 5)).astype(np.float32)
    y = m(T(x, device="cuda"))
    ref = nn.BatchNorm2d(3)
    np.testing.assert_allclose(npa(y), npa(ref(T(x))), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(npa(m.running_var), npa(ref.running_var), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError):
        m(T(x))                                                       # cpu input, cuda stats


@pytest.mark.parametrize("path", ["generic", None])
def test_float32_simd_and_portable_paths(monkeypatch, path):
    """The AVX2 float32 reductions (8 lanes, 16-wide unroll, scalar tails) and the portable
    loops both match the float64 reference; runs of every tail length."""
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    for shape in [(5, 3, S) for S in (1, 2, 7, 8, 15, 16, 17, 31, 33, 143)] + \
            [(9, C) for C in (8, 15, 16, 17, 35)]:
        C = shape[1]
        x = (RNG.standard_normal(shape) * 2 + 3).astype(np.float32)
        g = RNG.standard_normal(shape).astype(np.float32)
        w = RNG.standard_normal(C).astype(np.float32)
        tx, tw = T(x, requires_grad=True), T(w, requires_grad=True)
        y = F.batch_norm(tx, None, None, tw, None, True)
        ey, _, _, mean, invstd = bn_ref(x, None, None, w, None, True)
        assert_close(y, ey, "float32", *TOL["float32"])
        y.backward(T(g))
        edx, edw, _ = bn_grad_ref(x, w, g, True, mean, invstd)
        assert_close(tx.grad, edx, "float32", 1e-4, 1e-4)
        assert_close(tw.grad, edw, "float32", 1e-4, 1e-4, scale=np.abs(g).sum())


def test_random_configurations_hypothesis():
    """Random (N, C, spatial) shapes, momentum, eps, affine or not: forward, running statistics
    and every gradient against the float64 reference."""
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hyp.settings(max_examples=30)
    @hyp.given(n=st.integers(1, 9), c=st.integers(1, 6),
               spatial=st.lists(st.integers(1, 7), min_size=0, max_size=2),
               momentum=st.floats(0.0, 1.0), eps=st.sampled_from([1e-5, 1e-3, 0.1]),
               affine=st.booleans(), training=st.booleans(), seed=st.integers(0, 2 ** 16))
    def check(n, c, spatial, momentum, eps, affine, training, seed):
        shape = (n, c) + tuple(spatial)
        if training and n * int(np.prod(spatial)) == 1:
            return
        r = np.random.default_rng(seed)
        x, g = r.standard_normal(shape) * 3 + 1, r.standard_normal(shape)
        w = r.standard_normal(c) if affine else None
        b = r.standard_normal(c) if affine else None
        rm, rv = r.standard_normal(c), r.uniform(0.5, 2, c)
        tx = T(x, requires_grad=True)
        tw = T(w, requires_grad=True) if affine else None
        tb = T(b, requires_grad=True) if affine else None
        trm, trv = T(rm), T(rv)
        y = F.batch_norm(tx, trm, trv, tw, tb, training, momentum, eps)
        ey, erm, erv, mean, invstd = bn_ref(x, rm, rv, w, b, training, momentum, eps)
        assert_close(y, ey, "float64", 1e-10, 1e-10)
        assert_close(trm, erm, "float64", 1e-12, 1e-12)
        assert_close(trv, erv, "float64", 1e-12, 1e-12)
        y.backward(T(g))
        edx, edw, edb = bn_grad_ref(x, w, g, training, mean, invstd)
        assert_close(tx.grad, edx, "float64", 1e-9, 1e-9)
        if affine:
            assert_close(tw.grad, edw, "float64", 1e-9, 1e-9)
            assert_close(tb.grad, edb, "float64", 1e-9, 1e-9)
    check()


def test_non_contiguous_input_and_gradient():
    base = RNG.standard_normal((5, 6, 4, 3))
    x = T(base, requires_grad=True)
    xt = x.transpose(2, 3)                           # (5, 6, 3, 4), not contiguous
    assert not xt.is_contiguous()
    w = T(RNG.standard_normal(6), requires_grad=True)
    y = F.batch_norm(xt, None, None, w, None, True)
    xt_np = base.transpose(0, 1, 3, 2)
    ey, _, _, mean, invstd = bn_ref(xt_np, None, None, npa(w), None, True)
    assert_close(y, ey, "float64", *TOL["float64"])
    y.sum().backward()                               # a broadcast (stride-0) gradient
    edx, edw, _ = bn_grad_ref(xt_np, npa(w), np.ones_like(xt_np), True, mean, invstd)
    assert_close(x.grad, edx.transpose(0, 1, 3, 2), "float64", 1e-10, 1e-10)
    assert_close(w.grad, edw, "float64", 1e-10, 1e-10)

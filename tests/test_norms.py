# layer_norm / group_norm / instance_norm (functional and modules) against torch, gradchecks in
# float64, kernel vs a float64 NumPy reference on awkward sizes; norms and numerics.
import math

import numpy as np
import pytest

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
from dlcore.autograd import gradcheck
from conftest import T, assert_close, tt

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")
st = hyp.strategies



def _ln_ref(x, cols, w, b, eps):
    r = x.reshape(-1, cols).astype(np.float64)
    m = r.mean(1, keepdims=True)
    v = ((r - m) ** 2).mean(1, keepdims=True)
    y = (r - m) / np.sqrt(v + eps)
    y = y.reshape(x.shape)
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 17), (5, 64), (7, 1031), (0, 8)])
def test_layer_norm_kernel_vs_numpy(rows, cols, rng):
    x = rng.standard_normal((rows, cols)) * 3 + 1
    w, b = rng.standard_normal(cols), rng.standard_normal(cols)
    for dt, tol in ((np.float32, 2e-5), (np.float64, 1e-12)):
        got = F.layer_norm(T(x.astype(dt)), (cols,), T(w.astype(dt)), T(b.astype(dt)), 1e-5)
        assert_close(got, _ln_ref(x.astype(dt), cols, w.astype(dt), b.astype(dt), 1e-5), np.dtype(dt).name,
                     atol=tol, rtol=tol)


@hyp.settings(max_examples=15)
@hyp.given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_layer_norm_matches_torch_values_and_grads(shape, data):
    rng = np.random.default_rng(sum(shape))
    k = data.draw(st.integers(1, len(shape)))
    affine = data.draw(st.booleans())
    ns = tuple(shape[len(shape) - k:])
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    w, b = (rng.standard_normal(ns), rng.standard_normal(ns)) if affine else (None, None)
    dx = T(x).requires_grad_()
    dw = T(w).requires_grad_() if affine else None
    db = T(b).requires_grad_() if affine else None
    y = F.layer_norm(dx, ns, dw, db, 1e-5)
    y.backward(T(g))
    tx = tt(x).requires_grad_()
    tw = tt(w).requires_grad_() if affine else None
    tb = tt(b).requires_grad_() if affine else None
    ty = torch.nn.functional.layer_norm(tx, ns, tw, tb, 1e-5)
    ty.backward(tt(g))
    assert_close(y.detach(), ty.detach().numpy(), "float64", atol=1e-10, rtol=1e-10)
    assert_close(dx.grad, tx.grad.numpy(), "float64", atol=1e-10, rtol=1e-10)
    if affine:
        assert_close(dw.grad, tw.grad.numpy(), "float64", atol=1e-10, rtol=1e-10)
        assert_close(db.grad, tb.grad.numpy(), "float64", atol=1e-10, rtol=1e-10)


def test_layer_norm_float32_big_rows_matches_torch(rng):
    x = rng.standard_normal((200, 1024)).astype(np.float32)
    g = rng.standard_normal((200, 1024)).astype(np.float32)
    w = rng.standard_normal(1024).astype(np.float32)
    b = rng.standard_normal(1024).astype(np.float32)
    m = nn.LayerNorm(1024)
    with dlcore.no_grad():
        m.weight.copy_(T(w))
        m.bias.copy_(T(b))
    dx = T(x).requires_grad_()
    m(dx).backward(T(g))
    tm = torch.nn.LayerNorm(1024)
    with torch.no_grad():
        tm.weight.copy_(tt(w))
        tm.bias.copy_(tt(b))
    tx = tt(x).requires_grad_()
    tm(tx).backward(tt(g))
    assert_close(dx.grad, tx.grad.numpy(), "float32", atol=1e-4, rtol=1e-4)
    assert_close(m.weight.grad, tm.weight.grad.numpy(), "float32", atol=1e-4, rtol=1e-4)
    assert_close(m.bias.grad, tm.bias.grad.numpy(), "float32", atol=1e-4, rtol=1e-4)


def test_group_and_instance_norm_match_torch(rng):
    x = rng.standard_normal((3, 6, 4, 5))
    g = rng.standard_normal(x.shape)
    w, b = rng.standard_normal(6), rng.standard_normal(6)
    for groups in (1, 2, 3, 6):
        dx, dw, db = T(x).requires_grad_(), T(w).requires_grad_(), T(b).requires_grad_()
        F.group_norm(dx, groups, dw, db).backward(T(g))
        tx, tw, tb = tt(x).requires_grad_(), tt(w).requires_grad_(), tt(b).requires_grad_()
        torch.nn.functional.group_norm(tx, groups, tw, tb).backward(tt(g))
        for a, e in ((dx.grad, tx.grad), (dw.grad, tw.grad), (db.grad, tb.grad)):
            assert_close(a, e.numpy(), "float64", atol=1e-10, rtol=1e-10)
    m, tm = nn.GroupNorm(3, 6, dtype=dlcore.float64), torch.nn.GroupNorm(3, 6, dtype=torch.float64)
    assert_close(m(T(x)).detach(), tm(tt(x)).detach().numpy(), "float64", atol=1e-10)
    for affine, track in ((False, False), (True, True)):
        m = nn.InstanceNorm2d(6, affine=affine, track_running_stats=track, dtype=dlcore.float64)
        tm = torch.nn.InstanceNorm2d(6, affine=affine, track_running_stats=track, dtype=torch.float64)
        assert_close(m(T(x)).detach(), tm(tt(x)).detach().numpy(), "float64", atol=1e-10)
        if track:
            assert_close(m.running_mean, tm.running_mean.numpy(), "float64", atol=1e-10)
            assert_close(m.running_var, tm.running_var.numpy(), "float64", atol=1e-10)
            m.eval()
            tm.eval()
            assert_close(m(T(x)).detach(), tm(tt(x)).detach().numpy(), "float64", atol=1e-10)
    x3 = rng.standard_normal((6, 4, 5))
    assert_close(nn.InstanceNorm2d(6)(T(x3)), torch.nn.InstanceNorm2d(6)(tt(x3)).numpy(), "float64", atol=1e-10)
    sd = {k: v.detach().numpy() for k, v in torch.nn.LayerNorm((4, 5)).state_dict().items()}
    ln = nn.LayerNorm((4, 5))
    ln.load_state_dict({k: T(v) for k, v in sd.items()})


def test_norm_gradchecks(rng):
    x = T(rng.standard_normal((2, 4, 3)), dtype="float64").requires_grad_()
    w = T(rng.standard_normal(3), dtype="float64").requires_grad_()
    b = T(rng.standard_normal(3), dtype="float64").requires_grad_()
    assert gradcheck(lambda a, p, q: F.layer_norm(a, (3,), p, q), (x, w, b))
    assert gradcheck(lambda a: F.layer_norm(a, (4, 3)), (x,))
    gw = T(rng.standard_normal(4), dtype="float64").requires_grad_()
    gb = T(rng.standard_normal(4), dtype="float64").requires_grad_()
    assert gradcheck(lambda a, p, q: F.group_norm(a, 2, p, q), (x, gw, gb))
    assert gradcheck(lambda a: F.instance_norm(a), (x,))


def test_norm_errors():
    with pytest.raises(ValueError, match="layer_norm"):
        F.layer_norm(dlcore.zeros(2, 3), (4,))
    with pytest.raises(ValueError, match="group_norm"):
        F.group_norm(dlcore.zeros(2, 6, 3), 4)
    with pytest.raises(ValueError, match="layer_norm"):
        F.layer_norm(dlcore.zeros(2, 3), (3,), dlcore.ones(4))
    with pytest.raises(TypeError, match="layer_norm"):
        F.layer_norm(dlcore.zeros(2, 3, dtype=dlcore.int64), (3,))


# ---- vector / matrix norms and numerics -----------------------------------------------------------

@pytest.mark.parametrize("ord", [2, 1, math.inf, -math.inf, 0, 3, 0.5])
def test_vector_norm(ord, rng):
    x = rng.standard_normal((3, 4, 5))
    for dim in (None, 1, (0, 2), -1):
        for keepdim in (False, True):
            got = dlcore.linalg.vector_norm(T(x), ord, dim, keepdim)
            want = torch.linalg.vector_norm(tt(x), ord, dim, keepdim)
            assert_close(got, want.numpy(), "float64")
    assert_close(dlcore.norm(T(x)), torch.norm(tt(x)).numpy(), "float64")
    assert_close(T(x).norm(1, 2), tt(x).norm(1, 2).numpy(), "float64")
    assert_close(dlcore.norm(T(x), dim=(1, 2)), torch.norm(tt(x), dim=(1, 2)).numpy(), "float64")


@pytest.mark.parametrize("ord", ["fro", 1, -1, math.inf, -math.inf, 2, -2, "nuc"])
def test_matrix_norm(ord, rng):
    x = rng.standard_normal((2, 3, 4))
    for dim in ((-2, -1), (0, 2), (2, 1)):
        for keepdim in (False, True):
            got = dlcore.linalg.matrix_norm(T(x), ord, dim, keepdim)
            want = torch.linalg.matrix_norm(tt(x), ord, dim, keepdim)
            assert_close(got, want.numpy(), "float64")
    with pytest.raises(ValueError, match="matrix_norm"):
        dlcore.linalg.matrix_norm(T(x), 3)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (3, 7), (2, 4, 4), (3, 1, 6)])
def test_singular_value_norms_and_grads_vs_torch(ord, shape, rng):
    x = rng.standard_normal(shape)
    a = T(x, dtype="float64").requires_grad_()
    ta = tt(x).requires_grad_()
    got, want = dlcore.linalg.matrix_norm(a, ord), torch.linalg.matrix_norm(ta, ord)
    assert_close(got.detach(), want.detach().numpy(), "float64")
    got.sum().backward()
    want.sum().backward()
    assert_close(a.grad, ta.grad.numpy(), "float64")
    a32 = T(x, dtype="float32")
    assert dlcore.linalg.matrix_norm(a32, ord).dtype == dlcore.float32
    assert_close(dlcore.linalg.matrix_norm(a32, ord), want.detach().numpy(), "float32")


def test_singular_value_norms_empty_and_spellings(rng):
    e = T(np.zeros((0, 3)))
    assert float(dlcore.linalg.matrix_norm(e, 2)) == 0.0 == float(dlcore.linalg.matrix_norm(e, "nuc"))
    with pytest.raises(ValueError, match="matrix_norm"):
        dlcore.linalg.matrix_norm(e, -2)
    x = rng.standard_normal((4, 3))
    assert_close(dlcore.norm(T(x), "nuc"), torch.norm(tt(x), "nuc").numpy(), "float64")
    assert_close(dlcore.linalg.norm(T(x), 2), torch.linalg.norm(tt(x), 2).numpy(), "float64")
    with pytest.raises(ValueError, match="nuc"):
        dlcore.norm(T(rng.standard_normal((2, 3, 4))), "nuc")


def test_numerics(rng):
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0, 0.0])
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf"):
        np.testing.assert_array_equal(np.asarray(getattr(dlcore, name)(T(x))), getattr(torch, name)(tt(x)).numpy())
    np.testing.assert_array_equal(np.asarray(dlcore.isnan(T(np.arange(3)))), [False] * 3)
    assert_close(dlcore.nan_to_num(T(x)), torch.nan_to_num(tt(x)).numpy(), "float64")
    assert_close(T(x).nan_to_num(1.0, 5.0, -5.0), tt(x).nan_to_num(1.0, 5.0, -5.0).numpy(), "float64")
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    assert dlcore.allclose(T(a), T(a + 1e-9)) and not dlcore.allclose(T(a), T(a + 1e-3))
    assert dlcore.allclose(T(x), T(x), equal_nan=True) and not dlcore.allclose(T(x), T(x))
    assert dlcore.equal(T(a), T(a)) and not dlcore.equal(T(a), T(b)) and not dlcore.equal(T(a), T(a[:4]))
    np.testing.assert_array_equal(np.asarray(dlcore.isclose(T(a), T(b), 0.5, 0.1)),
                                  torch.isclose(tt(a), tt(b), 0.5, 0.1).numpy())
    assert_close(dlcore.lerp(T(a), T(b), 0.3), torch.lerp(tt(a), tt(b), 0.3).numpy(), "float64")
    w = rng.random(5)
    assert_close(T(a).lerp(T(b), T(w)), tt(a).lerp(tt(b), tt(w)).numpy(), "float64")
    y = T(a)
    y.clamp_(-0.5, 0.5)
    assert_close(y, np.clip(a, -0.5, 0.5), "float64")
    s = T(rng.standard_normal((3, 4)))
    assert_close(s.softmax(1), torch.softmax(tt(np.asarray(s)), 1).numpy(), "float64")
    assert_close(s.log_softmax(0), torch.log_softmax(tt(np.asarray(s)), 0).numpy(), "float64")


def test_inplace_random_fills():
    dlcore.manual_seed(0)
    u = dlcore.empty(4000).uniform_(-2.0, 3.0)
    v = u.numpy()
    assert v.min() >= -2.0 and v.max() < 3.0 and abs(v.mean() - 0.5) < 0.1
    n = dlcore.empty(50, 80).t().normal_(1.0, 2.0)      # a non-contiguous target
    m = np.asarray(n)
    assert abs(m.mean() - 1.0) < 0.15 and abs(m.std() - 2.0) < 0.15
    dlcore.manual_seed(3)
    a = dlcore.empty(10).normal_().numpy().copy()
    dlcore.manual_seed(3)
    np.testing.assert_array_equal(a, dlcore.empty(10).normal_().numpy())
    with pytest.raises(TypeError, match="uniform_"):
        dlcore.zeros(3, dtype=dlcore.int64).uniform_()


def test_numerics_gradchecks(rng):
    x = T(rng.standard_normal((3, 4)), dtype="float64").requires_grad_()
    y = T(rng.standard_normal((3, 4)), dtype="float64").requires_grad_()
    assert gradcheck(lambda a: dlcore.linalg.vector_norm(a, 2, 1), (x,))
    assert gradcheck(lambda a: dlcore.linalg.vector_norm(a, 3, (0, 1)), (x,))
    assert gradcheck(lambda a: dlcore.linalg.matrix_norm(a, "fro"), (x,))
    assert gradcheck(lambda a: dlcore.linalg.matrix_norm(a, 1), (x,))
    for ord in (2, -2, "nuc"):   # random singular values are distinct: the gradient exists
        assert gradcheck(lambda a: dlcore.linalg.matrix_norm(a, ord), (x,))
    assert gradcheck(lambda a, b: dlcore.lerp(a, b, 0.25), (x, y))
    assert gradcheck(lambda a: dlcore.nan_to_num(a), (x,))


def test_layer_norm_parameter_grads_without_input_grad(rng):
    # The backward then skips dx (its own kernel branch): the parameter gradients still match.
    x, g = rng.standard_normal((9, 21)), rng.standard_normal((9, 21))
    w, b = rng.standard_normal(21), rng.standard_normal(21)
    dw, db = T(w).requires_grad_(), T(b).requires_grad_()
    F.layer_norm(T(x), (21,), dw, db).backward(T(g))
    tw, tb = tt(w).requires_grad_(), tt(b).requires_grad_()
    torch.nn.functional.layer_norm(tt(x), (21,), tw, tb).backward(tt(g))
    assert_close(dw.grad, tw.grad.numpy(), "float64", atol=1e-10)
    assert_close(db.grad, tb.grad.numpy(), "float64", atol=1e-10)
    dw2 = T(w).requires_grad_()
    F.layer_norm(T(x), (21,), dw2, T(b)).backward(T(g))
    assert_close(dw2.grad, tw.grad.numpy(), "float64", atol=1e-10)

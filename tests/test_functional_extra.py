# nn.functional additions and their modules against torch (values and gradients), gradchecks in
# float64, and einsum against torch on contractions, batch dims, outer products and ellipses.

import numpy as np
import pytest

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
from dlcore.autograd import gradcheck
from conftest import assert_close

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")
st = hyp.strategies
TF = torch.nn.functional


def T(a, **kw):
    return dlcore.tensor(np.asarray(a), **kw)


def tt(a):
    return torch.from_numpy(np.array(a, copy=True))


def both(fn_dl, fn_t, *arrays, grad=True, atol=1e-10):
    """Value and input gradients of fn on float64 arrays, dlcore vs torch."""
    rng = np.random.default_rng(0)
    xs = [T(a).requires_grad_() if grad else T(a) for a in arrays]
    ts = [tt(a).requires_grad_() if grad else tt(a) for a in arrays]
    y, ty = fn_dl(*xs), fn_t(*ts)
    assert_close(y.detach(), ty.detach().numpy(), "float64", atol=atol)
    if grad:
        g = rng.standard_normal(tuple(ty.shape))
        y.backward(T(g))
        ty.backward(tt(g))
        for x, t in zip(xs, ts):
            assert_close(x.grad, t.grad.numpy(), "float64", atol=atol)


@hyp.settings(max_examples=20)
@hyp.given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_pad_modes(shape, data):
    x = np.random.default_rng(sum(shape)).standard_normal(shape)
    mode = data.draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    k = data.draw(st.integers(1, min(len(shape), 3)))
    if mode != "constant" and len(shape) - k not in (1, 2):   # torch's supported combinations
        k = len(shape) - 1 if len(shape) - 1 in (1, 2, 3) else 0
        if k == 0:
            return
    pads = []
    for i in range(k):
        n = shape[len(shape) - 1 - i]
        hi = n - 1 if mode == "reflect" else (n if mode == "circular" else 3)
        lo = -1 if mode == "constant" and n > 2 else 0
        pads += [data.draw(st.integers(lo, hi)), data.draw(st.integers(lo, hi))]
    kw = dict(value=1.5) if mode == "constant" else {}
    both(lambda a: F.pad(a, pads, mode, **kw), lambda a: TF.pad(a, pads, mode, **kw), x)


def test_pad_errors():
    with pytest.raises(ValueError, match="pad"):
        F.pad(dlcore.zeros(1, 2, 3), (3, 0), "reflect")
    with pytest.raises(ValueError, match="pad"):
        F.pad(dlcore.zeros(2, 3), (1, 1, 1), "constant")
    with pytest.raises(ValueError, match="pad"):
        F.pad(dlcore.zeros(2, 3), (1, 1), "wrap")


def test_one_hot():
    y = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(np.asarray(F.one_hot(T(y))), TF.one_hot(tt(y)).numpy())
    np.testing.assert_array_equal(np.asarray(F.one_hot(T(y), 6)), TF.one_hot(tt(y), 6).numpy())
    with pytest.raises(IndexError, match="one_hot"):
        F.one_hot(T(y), 3)


def test_losses_match_torch():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5)) * 2
    for red in ("mean", "sum", "none"):
        for beta in (1.0, 0.5, 0.0):
            both(lambda x, y: F.smooth_l1_loss(x, y, reduction=red, beta=beta),
                 lambda x, y: TF.smooth_l1_loss(x, y, reduction=red, beta=beta), a, b)
        both(lambda x, y: F.huber_loss(x, y, reduction=red, delta=0.7),
             lambda x, y: TF.huber_loss(x, y, reduction=red, delta=0.7), a, b)
    logp = np.log(rng.dirichlet(np.ones(5), size=4))
    q = rng.dirichlet(np.ones(5), size=4)
    q0 = q.copy()
    q0[0, 1] = 0.0      # a zero target contributes 0 (torch's target gradient there is NaN)
    for red in ("mean", "sum", "none", "batchmean"):
        both(lambda x, y: F.kl_div(x, y, reduction=red), lambda x, y: TF.kl_div(x, y, reduction=red), logp, q)
        both(lambda x, y: F.kl_div(x, y, reduction=red), lambda x, y: TF.kl_div(x, y, reduction=red), logp, q0,
             grad=False)
        both(lambda x, y: F.kl_div(x, y, reduction=red, log_target=True),
             lambda x, y: TF.kl_div(x, y, reduction=red, log_target=True), logp, np.log(q + 0.1))
    assert_close(nn.SmoothL1Loss(beta=0.5)(T(a), T(b)), torch.nn.SmoothL1Loss(beta=0.5)(tt(a), tt(b)).numpy(),
                 "float64")
    assert_close(nn.HuberLoss(delta=2.0)(T(a), T(b)), torch.nn.HuberLoss(delta=2.0)(tt(a), tt(b)).numpy(), "float64")
    assert_close(nn.KLDivLoss(reduction="batchmean")(T(logp), T(q)),
                 torch.nn.KLDivLoss(reduction="batchmean")(tt(logp), tt(q)).numpy(), "float64")


def test_similarity_normalize():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    both(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y), a, b)
    both(lambda x, y: F.cosine_similarity(x, y, dim=0), lambda x, y: TF.cosine_similarity(x, y, dim=0), a, b)
    both(lambda x: F.normalize(x), lambda x: TF.normalize(x), a)
    both(lambda x: F.normalize(x, p=1.0, dim=0), lambda x: TF.normalize(x, p=1.0, dim=0), a)
    both(lambda x, y: F.pairwise_distance(x, y), lambda x, y: TF.pairwise_distance(x, y), a, b)


ACTS = [
    ("hardtanh", {}), ("hardtanh", dict(min_val=-0.5, max_val=2.0)), ("relu6", {}), ("softsign", {}),
    ("mish", {}), ("hardswish", {}), ("hardsigmoid", {}), ("selu", {}), ("celu", {}),
    ("celu", dict(alpha=0.5)), ("glu", {}), ("glu", dict(dim=0)), ("tanhshrink", {}), ("softmin", dict(dim=1)),
]


@pytest.mark.parametrize("name,kw", ACTS)
def test_activations_match_torch(name, kw):
    x = np.random.default_rng(3).uniform(-5, 5, size=(4, 6))
    x[0, :3] = [-3.0 + 1e-3, 3.0 - 1e-3, 0.5]
    # atol 1e-7: torch's hard* kernels multiply by a rounded 1/6
    both(lambda a: getattr(F, name)(a, **kw), lambda a: getattr(TF, name)(a, **kw), x, atol=1e-7)
    if name not in ("softmin",):
        xx = T(np.random.default_rng(4).uniform(-2.5, 2.5, size=(2, 4))).requires_grad_()
        assert gradcheck(lambda a: getattr(F, name)(a, **kw), (xx,))


def test_prelu_and_modules():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4))
    w = np.array([0.1, -0.2, 0.3])
    both(lambda a, b: F.prelu(a, b), lambda a, b: TF.prelu(a, b), x, w)
    both(lambda a, b: F.prelu(a, b), lambda a, b: TF.prelu(a, b), x, np.array([0.25]))
    m = nn.PReLU(3)
    assert m.weight.shape == (3,) and float(m.weight[0]) == 0.25
    assert tuple(m(dlcore.randn(2, 3, 4)).shape) == (2, 3, 4)
    xs = T(x.astype(np.float32))
    txs = tt(x.astype(np.float32))
    pairs = [(nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.SiLU(), torch.nn.SiLU()),
             (nn.SELU(), torch.nn.SELU()), (nn.CELU(0.7), torch.nn.CELU(0.7)), (nn.Mish(), torch.nn.Mish()),
             (nn.Hardswish(), torch.nn.Hardswish()), (nn.Hardtanh(), torch.nn.Hardtanh()),
             (nn.Softsign(), torch.nn.Softsign()), (nn.GLU(1), None), (nn.ReLU6(), torch.nn.ReLU6())]
    for ours, theirs in pairs:
        if theirs is None:
            theirs = torch.nn.GLU(1)
            xs2, txs2 = T(x[:, :2].astype(np.float32)), tt(x[:, :2].astype(np.float32))
            assert_close(ours(xs2), theirs(txs2).numpy(), "float32", atol=1e-6)
            continue
        assert_close(ours(xs), theirs(txs).numpy(), "float32", atol=1e-6)
    assert "approximate='tanh'" in repr(nn.GELU("tanh"))


def test_dropout2d():
    dlcore.manual_seed(0)
    x = dlcore.ones(8, 16, 5, 5)
    m = nn.Dropout2d(0.5)
    y = m(x).numpy()
    per_channel = y.reshape(8, 16, -1)
    # whole channels are zero or scaled by 2, never mixed
    assert np.all((per_channel.min(2) == per_channel.max(2)))
    assert set(np.unique(y)).issubset({0.0, 2.0}) and 0.3 < (y == 0).mean() < 0.7
    m.eval()
    assert np.array_equal(m(x).numpy(), x.numpy())
    y3 = F.dropout2d(dlcore.ones(4, 3, 3), 0.5).numpy().reshape(4, -1)
    assert np.all(y3.min(1) == y3.max(1))
    xg = dlcore.ones(2, 3, 2, 2, dtype=dlcore.float64).requires_grad_()
    dlcore.manual_seed(1)
    out = F.dropout2d(xg, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(xg.grad.numpy(), out.detach().numpy())


# ---- einsum ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [0, 1, -1, 2, -3, 6])
@pytest.mark.parametrize("dims", [(0, 1), (1, 2), (2, 0), (-1, -2)])
def test_diagonal_matches_torch(offset, dims):
    rng = np.random.default_rng(offset + 10)
    x = rng.standard_normal((3, 4, 5))
    both(lambda a: dlcore.diagonal(a, offset, *dims), lambda a: torch.diagonal(a, offset, *dims), x)
    xt = T(x).requires_grad_()
    assert gradcheck(lambda a: dlcore.diagonal(a, offset, *dims) * 2.0, (xt,))
    assert_close(T(x)[0].diagonal(), torch.tensor(x)[0].diagonal().numpy(), "float64")
    with pytest.raises(ValueError, match="diagonal"):
        dlcore.diagonal(T(x), 0, 1, 1)


EINSUMS = [
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 2)]),
    ("ij,jk", [(4, 5), (5, 3)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("ijk,jl->kil", [(2, 3, 4), (3, 5)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(5,), (5,)]),
    ("ij,kl->ijkl", [(2, 1), (3, 2)]),
    ("bi,bj->b", [(0, 3), (0, 2)]),
    ("ii->", [(4, 4)]),                              # trace
    ("ii", [(3, 3)]),
    ("ii->i", [(5, 5)]),                             # diagonal
    ("bjj->bj", [(2, 3, 3)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),             # diagonal, then a contraction
    ("ijij->ij", [(2, 3, 2, 3)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUMS)
def test_einsum_matches_torch(eq, shapes):
    rng = np.random.default_rng(len(eq))
    arrays = [rng.standard_normal(s) for s in shapes]
    both(lambda *a: dlcore.einsum(eq, *a), lambda *a: torch.einsum(eq, *a), *arrays)
    xs = [T(a).requires_grad_() for a in arrays]
    if all(a.size for a in arrays):
        assert gradcheck(lambda *a: dlcore.einsum(eq, *a), tuple(xs))
    got = dlcore.einsum(eq, [T(a.astype(np.float32)) for a in arrays])
    assert got.dtype is dlcore.float32


def test_einsum_plan_reused_across_shapes():
    """The plan is cached per (equation, shapes): the same equation on other shapes, on
    broadcasting shapes, and after an error, still computes the right thing."""
    rng = np.random.default_rng(7)
    for shapes in [[(3, 4, 5), (3, 5, 2)], [(1, 4, 5), (6, 5, 2)], [(3, 4, 5), (3, 5, 2)], [(2, 1, 1), (2, 1, 7)]]:
        a, b = (rng.standard_normal(s) for s in shapes)
        got = dlcore.einsum("bij,bjk->bik", T(a), T(b)).numpy()
        np.testing.assert_allclose(got, np.einsum("bij,bjk->bik", a, b), rtol=1e-12, atol=1e-12)
        with pytest.raises(ValueError, match="einsum"):
            dlcore.einsum("bij,bjk->bik", T(a), T(rng.standard_normal((5, 9, 2))))


def test_einsum_errors():
    with pytest.raises(ValueError, match="einsum"):
        dlcore.einsum("ij,jk->ik", dlcore.zeros(2, 3))
    with pytest.raises(ValueError, match="einsum"):
        dlcore.einsum("ij,jk->ik", dlcore.zeros(2, 3), dlcore.zeros(4, 5))
    with pytest.raises(ValueError, match="einsum"):
        dlcore.einsum("ii->i", dlcore.zeros(3, 4))     # a diagonal needs equal sizes
    with pytest.raises(ValueError, match="einsum"):
        dlcore.einsum("ij->iz", dlcore.zeros(3, 3))

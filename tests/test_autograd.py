"""Autograd engine: gradcheck of every differentiable op in ops.py / views.py, plus the
tape's behaviour (accumulation, no_grad, detach, freeing, errors)."""
import numpy as np
import pytest

import dlcore
from dlcore.autograd import gradcheck, GradcheckError

F64 = dlcore.float64


def leaf(*shape, positive=False, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return dlcore.tensor(a, dtype=F64, requires_grad=True)


UNARY = {
    "neg": lambda x: -x, "exp": lambda x: x.exp(), "log": lambda x: x.log(), "sqrt": lambda x: x.sqrt(),
    "abs": lambda x: x.abs(), "sigmoid": lambda x: x.sigmoid(), "tanh": lambda x: x.tanh(),
    "relu": lambda x: x.relu(), "reciprocal": lambda x: x.reciprocal(), "square": lambda x: x.square(),
    "sin": lambda x: x.sin(), "cos": lambda x: x.cos(), "pow_scalar": lambda x: x ** 3,
    "rpow": lambda x: 2.0 ** x, "clamp": lambda x: x.clamp(-0.3, 0.4),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5)])
def test_unary_gradcheck(name, shape):
    positive = name in ("log", "sqrt", "reciprocal")
    x = leaf(*shape, positive=positive)
    if name in ("abs", "relu", "clamp"):   # keep away from the kinks
        with dlcore.no_grad():
            x.copy_(x + dlcore.where(x.abs() < 0.05, dlcore.full(x.shape, 0.2, dtype=F64), dlcore.zeros(x.shape, dtype=F64)))
    assert gradcheck(UNARY[name], (x,))


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "maximum": dlcore.maximum,
    "minimum": dlcore.minimum, "where": lambda a, b: dlcore.where(a > b, a, b),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((4,), (4,)), ((3, 4), (4,)), ((3, 1), (1, 5)), ((2, 3, 4), (3, 1))])
def test_binary_gradcheck_with_broadcasting(name, shapes):
    a = leaf(*shapes[0], positive=name == "pow", seed=1)
    b = leaf(*shapes[1], positive=name in ("div", "pow"), seed=2)
    assert gradcheck(BINARY[name], (a, b))


def test_scalar_operands_on_both_sides():
    x = leaf(5, positive=True)
    assert gradcheck(lambda x: (2 - x) * 3 + 1 / x - x / 4 + 0.5 * x, (x,))


REDUCE = {
    "sum": lambda x: x.sum(), "sum1": lambda x: x.sum(1), "sum_keep": lambda x: x.sum((0, 2), keepdim=True),
    "mean": lambda x: x.mean(), "mean0": lambda x: x.mean(0), "prod": lambda x: x.prod(2),
    "var": lambda x: x.var(1), "var_all": lambda x: x.var(unbiased=False), "std": lambda x: x.std(-1),
    "max": lambda x: x.max(), "max1": lambda x: x.max(1).values, "min2": lambda x: x.min(2, keepdim=True).values,
    "amax": lambda x: x.amax((0, 1)), "amin": lambda x: x.amin(-1),
}


@pytest.mark.parametrize("name", sorted(REDUCE))
def test_reduction_gradcheck(name):
    x = leaf(2, 3, 4, positive=name == "prod")
    assert gradcheck(REDUCE[name], (x,))


VIEWS = {
    "reshape": lambda x: x.reshape(4, 6) * 2, "view": lambda x: x.view(-1), "T_reshape": lambda x: x.transpose(0, 2).reshape(-1),
    "permute": lambda x: x.permute(2, 0, 1) * dlcore.arange(3, dtype=F64), "flatten": lambda x: x.flatten(1),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(), "expand": lambda x: x[:, :1].expand(2, 3, 4) * 1.5,
    "slice": lambda x: x[:, 1:, ::2], "int_index": lambda x: x[1, -1], "none_ellipsis": lambda x: x[None, ..., 2],
    "narrow": lambda x: x.narrow(2, 1, 2), "adv_index": lambda x: x[dlcore.tensor([1, 1, 0])],
    "mask_index": lambda x: x[x > 0], "cat": lambda x: dlcore.cat([x, x * 2, x[:, :1]], 1),
    "stack": lambda x: dlcore.stack([x, x.exp()], -1), "contiguous": lambda x: x.transpose(1, 2).contiguous(),
    "clone": lambda x: x.clone() * x,
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_gradcheck(name):
    x = leaf(2, 3, 4)
    assert gradcheck(VIEWS[name], (x,))


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                                   ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 1))])
def test_matmul_gradcheck(sa, sb):
    a, b = leaf(*sa, seed=3), leaf(*sb, seed=4)
    assert gradcheck(lambda a, b: a @ b, (a, b))


def test_matmul_transposed_views_gradcheck():
    a, b = leaf(4, 3, seed=5), leaf(5, 4, seed=6)
    assert gradcheck(lambda a, b: a.T @ b.T, (a, b))


def test_gradcheck_detects_a_wrong_backward():
    from dlcore.autograd import record
    x = leaf(3)

    def bad(x):
        out = dlcore.tensor(np.asarray(x.detach()) ** 2, dtype=F64)
        return record(out, "bad", (x,), lambda g: (g * 3.0,))   # wrong: should be 2x
    with pytest.raises(GradcheckError):
        gradcheck(bad, (x,))


def test_gradients_accumulate_across_backward_calls():
    x = leaf(4)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 5.0))


def test_shared_subexpression_gets_summed_gradient():
    x = leaf(3)
    y = x * x
    (y + y * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy())


def test_no_grad_and_detach():
    x = leaf(3)
    with dlcore.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = x.detach() * 2
    assert not z.requires_grad
    w = (x * 2)
    assert w.requires_grad and not w.is_leaf and x.is_leaf


def test_graph_is_freed_after_backward_unless_retained():
    x = leaf(3)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp(x.detach().numpy()))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_of_non_scalar_needs_a_gradient():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(dlcore.ones(3, dtype=F64))
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.0))


def test_in_place_on_leaf_requiring_grad_raises():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="in-place"):
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 1.0
    with dlcore.no_grad():
        x.add_(1.0)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError):
        dlcore.tensor([1, 2, 3], requires_grad=True)


def test_grad_flows_through_dtype_conversion():
    x = leaf(4)
    y = x.float() * 2
    y.sum().backward()
    assert x.grad.dtype == F64
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 2.0))


def test_autograd_grad_function_returns_without_accumulating():
    x = leaf(3)
    (g,) = dlcore.autograd.grad((x * x).sum(), [x])
    np.testing.assert_allclose(g.numpy(), 2 * x.detach().numpy())
    assert x.grad is None


def test_torch_agreement_on_a_small_network():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    xs, ws, bs = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    x, w, b = (dlcore.tensor(v, dtype=F64, requires_grad=True) for v in (xs, ws, bs))
    loss = ((x @ w + b).tanh() ** 2).mean(0).sum() + (x.sigmoid() * x).var()
    loss.backward()
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (xs, ws, bs))
    tloss = ((tx @ tw + tb).tanh() ** 2).mean(0).sum() + (tx.sigmoid() * tx).var()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    for d, t in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)

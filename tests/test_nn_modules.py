# test_nn_modules.py — Module bookkeeping, containers, layers and losses.
#
# Numerics are compared with PyTorch (when installed) by copying the same weights into both
# models; the bookkeeping (names, state_dict keys, freezing, devices) is checked directly.
from collections import OrderedDict

import numpy as np
import pytest

import dlcore
import dlcore.nn as nn
from conftest import assert_close, to_numpy


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(8, 3, bias=False)
        self.register_buffer("steps", dlcore.zeros(1, dtype=dlcore.int64))
        self.register_buffer("scratch", dlcore.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


# ---- Parameter --------------------------------------------------------------------------------

def test_parameter_shares_storage_and_requires_grad():
    t = dlcore.zeros(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, dlcore.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad is None
    with dlcore.no_grad():
        p.fill_(2.0)
    assert to_numpy(t).tolist() == [[2.0] * 3] * 2           # same storage
    assert not nn.Parameter(dlcore.ones(2), requires_grad=False).requires_grad
    assert "Parameter containing" in repr(p)
    assert type(p * 2) is dlcore.Tensor                       # ops produce plain tensors
    with pytest.raises(TypeError):
        nn.Parameter(dlcore.zeros(2, dtype=dlcore.int64))     # int tensors can't require grad


# ---- registration and traversal ----------------------------------------------------------------

def test_named_parameters_children_and_state_dict_keys():
    m = MLP()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    assert list(m.state_dict()) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight"]   # non-persistent left out
    assert m.fc2.bias is None
    assert m.num_parameters() == 4 * 8 + 8 + 8 * 3
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_state_dict_shares_storage_and_is_detached():
    m = MLP()
    sd = m.state_dict()
    assert not sd["fc1.weight"].requires_grad
    assert sd["fc1.weight"].data_ptr() == m.fc1.weight.data_ptr()
    assert m.state_dict(keep_vars=True)["fc1.weight"] is m.fc1.weight


def test_shared_parameters_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3


def test_setattr_rules():
    m = nn.Module()
    m.w = nn.Parameter(dlcore.ones(2))
    assert "w" in m._parameters
    with pytest.raises(TypeError):
        m.w = dlcore.ones(2)                                  # a plain tensor can't replace a parameter
    m.w = None
    assert m.w is None
    m.child = nn.Linear(1, 1)
    assert list(m._modules) == ["child"]
    del m.child
    assert not hasattr(m, "child")
    m.plain = 3
    assert m.plain == 3

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(dlcore.ones(1))
    with pytest.raises(AttributeError, match="__init__"):
        Early()
    with pytest.raises(AttributeError):
        nn.Linear(1, 1).nonexistent


def test_train_eval_and_requires_grad_freezing():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Linear(2, 2)))
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m[0].requires_grad_(False)                                # freeze the first layer
    x = dlcore.randn(3, 2)
    m.eval()
    m(x).sum().backward()
    assert m[0].weight.grad is None and m[0].bias.grad is None
    assert m[2][0].weight.grad is not None
    m.zero_grad()
    assert m[2][0].weight.grad is None
    m(x).sum().backward()
    m.zero_grad(set_to_none=False)
    assert np.all(to_numpy(m[2][0].weight.grad) == 0)


def test_to_moves_in_place_and_keeps_parameter_objects():
    m = MLP()
    params = list(m.parameters())
    w_before = to_numpy(m.fc1.weight.detach()).copy()
    m.to(dlcore.float64)
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert m.fc1.weight.dtype == dlcore.float64
    assert m.steps.dtype == dlcore.int64                      # integer buffers keep their dtype
    np.testing.assert_allclose(to_numpy(m.fc1.weight.detach()), w_before, rtol=1e-7)
    out = m(dlcore.randn(2, 4, dtype=dlcore.float64))
    assert out.dtype == dlcore.float64
    m.float()
    assert m.fc1.weight.dtype == dlcore.float32 and m.to("cpu") is m
    with pytest.raises(TypeError):
        m.to(dlcore.int64)


def test_repr_is_readable():
    m = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3), act=nn.LeakyReLU(0.2), drop=nn.Dropout(0.25)))
    r = repr(m)
    assert "(fc): Linear(in_features=2, out_features=3, bias=True)" in r
    assert "(act): LeakyReLU(negative_slope=0.2)" in r
    assert r.startswith("Sequential(\n") and r.endswith(")")
    assert repr(nn.ReLU()) == "ReLU()"


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    seen = []
    h = lin.register_forward_hook(lambda mod, args, out: seen.append(tuple(out.shape)))
    hp = lin.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    out = lin(dlcore.ones(5, 2))
    assert seen == [(5, 2)]
    assert_close(out.detach(), np.broadcast_to(to_numpy(lin.bias.detach()), (5, 2)), "float32")
    h.remove()
    hp.remove()
    lin(dlcore.ones(1, 2))
    assert seen == [(5, 2)]


def test_apply_and_get_submodule():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2)))
    names = []
    m.apply(lambda mod: names.append(type(mod).__name__))
    assert names == ["Linear", "Linear", "Sequential", "Sequential"]
    assert m.get_submodule("1.0") is m[1][0]
    assert m.get_parameter("1.0.bias") is m[1][0].bias
    with pytest.raises(AttributeError):
        m.get_submodule("5")


# ---- load_state_dict ---------------------------------------------------------------------------

def test_load_state_dict_round_trip_and_strictness():
    a, b = MLP(), MLP()
    b.load_state_dict(a.state_dict())
    for (n1, p1), (n2, p2) in zip(a.named_parameters(), b.named_parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(to_numpy(p1.detach()), to_numpy(p2.detach()))
    assert b.fc1.weight.requires_grad                         # still a trainable Parameter

    sd = a.state_dict()
    del sd["fc1.bias"]
    sd["extra.weight"] = dlcore.zeros(1)
    with pytest.raises(KeyError) as e:
        b.load_state_dict(sd)
    assert "fc1.bias" in str(e.value) and "extra.weight" in str(e.value)
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc1.bias"] and res.unexpected_keys == ["extra.weight"]

    sd = a.state_dict()
    sd["fc2.weight"] = dlcore.zeros(4, 8)
    before = to_numpy(b.fc1.weight.detach()).copy()
    sd["fc1.weight"] = dlcore.zeros(8, 4)
    with pytest.raises(ValueError) as e:
        b.load_state_dict(sd)
    msg = str(e.value)
    assert "fc2.weight" in msg and "(4, 8)" in msg and "(3, 8)" in msg
    np.testing.assert_array_equal(to_numpy(b.fc1.weight.detach()), before)    # nothing half-loaded


# ---- containers --------------------------------------------------------------------------------

def test_sequential_indexing_slicing_and_editing():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.Sigmoid()]
    s = nn.Sequential(*layers)
    assert len(s) == 4 and s[0] is layers[0] and s[-1] is layers[3]
    assert list(s) == layers
    sub = s[1:3]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"]
    x = dlcore.randn(5, 2)
    assert_close(s(x).detach(), to_numpy(s[2:](s[:2](x)).detach()), "float32")
    with pytest.raises(IndexError):
        s[4]
    s.append(nn.Tanh())
    assert len(s) == 5 and list(s._modules)[-1] == "4"
    del s[1]
    assert list(s._modules) == ["0", "1", "2", "3"] and s[1] is layers[2]
    s[0] = nn.Identity()
    assert isinstance(s[0], nn.Identity)
    s.insert(0, nn.Flatten())
    assert isinstance(s[0], nn.Flatten) and len(s) == 5
    named = nn.Sequential(OrderedDict(enc=nn.Linear(2, 2), act=nn.ReLU()))
    assert named.enc is named[0]
    assert list(named.state_dict()) == ["enc.weight", "enc.bias"]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    assert len(ml) == 5 and isinstance(ml[-1], nn.Tanh)
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3"]
    ml.insert(1, nn.Sigmoid())
    assert isinstance(ml[1], nn.Sigmoid)

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 5)})
    h = Holder()
    assert "blocks.1.weight" in h.state_dict() and "heads.b.bias" in h.state_dict()
    md = h.heads
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    md["c"] = nn.ReLU()
    assert list(md) == ["a", "b", "c"]
    assert isinstance(md.pop("c"), nn.ReLU) and "c" not in md
    with pytest.raises(KeyError):
        md["zzz"]
    with pytest.raises(TypeError):
        md["bad"] = 3


# ---- layers ------------------------------------------------------------------------------------

def test_linear_init_bounds_and_reproducibility():
    dlcore.manual_seed(7)
    a = nn.Linear(50, 30)
    dlcore.manual_seed(7)
    b = nn.Linear(50, 30)
    np.testing.assert_array_equal(to_numpy(a.weight.detach()), to_numpy(b.weight.detach()))
    bound = 1 / np.sqrt(50)
    for p in (a.weight, a.bias):
        v = to_numpy(p.detach())
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.9 * bound
    assert a.weight.shape == (30, 50) and a.bias.shape == (30,)
    y = a(dlcore.randn(2, 7, 50))                             # any leading dims
    assert y.shape == (2, 7, 30)


def test_flatten_unflatten_identity():
    x = dlcore.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity(54, unused="x")(x) is x


def _torch_pair(torch, ours, theirs):
    """Copies our parameters into the torch module (same names), returns both."""
    sd = {k: torch.tensor(to_numpy(v)) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(sd)
    return ours, theirs


def test_mlp_matches_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4))
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                                 torch.nn.Tanh(), torch.nn.Linear(16, 4)).double()
    ours.double()
    _torch_pair(torch, ours, theirs)
    x = np.random.default_rng(0).standard_normal((9, 6))
    y = ours(dlcore.tensor(x))
    ty = theirs(torch.tensor(x))
    assert_close(y.detach(), ty.detach().numpy(), "float64")
    y.square().sum().backward()
    ty.square().sum().backward()
    for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == tn
        assert_close(p.grad, tp.grad.numpy(), "float64", rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name, args", [
    ("ReLU", ()), ("Sigmoid", ()), ("Tanh", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.7,)),
    ("Softplus", (2.0, 5.0)), ("Softmax", (1,)), ("LogSoftmax", (1,)), ("Softmax", (0,)), ("LogSoftmax", (-1,)),
])
def test_activations_match_torch(name, args):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((5, 7)) * 4
    ours = getattr(nn, name)(*args)(dlcore.tensor(x))
    theirs = getattr(torch.nn, name)(*args)(torch.tensor(x))
    assert_close(ours, theirs.numpy(), "float64", rtol=1e-9, atol=1e-9)


def test_softmax_default_dim_follows_torch_rule():
    x = dlcore.randn(2, 3, 4)
    s = nn.Softmax()(x)                                       # 3-D without dim -> dim 0
    assert_close(s.sum(0), np.ones((3, 4)), "float32")
    s = nn.Softmax()(dlcore.randn(2, 3))                      # 2-D -> dim 1
    assert_close(s.sum(1), np.ones(2), "float32")


def test_maxout():
    x = np.random.default_rng(2).standard_normal((3, 6, 2))
    y = nn.Maxout(3)(dlcore.tensor(x))
    assert_close(y, x.reshape(3, 2, 3, 2).max(axis=2), "float64")
    with pytest.raises(ValueError):
        nn.Maxout(0)


def test_dropout_train_eval_and_seed():
    d = nn.Dropout(0.3)
    x = dlcore.ones(200, 50)
    dlcore.manual_seed(3)
    a = to_numpy(d(x))
    dlcore.manual_seed(3)
    b = to_numpy(d(x))
    np.testing.assert_array_equal(a, b)
    kept = a != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(a[kept], 1 / 0.7, rtol=1e-6)
    d.eval()
    np.testing.assert_array_equal(to_numpy(d(x)), np.ones((200, 50)))
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


# ---- losses ------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 5))
    t = rng.standard_normal((6, 5))
    p = 1 / (1 + np.exp(-x))
    b = (rng.random((6, 5)) > 0.5).astype(np.float64)
    labels = rng.integers(0, 5, 6)
    lp = x - np.log(np.exp(x).sum(1, keepdims=True))
    T = torch.tensor
    cases = [
        ("MSELoss", (x, t)), ("L1Loss", (x, t)), ("BCELoss", (p, b)), ("BCEWithLogitsLoss", (x, b)),
        ("CrossEntropyLoss", (x, labels)), ("NLLLoss", (lp, labels)),
    ]
    for name, (inp, tgt) in cases:
        ours = getattr(nn, name)(reduction=reduction)(dlcore.tensor(inp), dlcore.tensor(tgt))
        theirs = getattr(torch.nn, name)(reduction=reduction)(T(inp), T(tgt))
        assert_close(ours, theirs.numpy(), "float64", rtol=1e-9, atol=1e-9)


def test_loss_constructor_args_like_torch():
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.L1Loss(reduce=False).reduction == "none"
    ce = nn.CrossEntropyLoss(weight=dlcore.ones(3), ignore_index=1, label_smoothing=0.1)
    assert ce.ignore_index == 1 and ce.label_smoothing == 0.1
    assert "weight" in ce.state_dict()                        # class weights are buffers
    assert nn.NLLLoss().ignore_index == -100
    with pytest.raises(ValueError):
        nn.MSELoss(reduction="avg")


def test_training_a_tiny_model_reduces_loss():
    dlcore.manual_seed(0)
    rng = np.random.default_rng(0)
    x = dlcore.tensor(rng.standard_normal((64, 2)).astype(np.float32))
    xs = to_numpy(x)
    y = dlcore.tensor((xs[:, 0] + xs[:, 1] > 0).astype(np.int64))
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(60):
        loss = loss_fn(model(x), y)
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        with dlcore.no_grad():
            for p in model.parameters():
                p.sub_(p.grad * 0.5)
    assert loss.item() < 0.5 * first


def test_deepcopy_keeps_sharing_and_copies_storage():
    import copy
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    m2 = copy.deepcopy(m)
    assert m2[0] is m2[2] and isinstance(m2[0].weight, nn.Parameter)
    assert m2[0].weight.data_ptr() != m[0].weight.data_ptr()
    np.testing.assert_array_equal(to_numpy(m2[0].weight.detach()), to_numpy(m[0].weight.detach()))


@pytest.mark.cuda
def test_to_cuda_keeps_parameter_objects_and_grads():
    m = MLP()
    params = list(m.parameters())
    m(dlcore.randn(3, 4)).sum().backward()
    m.to("cuda")
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.is_cuda and p.grad.is_cuda for p in m.parameters())
    assert m.steps.is_cuda
    out = m(dlcore.randn(3, 4, device="cuda"))
    assert out.is_cuda
    m.cpu()
    assert not m.fc1.weight.is_cuda

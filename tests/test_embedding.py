# test_embedding.py — nn.Embedding / F.embedding against a NumPy gather / scatter-add and torch.
import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.autograd import gradcheck
import dlcore.nn.functional as F
import dlcore.optim

from conftest import assert_close, assert_names_shapes, requires_cuda


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), ()])
def test_embedding_matches_numpy(dtype, shape, rng):
    num, dim = 11, 5
    w = rng.standard_normal((num, dim)).astype(dtype)
    idx = rng.integers(0, num, size=shape)
    weight = dlcore.tensor(w, requires_grad=True)
    out = F.embedding(dlcore.tensor(idx), weight)
    assert_close(out.detach(), w[idx].astype(np.float64), dtype)
    g = rng.standard_normal(shape + (dim,)).astype(dtype)
    out.backward(dlcore.tensor(g))
    ref = np.zeros((num, dim))
    np.add.at(ref, idx.reshape(-1), g.reshape(-1, dim).astype(np.float64))
    assert_close(weight.grad, ref, dtype)


def test_embedding_module_matches_torch(rng):
    torch = pytest.importorskip("torch")
    for kw in ({}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
               {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0}):
        te = torch.nn.Embedding(9, 4, **kw).double()
        de = nn.Embedding(9, 4, dtype=dlcore.float64, **kw)
        de.load_state_dict({k: dlcore.tensor(v.detach().numpy()) for k, v in te.state_dict().items()})
        idx = rng.integers(0, 9, size=(4, 6))
        idx[0, :3] = 8        # repeats, and the padding row when padding_idx = -1
        idx[1, 0] = 2
        w = rng.standard_normal((4, 6, 4))
        to = te(torch.tensor(idx))
        (to * torch.tensor(w)).sum().backward()
        do = de(dlcore.tensor(idx))
        (do * dlcore.tensor(w)).sum().backward()
        assert_close(do.detach(), to.detach().numpy(), "float64")
        assert_close(de.weight.grad, te.weight.grad.numpy(), "float64")
        assert_close(de.weight.detach(), te.weight.detach().numpy(), "float64")   # max_norm renorm
        assert repr(de).replace("dtype", "") .startswith("Embedding(9, 4")


def test_embedding_init_padding_and_from_pretrained(rng):
    e = nn.Embedding(50, 8, padding_idx=3)
    w = np.asarray(e.weight.detach())
    assert np.all(w[3] == 0) and 0.7 < w[np.arange(50) != 3].std() < 1.3
    assert "padding_idx=3" in repr(e)
    pre = dlcore.tensor(rng.standard_normal((6, 3)))
    fe = nn.Embedding.from_pretrained(pre)
    assert not fe.weight.requires_grad
    assert_close(fe(dlcore.tensor(np.array([5, 0]))).detach(), np.asarray(pre)[[5, 0]], "float64")
    te = nn.Embedding.from_pretrained(pre, freeze=False, padding_idx=1)
    out = te(dlcore.tensor(np.array([[1, 2], [1, 1]])))
    out.sum().backward()
    g = np.asarray(te.weight.grad)
    assert np.all(g[1] == 0) and np.all(g[2] == 1) and np.all(g[0] == 0)


def test_embedding_gradcheck(rng):
    w = dlcore.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = dlcore.tensor(np.array([[0, 4, 4], [2, 0, 1]]))
    assert gradcheck(lambda w: F.embedding(idx, w), (w,))
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: compared with torch)


def test_embedding_in_a_language_model_step(rng):
    """Embedding -> LSTM -> Linear trains: the loss goes down over a few steps."""
    dlcore.manual_seed(0)
    emb, lstm, head = nn.Embedding(20, 8), nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 20)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = dlcore.optim.Adam(params, lr=0.02)
    seq = rng.integers(0, 20, size=(4, 9))
    x, y = dlcore.tensor(seq[:, :-1]), dlcore.tensor(seq[:, 1:].reshape(-1))
    losses = []
    for _ in range(15):
        out, _ = lstm(emb(x))
        loss = F.cross_entropy(head(out).reshape(-1, 20), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0]


def test_embedding_errors():
    e = nn.Embedding(10, 4)
    with pytest.raises(IndexError, match=r"Embedding\(10, 4\)") as ex:
        e(dlcore.tensor(np.array([[1, 12], [0, 3]])))
    assert_names_shapes(ex, (2, 2), (10, 4))
    with pytest.raises(IndexError, match="-1"):
        e(dlcore.tensor(np.array([-1, 2])))
    with pytest.raises(TypeError, match="int64"):
        e(dlcore.tensor(np.array([1.0, 2.0])))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(10, 4, padding_idx=10)
    with pytest.raises(ValueError, match="2-D"):
        F.embedding(dlcore.tensor(np.array([0])), dlcore.zeros(3))
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(dlcore.zeros(3))


@requires_cuda
def test_embedding_cuda_matches_cpu(rng):
    w = rng.standard_normal((7, 3)).astype(np.float32)
    idx = rng.integers(0, 7, size=(5, 4))
    res = []
    for dev in ("cpu", "cuda"):
        wt = dlcore.tensor(w, device=dev, requires_grad=True)
        out = F.embedding(dlcore.tensor(idx, device=dev), wt, padding_idx=2)
        (out * out).sum().backward()
        res.append((out.detach().cpu(), wt.grad.cpu()))
    assert_close(res[1][0], np.asarray(res[0][0], dtype=np.float64), "float32")
    assert_close(res[1][1], np.asarray(res[0][1], dtype=np.float64), "float32")

# test_rnn.py — nn.RNN / LSTM / GRU, their cells and nn.utils.rnn (packing), against a float64
# NumPy reference of the step equations and against torch with identical weights (torch's
# state_dict loaded): outputs, final states and every gradient (input, h0/c0, all weights).
import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.autograd import gradcheck, _topological
from dlcore.nn.utils import rnn as rnn_utils

from conftest import assert_close, assert_names_shapes, requires_cuda

KINDS = [("LSTM", {}), ("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"})]
KIND_IDS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=2e-5, atol=2e-5)}


def _dl(dtype):
    return getattr(dlcore, dtype)


def _copy_from_torch(dl_mod, t_mod):
    dl_mod.load_state_dict({k: dlcore.tensor(v.detach().numpy()) for k, v in
                            t_mod.state_dict().items()})


def _close(actual, expected, dtype, **kw):
    exp = expected.detach().numpy() if hasattr(expected, "detach") else np.asarray(expected)
    if isinstance(actual, dlcore.Tensor):
        actual = actual.detach()
    assert_close(actual, exp.astype(np.float64), dtype, **{**TOL[dtype], **kw})


# ---- NumPy reference of one layer-direction ---------------------------------------------------

def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _np_layer(kind, x, h, c, w_ih, w_hh, b_ih, b_hh, relu=False):
    """x (T, N, I) float64; returns output (T, N, H), h_n, c_n."""
    H = w_hh.shape[1]
    ys = []
    for t in range(x.shape[0]):
        gx = x[t] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        if kind == "LSTM":
            a = gx + gh
            i, f, g, o = _sig(a[:, :H]), _sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sig(a[:, 3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
        elif kind == "GRU":
            r = _sig(gx[:, :H] + gh[:, :H])
            z = _sig(gx[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
        else:
            a = gx + gh
            h = np.maximum(a, 0) if relu else np.tanh(a)
        ys.append(h)
    return np.stack(ys), h, c


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("T,N,I,H", [(5, 3, 4, 7), (1, 1, 1, 1), (4, 2, 11, 13)])
def test_layer_matches_numpy(kind, kw, dtype, T, N, I, H, rng):
    m = getattr(nn, kind)(I, H, dtype=_dl(dtype), **kw)
    x = rng.uniform(-1, 1, (T, N, I)).astype(dtype)
    h0 = rng.uniform(-1, 1, (1, N, H)).astype(dtype)
    c0 = rng.uniform(-1, 1, (1, N, H)).astype(dtype)
    hx = (dlcore.tensor(h0), dlcore.tensor(c0)) if kind == "LSTM" else dlcore.tensor(h0)
    out, st = m(dlcore.tensor(x), hx)
    p = {k: np.asarray(v, dtype=np.float64) for k, v in m.state_dict().items()}
    ref, h, c = _np_layer(kind, x.astype(np.float64), h0[0].astype(np.float64),
                          c0[0].astype(np.float64), p["weight_ih_l0"], p["weight_hh_l0"],
                          p["bias_ih_l0"], p["bias_hh_l0"], relu=kw.get("nonlinearity") == "relu")
    _close(out, ref, dtype)
    if kind == "LSTM":
        _close(st[0], h[None], dtype)
        _close(st[1], c[None], dtype)
    else:
        _close(st, h[None], dtype)


# ---- torch, identical weights -----------------------------------------------------------------

def _run_both(kind, kw, dtype, cfg, x_np, h0_np, c0_np, lengths=None, loss_w=None):
    """Runs dlcore and torch on the same input; returns (dl results, torch results) where each
    is (output, h_n, c_n, input grad, h0 grad, c0 grad, param grads)."""
    torch = pytest.importorskip("torch")
    L, bidir, batch_first = cfg
    tdt = getattr(torch, dtype)
    I, H = x_np.shape[-1], h0_np.shape[-1]
    tm = getattr(torch.nn, kind)(I, H, num_layers=L, bidirectional=bidir, batch_first=batch_first,
                                 **kw).to(tdt)
    dm = getattr(nn, kind)(I, H, num_layers=L, bidirectional=bidir, batch_first=batch_first,
                           dtype=_dl(dtype), **kw)
    _copy_from_torch(dm, tm)
    res = []
    for lib in ("dl", "torch"):
        if lib == "dl":
            mk = lambda a: dlcore.tensor(a, requires_grad=True)
            mod, U = dm, rnn_utils
        else:
            mk = lambda a: torch.tensor(a, requires_grad=True)
            mod, U = tm, torch.nn.utils.rnn
        x, h0, c0 = mk(x_np), mk(h0_np), mk(c0_np)
        hx = (h0, c0) if kind == "LSTM" else h0
        inp = x if lengths is None else U.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                                               enforce_sorted=False)
        out, st = mod(inp, hx)
        if lengths is not None:
            out, _ = U.pad_packed_sequence(out, batch_first=batch_first)
        hn, cn = st if kind == "LSTM" else (st, None)
        w = mk(loss_w[:np.prod(out.shape)].reshape(tuple(out.shape)))
        loss = (out * w).sum() + (hn * hn).sum()
        if cn is not None:
            loss = loss + (cn * 0.5).sum()
        loss.backward()
        res.append((out, hn, cn, x.grad, h0.grad, c0.grad if kind == "LSTM" else None,
                    [p.grad for p in mod.parameters()]))
    return res


CONFIGS = [(1, False, False), (2, True, False), (3, False, True), (2, True, True)]


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=["1l", "2l-bi", "3l-bf", "2l-bi-bf"])
def test_layer_matches_torch(kind, kw, dtype, cfg, rng):
    L, bidir, bf = cfg
    D = 2 if bidir else 1
    T, N, I, H = 6, 3, 5, 7
    x = rng.standard_normal((N, T, I) if bf else (T, N, I)).astype(dtype)
    h0 = rng.standard_normal((L * D, N, H)).astype(dtype)
    c0 = rng.standard_normal((L * D, N, H)).astype(dtype)
    lw = rng.standard_normal(T * N * D * H).astype(dtype)
    d, t = _run_both(kind, kw, dtype, cfg, x, h0, c0, loss_w=lw)
    for a, b in zip(d[:6], t[:6]):
        if b is None:
            assert a is None
            continue
        _close(a, b, dtype)
    assert len(d[6]) == len(t[6])
    for a, b in zip(d[6], t[6]):
        _close(a, b, dtype)


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("cfg", [(1, False, False), (2, True, True)], ids=["1l", "2l-bi-bf"])
def test_packed_matches_torch(kind, kw, cfg, rng):
    """Unsorted lengths: outputs past each length are zero, h_n/c_n are each sequence's state at
    its own last step (reverse direction: at its first), gradients equal torch's."""
    L, bidir, bf = cfg
    D = 2 if bidir else 1
    T, N, I, H = 6, 4, 3, 5
    lengths = [3, 6, 1, 4]
    x = rng.standard_normal((N, T, I) if bf else (T, N, I))
    h0 = rng.standard_normal((L * D, N, H))
    c0 = rng.standard_normal((L * D, N, H))
    lw = rng.standard_normal(T * N * D * H)
    d, t = _run_both(kind, kw, "float64", cfg, x, h0, c0, lengths=lengths, loss_w=lw)
    for a, b in zip(d[:6], t[:6]):
        if b is not None:
            _close(a, b, "float64")
    for a, b in zip(d[6], t[6]):
        _close(a, b, "float64")
    out = np.asarray(d[0].detach())
    for b, n in enumerate(lengths):          # padding stays zero
        tail = out[b, n:] if bf else out[n:, b]
        assert np.all(tail == 0)


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_large_batch_row_blocks_match_torch(kind, kw, rng):
    """A batch big enough for the kernels to give each thread its own block of rows for the
    whole sequence (packed, unsorted, bidirectional): the same numbers as torch, with one
    thread and with two."""
    lengths = [5, 2, 7, 7, 1, 3, 6, 4, 7, 2, 5, 5, 1, 6, 3, 7, 4, 2, 6]      # N = 19
    N, T = len(lengths), max(lengths)
    x = rng.standard_normal((T, N, 3))
    h0 = rng.standard_normal((4, N, 5))
    c0 = rng.standard_normal((4, N, 5))
    lw = rng.standard_normal(T * N * 10)
    before = dlcore.get_num_threads()
    try:
        for threads in (1, 2):
            dlcore.set_num_threads(threads)
            d, t = _run_both(kind, kw, "float64", (2, True, False), x, h0, c0, lengths=lengths,
                             loss_w=lw)
            for a, b in zip(d[:6], t[:6]):
                if b is not None:
                    _close(a, b, "float64")
            for a, b in zip(d[6], t[6]):
                _close(a, b, "float64")
    finally:
        dlcore.set_num_threads(before)


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("N", [3, 19])
def test_inference_matches_training_forward(kind, kw, N, rng):
    """Under no_grad nothing is saved for the backward (another code path in the kernels):
    the same outputs and final states."""
    m = getattr(nn, kind)(4, 6, num_layers=2, bidirectional=True, dtype=dlcore.float64, **kw)
    lengths = sorted(rng.integers(1, 6, size=N).tolist(), reverse=True)
    x = dlcore.tensor(rng.standard_normal((5, N, 4)), requires_grad=True)
    res = []
    for grad in (True, False):
        with dlcore.set_grad_enabled(grad):
            for packed in (False, True):
                inp = rnn_utils.pack_padded_sequence(x, lengths) if packed else x
                out, st = m(inp)
                if packed:
                    out = rnn_utils.pad_packed_sequence(out)[0]
                st = st if kind == "LSTM" else (st,)
                res.append([np.asarray(t.detach()) for t in (out,) + tuple(st)])
    for a, b in zip(res[:2], res[2:]):
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-13, atol=1e-13)


def test_packed_state_is_last_step_of_each_sequence(rng):
    """A packed batch gives each sequence the h_n it gets when run alone."""
    m = nn.LSTM(3, 4, dtype=dlcore.float64)
    seqs = [rng.standard_normal((n, 3)) for n in (2, 5, 3)]
    packed = rnn_utils.pack_sequence([dlcore.tensor(s) for s in seqs], enforce_sorted=False)
    _, (hn, cn) = m(packed)
    for b, s in enumerate(seqs):
        _, (h1, c1) = m(dlcore.tensor(s[:, None, :]))
        _close(hn[:, b], np.asarray(h1[:, 0].detach()), "float64")
        _close(cn[:, b], np.asarray(c1[:, 0].detach()), "float64")


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "RNNCell", "RNNCell-relu"])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cells_match_torch(cell, unbatched, rng):
    torch = pytest.importorskip("torch")
    name, kw = (cell, {}) if cell != "RNNCell-relu" else ("RNNCell", {"nonlinearity": "relu"})
    I, H, N = 5, 7, 3
    tm = getattr(torch.nn, name)(I, H, **kw).double()
    dm = getattr(nn, name)(I, H, dtype=dlcore.float64, **kw)
    _copy_from_torch(dm, tm)
    shape_x, shape_h = ((I,), (H,)) if unbatched else ((N, I), (N, H))
    x, h, c = (rng.standard_normal(s) for s in (shape_x, shape_h, shape_h))
    outs = []
    for lib, mod, mk in (("dl", dm, lambda a: dlcore.tensor(a, requires_grad=True)),
                         ("t", tm, lambda a: torch.tensor(a, requires_grad=True))):
        xs, hs, cs = mk(x), mk(h), mk(c)
        r = mod(xs, (hs, cs)) if name == "LSTMCell" else mod(xs, hs)
        if name == "LSTMCell":
            (r[0].sum() + (r[1] * r[1]).sum()).backward()
            r = r[0] * r[1]
        else:
            (r * r).sum().backward()
        outs.append((r, xs.grad, hs.grad, [p.grad for p in mod.parameters()]))
        r0 = mod(mk(x))                      # no state: zeros
        outs[-1] += (r0[0] if name == "LSTMCell" else r0,)
    d, t = outs
    _close(d[0], t[0], "float64")
    _close(d[1], t[1], "float64")
    _close(d[2], t[2], "float64")
    for a, b in zip(d[3], t[3]):
        _close(a, b, "float64")
    _close(d[4], t[4], "float64")


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_no_bias_matches_torch(kind, kw, rng):
    torch = pytest.importorskip("torch")
    tm = getattr(torch.nn, kind)(3, 4, bias=False, bidirectional=True, **kw).double()
    dm = getattr(nn, kind)(3, 4, bias=False, bidirectional=True, dtype=dlcore.float64, **kw)
    _copy_from_torch(dm, tm)
    x = rng.standard_normal((5, 2, 3))
    tx, dx = torch.tensor(x, requires_grad=True), dlcore.tensor(x, requires_grad=True)
    to, do = tm(tx)[0], dm(dx)[0]
    (to * to).sum().backward()
    (do * do).sum().backward()
    _close(do, to, "float64")
    _close(dx.grad, tx.grad, "float64")
    for a, b in zip(dm.parameters(), tm.parameters()):
        _close(a.grad, b.grad, "float64")


def test_retain_graph_backward_twice(rng):
    m = nn.GRU(2, 3, dtype=dlcore.float64)
    x = dlcore.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    out, h = m(x)
    loss = out.sum() + h.sum()
    loss.backward(retain_graph=True)
    g1 = np.asarray(x.grad).copy()
    loss.backward()
    _close(x.grad, 2 * g1, "float64")
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_state_dict_round_trip_and_init():
    torch = pytest.importorskip("torch")
    for kind, kw in KINDS:
        tm = getattr(torch.nn, kind)(3, 5, num_layers=2, bidirectional=True, **kw)
        dm = getattr(nn, kind)(3, 5, num_layers=2, bidirectional=True, **kw)
        tsd, dsd = tm.state_dict(), dm.state_dict()
        assert list(tsd.keys()) == list(dsd.keys())
        for k in tsd:
            assert tuple(tsd[k].shape) == tuple(dsd[k].shape), k
            a = np.asarray(dsd[k])
            assert np.all(np.abs(a) <= 1 / np.sqrt(5)) and a.std() > 0.05, k
    for name in ("LSTMCell", "GRUCell", "RNNCell"):
        assert list(getattr(torch.nn, name)(3, 5).state_dict()) == list(
            getattr(nn, name)(3, 5).state_dict())
    m = nn.LSTM(3, 5, num_layers=2, bias=False, batch_first=True, bidirectional=True)
    assert "weight_hh_l1_reverse" in dict(m.named_parameters())
    assert "bias_ih_l0" not in dict(m.named_parameters())
    assert "LSTM(3, 5, num_layers=2, bias=False, batch_first=True, bidirectional=True)" in repr(m)
    assert "nonlinearity='relu'" in repr(nn.RNN(2, 3, nonlinearity="relu"))


def test_unbatched_input(rng):
    torch = pytest.importorskip("torch")
    tm = torch.nn.GRU(3, 4, num_layers=2).double()
    dm = nn.GRU(3, 4, num_layers=2, dtype=dlcore.float64)
    _copy_from_torch(dm, tm)
    x, h0 = rng.standard_normal((5, 3)), rng.standard_normal((2, 4))
    to, th = tm(torch.tensor(x), torch.tensor(h0))
    do, dh = dm(dlcore.tensor(x), dlcore.tensor(h0))
    assert tuple(do.shape) == (5, 4) and tuple(dh.shape) == (2, 4)
    _close(do, to, "float64")
    _close(dh, th, "float64")


# ---- gradcheck (float64, tiny) ------------------------------------------------------------------

@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_gradcheck_layer(kind, kw, rng):
    m = getattr(nn, kind)(2, 3, num_layers=2, bidirectional=True, dtype=dlcore.float64, **kw)
    x = dlcore.tensor(rng.uniform(-1, 1, (3, 2, 2)), requires_grad=True)
    h0 = dlcore.tensor(rng.uniform(-1, 1, (4, 2, 3)), requires_grad=True)
    c0 = dlcore.tensor(rng.uniform(-1, 1, (4, 2, 3)), requires_grad=True)
    params = list(m.parameters())
    if kind == "LSTM":
        fn = lambda x, h, c, *p: (lambda r: (r[0], r[1][0], r[1][1]))(m(x, (h, c)))
        assert gradcheck(fn, (x, h0, c0, *params))
    else:
        fn = lambda x, h, *p: m(x, h)
        assert gradcheck(fn, (x, h0, *params))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_gradcheck_packed(kind, rng):
    m = getattr(nn, kind)(2, 2, bidirectional=True, dtype=dlcore.float64)
    x = dlcore.tensor(rng.uniform(-1, 1, (4, 3, 2)), requires_grad=True)

    def fn(x, *p):
        out, _ = m(rnn_utils.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False))
        return rnn_utils.pad_packed_sequence(out)[0]
    assert gradcheck(fn, (x, *m.parameters()))


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell"])
def test_gradcheck_cell(name, rng):
    m = getattr(nn, name)(3, 2, dtype=dlcore.float64)
    x = dlcore.tensor(rng.uniform(-1, 1, (2, 3)), requires_grad=True)
    h = dlcore.tensor(rng.uniform(-1, 1, (2, 2)), requires_grad=True)
    c = dlcore.tensor(rng.uniform(-1, 1, (2, 2)), requires_grad=True)
    if name == "LSTMCell":
        assert gradcheck(lambda x, h, c, *p: m(x, (h, c)), (x, h, c, *m.parameters()))
    else:
        assert gradcheck(lambda x, h, *p: m(x, h), (x, h, *m.parameters()))


# ---- autograd structure, truncated BPTT -----------------------------------------------------------

def test_one_autograd_node_per_layer(rng):
    m = nn.LSTM(3, 4, num_layers=2)
    sizes = []
    for T in (2, 30):
        x = dlcore.tensor(rng.standard_normal((T, 2, 3)).astype(np.float32), requires_grad=True)
        out, (h, c) = m(x)
        sizes.append(len(_topological(out.sum() + h.sum() + c.sum())))
    assert sizes[0] == sizes[1] and sizes[0] < 30


def test_truncated_bptt(rng):
    """One chunk covering the sequence is full BPTT; with two chunks and a detached state, the
    forward values are unchanged and no gradient crosses the cut."""
    m = nn.LSTM(3, 4, dtype=dlcore.float64)
    xs = rng.standard_normal((6, 2, 3))
    x = dlcore.tensor(xs, requires_grad=True)
    out, _ = m(x)
    out.sum().backward()
    full_grads = [np.asarray(p.grad).copy() for p in m.parameters()]
    full_out = np.asarray(out.detach())
    for p in m.parameters():
        p.grad = None
    state = None
    for chunk in (slice(0, 6),):
        o, state = m(dlcore.tensor(xs[chunk]), state)
        o.sum().backward()
        state = tuple(s.detach() for s in state)
    for p, g in zip(m.parameters(), full_grads):
        assert_close(p.grad, g, "float64")
    x1 = dlcore.tensor(xs[:3], requires_grad=True)
    x2 = dlcore.tensor(xs[3:], requires_grad=True)
    o1, st = m(x1)
    o2, _ = m(x2, tuple(s.detach() for s in st))
    _close(o2, full_out[3:], "float64")
    o2.sum().backward()
    assert x1.grad is None and x2.grad is not None


# ---- dropout, empty batch ---------------------------------------------------------------------

def test_dropout_between_layers_only(rng):
    x = dlcore.tensor(rng.standard_normal((4, 2, 3)).astype(np.float32))
    one = nn.GRU(3, 5, dropout=0.5)
    one.train()
    a = np.asarray(one(x)[0])
    one.eval()
    assert np.array_equal(a, np.asarray(one(x)[0]))          # nothing after the last layer
    two = nn.GRU(3, 5, num_layers=2, dropout=0.5)
    two.eval()
    e = np.asarray(two(x)[0])
    two.train()
    dlcore.manual_seed(1)
    t1 = np.asarray(two(x)[0])
    dlcore.manual_seed(1)
    t2 = np.asarray(two(x)[0])
    assert np.array_equal(t1, t2) and not np.allclose(t1, e)


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_empty_batch(kind, kw):
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, **kw)
    x = dlcore.zeros(5, 0, 3, requires_grad=True)
    out, st = m(x)
    h = st[0] if kind == "LSTM" else st
    assert tuple(out.shape) == (5, 0, 8) and tuple(h.shape) == (4, 0, 4)
    (out.sum() + h.sum()).backward()
    assert tuple(x.grad.shape) == (5, 0, 3)
    assert all(np.all(np.asarray(p.grad) == 0) for p in m.parameters())


# ---- nn.utils.rnn ------------------------------------------------------------------------------

def test_pack_pad_utils_match_torch(rng):
    torch = pytest.importorskip("torch")
    T = torch.nn.utils.rnn
    seqs = [rng.standard_normal((n, 2)) for n in (3, 5, 1, 4)]
    for bf in (False, True):
        tp = T.pad_sequence([torch.tensor(s) for s in seqs], batch_first=bf, padding_value=-1.0)
        dp = rnn_utils.pad_sequence([dlcore.tensor(s) for s in seqs], batch_first=bf,
                                    padding_value=-1.0)
        _close(dp, tp, "float64")
        tk = T.pack_padded_sequence(tp, [3, 5, 1, 4], batch_first=bf, enforce_sorted=False)
        dk = rnn_utils.pack_padded_sequence(dp, [3, 5, 1, 4], batch_first=bf, enforce_sorted=False)
        _close(dk.data, tk.data, "float64")
        assert dk.batch_sizes.tolist() == tk.batch_sizes.tolist()
        assert dk.sorted_indices.tolist() == tk.sorted_indices.tolist()
        assert dk.unsorted_indices.tolist() == tk.unsorted_indices.tolist()
        tu, tl = T.pad_packed_sequence(tk, batch_first=bf, padding_value=7.0, total_length=6)
        du, dl = rnn_utils.pad_packed_sequence(dk, batch_first=bf, padding_value=7.0,
                                               total_length=6)
        _close(du, tu, "float64")
        assert dl.tolist() == tl.tolist()
    ts = T.pack_sequence([torch.tensor(s) for s in sorted(seqs, key=len, reverse=True)])
    ds = rnn_utils.pack_sequence([dlcore.tensor(s) for s in sorted(seqs, key=len, reverse=True)])
    _close(ds.data, ts.data, "float64")
    assert ds.sorted_indices is None and ds.unsorted_indices is None
    back = rnn_utils.unpack_sequence(rnn_utils.pack_sequence([dlcore.tensor(s) for s in seqs],
                                                             enforce_sorted=False))
    for a, s in zip(back, seqs):
        _close(a, s, "float64")
    assert nn.utils.clip_grad_value_ is not None and nn.utils.clip_grad_norm_ is not None


# ---- bad input -----------------------------------------------------------------------------------

def test_bad_input_errors():
    m = nn.LSTM(3, 4, num_layers=2)
    x = dlcore.zeros(5, 2, 3)
    with pytest.raises(ValueError, match="LSTM") as e:
        m(dlcore.zeros(5, 2, 6))
    assert_names_shapes(e, (5, 2, 6))
    with pytest.raises(ValueError, match="LSTM"):
        m(dlcore.zeros(5, 2, 1, 3))
    with pytest.raises(ValueError, match="LSTM") as e:
        m(x, (dlcore.zeros(1, 2, 4), dlcore.zeros(2, 2, 4)))
    assert_names_shapes(e, (2, 2, 4), (1, 2, 4))
    with pytest.raises(TypeError, match="LSTM"):
        m(x, dlcore.zeros(2, 2, 4))
    with pytest.raises(TypeError, match="LSTM"):
        m(x, (dlcore.zeros(2, 2, 4, dtype=dlcore.float64), dlcore.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match="LSTM"):
        m(dlcore.zeros(5, 2, 3, dtype=dlcore.float64))
    with pytest.raises(TypeError, match="GRU"):
        nn.GRU(3, 4)(x, (dlcore.zeros(1, 2, 4),))
    with pytest.raises(ValueError, match="GRUCell") as e:
        nn.GRUCell(3, 4)(dlcore.zeros(2, 5))
    assert_names_shapes(e, (2, 5))
    with pytest.raises(ValueError, match="LSTMCell"):
        nn.LSTMCell(3, 4)(dlcore.zeros(2, 3), (dlcore.zeros(3, 4), dlcore.zeros(2, 4)))
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(x, [2, 5])
    with pytest.raises(ValueError, match="exceeds"):
        rnn_utils.pack_padded_sequence(x, [6, 2])
    with pytest.raises(ValueError, match="greater than 0"):
        rnn_utils.pack_padded_sequence(x, [5, 0])
    with pytest.raises(ValueError, match="lengths"):
        rnn_utils.pack_padded_sequence(x, [5, 3, 1])
    with pytest.raises(ValueError, match="total_length"):
        rnn_utils.pad_packed_sequence(rnn_utils.pack_padded_sequence(x, [5, 3]), total_length=2)
    # the kernel boundary validates as well
    with pytest.raises(ValueError, match="batch_sizes"):
        dlcore._C.rnn_forward(0, dlcore.zeros(4, 3)._impl, dlcore.zeros(2, 4)._impl,
                              dlcore.zeros(2, 4)._impl, m.weight_ih_l0._impl,
                              m.weight_hh_l0._impl, None, None, [2, 3], False)


# ---- CUDA agreement -----------------------------------------------------------------------------

@requires_cuda
@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_cuda_matches_cpu(kind, kw, rng):
    m = getattr(nn, kind)(5, 7, num_layers=2, bidirectional=True, **kw)
    mc = getattr(nn, kind)(5, 7, num_layers=2, bidirectional=True, **kw).to("cuda")
    mc.load_state_dict(m.state_dict())
    x = rng.standard_normal((6, 4, 5)).astype(np.float32)
    res = []
    for mod, dev in ((m, "cpu"), (mc, "cuda")):
        xt = dlcore.tensor(x, device=dev, requires_grad=True)
        packed = rnn_utils.pack_padded_sequence(xt, [3, 6, 2, 5], enforce_sorted=False)
        out, st = mod(packed)
        out, _ = rnn_utils.pad_packed_sequence(out)
        hn = st[0] if kind == "LSTM" else st
        (out.sum() + (hn * hn).sum()).backward()
        res.append([out, hn, xt.grad] + [p.grad for p in mod.parameters()])
    for a, b in zip(*res):
        _close(b.cpu(), np.asarray(a.detach(), dtype=np.float64), "float32", rtol=1e-4, atol=1e-4)


# ---- random configurations (hypothesis) --------------------------------------------------------

def test_random_configurations_match_torch():
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies
    pytest.importorskip("torch")

    @hyp.settings(max_examples=12)
    @hyp.given(kind=st.sampled_from(range(len(KINDS))), T=st.integers(1, 5), N=st.integers(1, 5),
               I=st.integers(1, 4), H=st.integers(1, 5), L=st.integers(1, 2),
               bidir=st.booleans(), bf=st.booleans(), packed=st.booleans(),
               seed=st.integers(0, 2 ** 16))
    def check(kind, T, N, I, H, L, bidir, bf, packed, seed):
        r = np.random.default_rng(seed)
        D = 2 if bidir else 1
        x = r.standard_normal((N, T, I) if bf else (T, N, I))
        h0, c0 = r.standard_normal((L * D, N, H)), r.standard_normal((L * D, N, H))
        lengths = r.integers(1, T + 1, size=N).tolist() if packed else None
        lw = r.standard_normal(T * N * D * H)
        name, kw = KINDS[kind]
        d, t = _run_both(name, kw, "float64", (L, bidir, bf), x, h0, c0, lengths=lengths,
                         loss_w=lw)
        for a, b in zip(d[:6], t[:6]):
            if b is not None:
                _close(a, b, "float64")
        for a, b in zip(d[6], t[6]):
            _close(a, b, "float64")
    check()


# ---- the fused float32 LSTM steps (csrc/cpu/lstm_fused_*.cpp) ---------------------------------

def _lstm_f32_vs_f64(rng, T, N, I, H, bidir=False, lengths=None, threads=1, layers=1,
                     batch_first=False):
    """float32 LSTM (the fused kernels on an AVX2 / AVX-512 CPU) against the float64 one (the
    GEMM + pointwise plan) with the same weights: outputs, states and every gradient."""
    res = []
    ms = [nn.LSTM(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, dtype=dt)
          for dt in (dlcore.float64, dlcore.float32)]
    ms[1].load_state_dict({k: dlcore.tensor(np.asarray(v).astype(np.float32))
                           for k, v in ms[0].state_dict().items()})
    D = 2 if bidir else 1
    x = rng.uniform(-2, 2, (N, T, I) if batch_first else (T, N, I)).astype(np.float32)
    h0 = rng.uniform(-1, 1, (layers * D, N, H)).astype(np.float32)
    c0 = rng.uniform(-1, 1, (layers * D, N, H)).astype(np.float32)
    lw = rng.standard_normal((N, T, D * H) if batch_first else (T, N, D * H)).astype(np.float32)
    before = dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    try:
        for m, dt in zip(ms, (np.float64, np.float32)):
            xs, hs, cs = (dlcore.tensor(a.astype(dt), requires_grad=True) for a in (x, h0, c0))
            inp = xs if lengths is None else rnn_utils.pack_padded_sequence(
                xs, lengths, enforce_sorted=False)
            out, (hn, cn) = m(inp, (hs, cs))
            if lengths is not None:
                out = rnn_utils.pad_packed_sequence(out, total_length=T)[0]
            loss = (out * dlcore.tensor(lw.astype(dt))).sum() + (hn * hn).sum() + (cn * 0.5).sum()
            loss.backward()
            res.append([out, hn, cn, xs.grad, hs.grad, cs.grad] +
                       [p.grad for p in m.parameters()])
    finally:
        dlcore.set_num_threads(before)
    for a, e in zip(res[1], res[0]):
        assert_close(a.detach(), np.asarray(e.detach()), "float32", rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("path", [None, "avx2", "generic"])
@pytest.mark.parametrize("T,N,I,H", [(4, 2, 5, 17), (1, 1, 1, 1), (3, 7, 3, 33), (2, 5, 1, 3),
                                     (3, 7, 70, 65)])
def test_lstm_float32_paths_match_float64(path, T, N, I, H, rng, monkeypatch):
    """Hidden sizes below, at and past the 8 / 16 lanes (1, 3, 17, 33, 65: the backward is fused
    from 4 vectors of units, dx from 4 vectors of inputs, I = 70), odd batches (row tiles of up
    to 6 plus remainders), T = 1, input size 1; bidirectional, so the second direction
    accumulates into dx. DLCORE_CPU_PATH=avx2 runs the 8-lane kernels on an AVX-512 CPU."""
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    _lstm_f32_vs_f64(rng, T, N, I, H, bidir=True)


@pytest.mark.parametrize("path", [None, "avx2"])
@pytest.mark.parametrize("threads", [1, 2])
def test_lstm_float32_packed_row_blocks(path, threads, rng, monkeypatch):
    """Packed, unsorted lengths and a batch of 19 (two threads own row blocks of 9 and 10):
    rows leave the recurrence at different steps in both directions."""
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    lengths = [5, 2, 7, 7, 1, 3, 6, 4, 7, 2, 5, 5, 1, 6, 3, 7, 4, 2, 6]
    _lstm_f32_vs_f64(rng, 7, len(lengths), 4, 70, bidir=True, lengths=lengths, threads=threads)
    _lstm_f32_vs_f64(rng, 7, len(lengths), 66, 64, bidir=True, lengths=lengths, threads=threads)


@pytest.mark.parametrize("path", [None, "avx2", "generic"])
@pytest.mark.parametrize("T,N,I,H,threads", [(4, 3, 5, 17, 1), (1, 1, 1, 1, 1), (3, 7, 70, 65, 2),
                                             (5, 0, 3, 4, 1), (2, 19, 6, 33, 2)])
def test_lstm_float32_batch_first_rows(path, T, N, I, H, threads, rng, monkeypatch):
    """A batch-first LSTM on the CPU reads x and writes y (and dy / dx) in their batch-major rows
    (row b*T + t); float32 (fused, or the reference plan on copies with path=generic) against
    float64 (the reference plan on copies), 2 layers bidirectional so layer 2 reads layer 1's
    batch-major output and the second direction accumulates into dx; empty and odd batches,
    T = 1, hidden sizes around the 8 / 16 lanes, two threads owning row blocks."""
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    _lstm_f32_vs_f64(rng, T, N, I, H, bidir=True, threads=threads, layers=2, batch_first=True)


def test_rnn_kernel_batch_first_rows_errors(rng):
    """batch_first rows are an LSTM-only, unpacked-only option of the kernel calls."""
    x = dlcore.tensor(rng.standard_normal((6, 3)).astype(np.float32))
    w_ih = dlcore.zeros(12, 3)
    w_hh, h0 = dlcore.zeros(12, 4), dlcore.zeros(2, 4)
    with pytest.raises(ValueError, match="LSTM only"):
        dlcore._C.rnn_forward(1, x._impl, h0._impl, None, w_ih._impl, w_hh._impl, None, None,
                              [2, 2, 2], False, None, False, True)
    with pytest.raises(ValueError, match="equal batch sizes"):
        dlcore._C.rnn_forward(0, x._impl, h0._impl, h0._impl, dlcore.zeros(16, 3)._impl,
                              dlcore.zeros(16, 4)._impl, None, None, [2, 2, 1, 1], False, None,
                              False, True)


@pytest.mark.parametrize("path", [None, "avx2"])
def test_lstm_float32_empty_batch_and_saturation(path, rng, monkeypatch):
    """An empty batch gives empty outputs and zero weight gradients; inputs far past the
    polynomial exp's range saturate the gates exactly like the float64 path."""
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    m = nn.LSTM(3, 5)
    out, (hn, cn) = m(dlcore.zeros(4, 0, 3, requires_grad=True))
    assert tuple(out.shape) == (4, 0, 5) and tuple(hn.shape) == (1, 0, 5)
    (out.sum() + hn.sum()).backward()
    for p in m.parameters():
        assert np.all(np.asarray(p.grad) == 0)
    m64 = nn.LSTM(3, 5, dtype=dlcore.float64)
    m64.load_state_dict({k: dlcore.tensor(np.asarray(v, dtype=np.float64))
                         for k, v in m.state_dict().items()})
    x = (rng.standard_normal((3, 2, 3)) * 300).astype(np.float32)
    with dlcore.no_grad():
        a = m(dlcore.tensor(x))[0]
        e = m64(dlcore.tensor(x.astype(np.float64)))[0]
    assert_close(a, np.asarray(e), "float32", rtol=1e-5, atol=1e-5)



def _lstm_step_gates(x, bias=None):
    """The activated gates [N, 4, H] that one LSTM step saves for its backward when every gate
    pre-activation is exactly x ([N, H] float32, + bias [H] when given): W_ih holds an
    identity per gate (I = H), W_hh and the states are zero."""
    from dlcore.tensor import _wrap
    N, H = x.shape
    t = lambda a: dlcore.tensor(np.ascontiguousarray(a, dtype=np.float32))._impl
    z = np.zeros((N, H), np.float32)
    _, _, _, saved = dlcore._C.rnn_forward(
        0, t(x), t(z), t(z), t(np.concatenate([np.eye(H)] * 4)), t(np.zeros((4 * H, H))),
        None if bias is None else t(np.tile(bias, 4)), None, [N], False, None, True)
    return np.asarray(_wrap(saved[0])).reshape(N, 4, H)


def _ulps(y, ref):
    """|y - ref| in units of the float32 spacing at ref (ref in float64)."""
    return np.abs(y.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(np.float32))


@pytest.mark.parametrize("path", [None, "avx2"])
def test_lstm_float32_activation_ulps(path, monkeypatch):
    """The cell's sigmoid and tanh (lstm_fused_impl.h on AVX2 / AVX-512 CPUs) against float64
    over a dense float32 sweep: tanh within 2 ulp everywhere, tiny |x| included (denormals:
    tanh x = x) and around the points where expm1's range reduction changes n; sigmoid within
    2.5 ulp down to x = -87 (below, e^-x is clamped and the value stays under 1.2e-38). +-inf
    saturate, NaN propagates, and a partial lane block (H = 17) keeps the same accuracy."""
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    rng = np.random.default_rng(0)
    edges = (np.arange(30) + 0.5) * np.log(2) / 2          # where n of expm1(2|x|) steps
    near = (edges[:, None] * (1 + np.linspace(-1e-3, 1e-3, 41))).ravel()
    grid = np.arange(np.float32(0.55).view(np.int32), np.float32(0.7).view(np.int32), 61,
                     dtype=np.int32).view(np.float32)
    xs = np.concatenate([np.geomspace(1e-38, 12, 40000), np.geomspace(1e-45, 1e-38, 500),
                         rng.uniform(0, 12, 40000), near, grid]).astype(np.float32)
    xs = np.concatenate([xs, -xs])
    for H in (64, 17):
        x = np.concatenate([xs, np.zeros(-len(xs) % H, np.float32)])
        g = _lstm_step_gates(x.reshape(-1, H))
        x64 = x.astype(np.float64)
        tanh_err = _ulps(g[:, 2].ravel(), np.tanh(x64))
        assert tanh_err.max() <= 2.0, (H, tanh_err.max(), x[np.argmax(tanh_err)])
        sig = g[:, 0].ravel()
        for k in (1, 3):   # the three sigmoid gates share one function
            np.testing.assert_array_equal(g[:, k].ravel(), sig)
        ok = x64 > -87
        sig_err = _ulps(sig[ok], 1 / (1 + np.exp(-x64[ok])))
        assert sig_err.max() <= 2.5, (H, sig_err.max(), x[ok][np.argmax(sig_err)])
        assert np.all(sig[~ok] < 1.2e-38) and np.all(sig >= 0) and np.all(sig <= 1)
    special = np.array([np.inf, -np.inf, np.nan, 1e30, -1e30, 0, 1e-40, -1e-40], np.float32)
    s = _lstm_step_gates(np.zeros((1, 8), np.float32), special)[0]
    np.testing.assert_array_equal(s[2], np.array([1, -1, np.nan, 1, -1, 0, 1e-40, -1e-40],
                                                  np.float32))
    np.testing.assert_array_equal(s[0][[0, 3, 5]], [1, 1, 0.5])
    assert np.isnan(s[0][2]) and 0 <= s[0][1] < 1.2e-38 and 0 <= s[0][4] < 1.2e-38

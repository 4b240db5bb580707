"""Convolutions: conv1d / conv2d / conv_transpose2d and Conv1d / Conv2d / ConvTranspose2d.

Forward against a float64 NumPy reference (a per-tap einsum written here) and against
torch.nn.functional for hypothesis-drawn configurations (batch, channels, sizes, kernel,
stride, padding, dilation, groups incl. 1, primes and depthwise); gradients against torch and
dlcore.autograd.gradcheck (float64) for input, weight and bias; fused ReLU; batch slicing of
the im2col workspace; the 1x1 and depthwise kernels; torch state_dict round trips; default
initialisation; bad input; N = 0; CPU vs CUDA when a GPU is present."""
import math

import numpy as np
import pytest

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
from dlcore.autograd import gradcheck

from conftest import assert_close, assert_names_op, assert_names_shapes, requires_cuda

RNG = np.random.default_rng(7)


def T(a, dtype=None, requires_grad=False, device="cpu"):
    return dlcore.tensor(np.asarray(a), dtype=dtype, requires_grad=requires_grad, device=device)


def npa(t):
    return np.asarray(t.detach().cpu())


def rand(shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# ---- NumPy references (float64) --------------------------------------------------------------

def ref_conv2d(x, w, b=None, stride=(1, 1), pad=((0, 0), (0, 0)), dil=(1, 1), groups=1):
    """Cross-correlation by taps: y += W[:, :, i, j] applied to the (i, j)-shifted, strided
    window of the zero-padded input. pad = ((top, bottom), (left, right))."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    N, C, H, W = x.shape
    K, Cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = pad
    (sh, sw), (dh, dw) = stride, dil
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    OH = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    OW = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, K, OH, OW))
    Kg = K // groups
    for g in range(groups):
        xg = xp[:, g * Cg:(g + 1) * Cg]
        wg = w[g * Kg:(g + 1) * Kg]
        for i in range(kh):
            for j in range(kw):
                win = xg[:, :, i * dh: i * dh + sh * (OH - 1) + 1: sh,
                         j * dw: j * dw + sw * (OW - 1) + 1: sw]
                y[:, g * Kg:(g + 1) * Kg] += np.einsum("nchw,kc->nkhw", win, wg[:, :, i, j])
    if b is not None:
        y += np.asarray(b, np.float64)[None, :, None, None]
    return y


def ref_conv_transpose2d(x, w, b=None, stride=(1, 1), pad=(0, 0), out_pad=(0, 0), dil=(1, 1),
                         groups=1):
    """Scatter form: every input pixel adds W[c, :, i, j] * x at (h*s - p + i*d, w*s - p + j*d)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    N, C, H, W = x.shape
    _, Cog, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dil
    OH = (H - 1) * sh - 2 * ph + dh * (kh - 1) + out_pad[0] + 1
    OW = (W - 1) * sw - 2 * pw + dw * (kw - 1) + out_pad[1] + 1
    FH, FW = max((H - 1) * sh + dh * (kh - 1) + 1, ph + OH), max((W - 1) * sw + dw * (kw - 1) + 1, pw + OW)
    full = np.zeros((N, Cog * groups, FH, FW))
    Cg = C // groups
    for g in range(groups):
        xg = x[:, g * Cg:(g + 1) * Cg]
        for i in range(kh):
            for j in range(kw):
                full[:, g * Cog:(g + 1) * Cog, i * dh: i * dh + sh * (H - 1) + 1: sh,
                     j * dw: j * dw + sw * (W - 1) + 1: sw] += np.einsum(
                         "nchw,co->nohw", xg, w[g * Cg:(g + 1) * Cg, :, i, j])
    y = full[:, :, ph:ph + OH, pw:pw + OW]
    if b is not None:
        y = y + np.asarray(b, np.float64)[None, :, None, None]
    return y


def tol(dtype):
    return (2e-5, 2e-5) if np.dtype(dtype) == np.float32 else (1e-11, 1e-11)


def close(a, e, dtype, scale=None):
    rt, at = tol(dtype)
    if isinstance(a, dlcore.Tensor):
        a = a.detach()
    assert_close(a, e, np.dtype(dtype).name, rtol=rt, atol=at, scale=scale)


# ---- conv2d forward vs NumPy ------------------------------------------------------------------------

CONFIGS = [  # N, C, H, W, K, (kh, kw), stride, padding, dilation, groups
    (2, 3, 9, 8, 4, (3, 3), 1, 1, 1, 1),
    (1, 1, 1, 1, 1, (1, 1), 1, 0, 1, 1),
    (3, 5, 7, 11, 7, (2, 3), (2, 1), (1, 0), 1, 1),
    (2, 6, 13, 7, 4, (3, 3), 2, 2, 2, 2),
    (2, 6, 10, 10, 9, (3, 1), 3, (0, 1), (1, 3), 3),
    (2, 4, 8, 9, 4, (3, 3), 1, 1, 1, 4),          # depthwise
    (2, 4, 8, 9, 8, (5, 3), 2, (2, 1), (1, 2), 4),  # depthwise, multiplier 2, strided, dilated
    (3, 6, 5, 7, 10, (1, 1), 1, 0, 1, 2),         # pointwise (no im2col)
    (2, 3, 5, 7, 4, (1, 1), 2, 1, 1, 1),          # 1x1 but strided / padded: im2col
    (45, 3, 12, 12, 5, (3, 3), 1, 0, 1, 1),       # several batch slices of many images
    (2, 2, 70, 66, 3, (3, 3), 1, 1, 1, 1),        # one image per slice (GEMM writes y)
    (1, 3, 4, 4, 2, (4, 4), 1, 0, 1, 1),          # kernel == input: 1x1 output
    (5, 4, 13, 11, 6, (3, 2), 1, 0, (2, 3), 2),   # stride 1, unpadded, narrow: wide grid
    (3, 2, 9, 28, 3, (5, 5), 1, 0, 1, 1),         # wide grid, LeNet-like rows
]


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_matches_numpy(cfg, dtype):
    N, C, H, W, K, ks, s, p, d, g = cfg
    x, w, b = rand((N, C, H, W), dtype), rand((K, C // g) + ks, dtype), rand((K,), dtype)
    y = F.conv2d(T(x), T(w), T(b), s, p, d, g)
    pp = (p, p) if isinstance(p, int) else p
    ss = (s, s) if isinstance(s, int) else s
    dd = (d, d) if isinstance(d, int) else d
    ref = ref_conv2d(x, w, b, ss, ((pp[0], pp[0]), (pp[1], pp[1])), dd, g)
    close(y, ref, dtype)


@pytest.mark.parametrize("ks,dil", [((4, 4), (1, 1)), ((2, 3), (1, 1)), ((4, 2), (3, 2)),
                                    ((3, 3), (2, 1))])
def test_conv2d_padding_same_valid(ks, dil):
    x, w, b = rand((2, 3, 11, 7)), rand((5, 3) + ks), rand((5,))
    y = F.conv2d(T(x), T(w), T(b), padding="same", dilation=dil)
    tot = [d * (k - 1) for d, k in zip(dil, ks)]
    pad = tuple((t // 2, t - t // 2) for t in tot)        # the extra one at the bottom / right
    close(y, ref_conv2d(x, w, b, pad=pad, dil=dil), np.float64)
    assert tuple(y.shape) == (2, 5, 11, 7)
    yv = F.conv2d(T(x), T(w), T(b), padding="valid", dilation=dil)
    close(yv, ref_conv2d(x, w, b, dil=dil), np.float64)


def test_conv2d_unbatched_and_no_bias():
    x, w = rand((3, 6, 5)), rand((2, 3, 3, 2))
    y = F.conv2d(T(x), T(w), padding=(1, 0))
    assert tuple(y.shape) == (2, 6, 4)
    close(y, ref_conv2d(x[None], w, pad=((1, 1), (0, 0)))[0], np.float64)


def test_conv2d_noncontiguous_input():
    x, w = rand((2, 3, 6, 8)), rand((4, 3, 3, 3))
    xt = T(x).transpose(2, 3)                    # (2, 3, 8, 6), a strided view
    y = F.conv2d(xt, T(w), padding=1)
    close(y, ref_conv2d(x.transpose(0, 1, 3, 2), w, pad=((1, 1), (1, 1))), np.float64)


def test_conv1d_matches_numpy():
    for (N, C, L, K, k, s, p, d, g) in [(2, 3, 11, 4, 3, 1, 1, 1, 1), (3, 4, 17, 6, 5, 2, 3, 2, 2),
                                        (2, 5, 9, 5, 3, 1, 0, 1, 5), (1, 2, 7, 3, 1, 1, 0, 1, 1)]:
        x, w, b = rand((N, C, L)), rand((K, C // g, k)), rand((K,))
        y = F.conv1d(T(x), T(w), T(b), s, p, d, g)
        ref = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, s), ((0, 0), (p, p)), (1, d), g)[:, :, 0]
        close(y, ref, np.float64)
    x, w = rand((3, 10)), rand((2, 3, 4))
    y = F.conv1d(T(x), T(w), padding="same")
    ref = ref_conv2d(x[None, :, None], w[:, :, None], pad=((0, 0), (1, 2)))[0, :, 0]
    close(y, ref, np.float64)


CT_CONFIGS = [  # N, Cin, H, W, Cout, (kh, kw), stride, padding, output_padding, dilation, groups
    (2, 3, 5, 4, 4, (3, 3), 1, 0, 0, 1, 1),
    (2, 4, 5, 6, 6, (3, 2), 2, 1, 1, 1, 2),
    (1, 3, 4, 7, 5, (4, 4), (2, 3), (1, 2), (1, 0), 1, 1),
    (3, 6, 3, 3, 3, (3, 3), 2, 0, 1, 2, 3),
    (2, 2, 6, 5, 2, (2, 2), 1, 1, 1, 2, 2),        # output_padding < dilation
    (2, 4, 7, 7, 8, (1, 1), 1, 0, 0, 1, 1),
]


@pytest.mark.parametrize("cfg", CT_CONFIGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_transpose2d_matches_numpy(cfg, dtype):
    N, C, H, W, Co, ks, s, p, op, d, g = cfg
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    x, w, b = rand((N, C, H, W), dtype), rand((C, Co // g) + ks, dtype), rand((Co,), dtype)
    y = F.conv_transpose2d(T(x), T(w), T(b), s, p, op, g, d)
    close(y, ref_conv_transpose2d(x, w, b, pair(s), pair(p), pair(op), pair(d), g), dtype)


def test_conv_transpose2d_is_adjoint_of_conv2d():
    # <conv2d(x), y> == <x, conv_transpose2d(y)> for the same weight and geometry.
    x, w = rand((2, 4, 9, 8)), rand((6, 2, 3, 3))
    y = rand((2, 6, 5, 4))
    cx = npa(F.conv2d(T(x), T(w), stride=2, padding=1, groups=2))
    ty = npa(F.conv_transpose2d(T(y), T(w), stride=2, padding=1, output_padding=(0, 1), groups=2))
    assert cx.shape == y.shape and ty.shape == x.shape
    assert abs(np.sum(cx * y) - np.sum(x * ty)) < 1e-10 * np.sum(np.abs(cx * y))


# ---- against torch (hypothesis) ---------------------------------------------------------------------

def _torch_compare(torch, dtype, N, C, H, W, K, kh, kw, s, p, d, g, relu=False):
    TF = torch.nn.functional
    x, w, b = rand((N, C, H, W), dtype), rand((K, C // g, kh, kw), dtype), rand((K,), dtype)
    X, Wt, B = (T(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(X, Wt, B, s, p, d, g, activation="relu" if relu else None)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = TF.conv2d(tx, tw, tb, s, p, d, g)
    if relu:
        yt = TF.relu(yt)
    gy = rand(tuple(yt.shape), dtype)
    y.backward(T(gy))
    yt.backward(torch.tensor(gy))
    k = C // g * kh * kw
    close(y, yt.detach().numpy(), dtype, scale=math.sqrt(k) * 2)
    close(X.grad, tx.grad.numpy(), dtype, scale=math.sqrt(K * kh * kw) * 2)
    close(Wt.grad, tw.grad.numpy(), dtype, scale=math.sqrt(max(N * y.shape[2] * y.shape[3], 1)) * 2)
    close(B.grad, tb.grad.numpy(), dtype, scale=math.sqrt(max(N * y.shape[2] * y.shape[3], 1)) * 2)


def test_conv2d_random_vs_torch():
    torch = pytest.importorskip("torch")
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hyp.settings(max_examples=60)
    @hyp.given(st.data())
    def check(data):
        g = data.draw(st.sampled_from([1, 1, 2, 3]))
        depthwise = data.draw(st.booleans())
        cg = 1 if depthwise else data.draw(st.sampled_from([1, 2, 3, 5]))
        C = cg * g if not depthwise else data.draw(st.sampled_from([1, 2, 3, 7]))
        if depthwise:
            g = C
        K = g * data.draw(st.sampled_from([1, 2, 3]))
        N = data.draw(st.sampled_from([0, 1, 2, 3, 5]))
        kh, kw = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
        sh, sw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
        dh, dw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
        ph, pw = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
        H = data.draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 13))
        W = data.draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 13))
        dtype = data.draw(st.sampled_from([np.float32, np.float64]))
        relu = data.draw(st.booleans())
        _torch_compare(torch, dtype, N, C, H, W, K, kh, kw, (sh, sw), (ph, pw), (dh, dw), g, relu)

    check()


def test_conv_transpose2d_random_vs_torch():
    torch = pytest.importorskip("torch")
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    TF = torch.nn.functional

    @hyp.settings(max_examples=30)
    @hyp.given(st.data())
    def check(data):
        g = data.draw(st.sampled_from([1, 1, 2, 3]))
        C = g * data.draw(st.sampled_from([1, 2, 3]))
        Co = g * data.draw(st.sampled_from([1, 2, 5]))
        N = data.draw(st.sampled_from([0, 1, 2, 3]))
        kh, kw = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
        s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
        d = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
        op = tuple(data.draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
        H, W = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))
        full = [(n - 1) * si + di * (k - 1) + 1 + o for n, si, di, k, o in zip((H, W), s, d, (kh, kw), op)]
        p = tuple(data.draw(st.integers(0, max(0, (f - 1) // 2))) for f in full)
        dtype = data.draw(st.sampled_from([np.float32, np.float64]))
        x, w, b = rand((N, C, H, W), dtype), rand((C, Co // g, kh, kw), dtype), rand((Co,), dtype)
        X, Wt, B = (T(a, requires_grad=True) for a in (x, w, b))
        y = F.conv_transpose2d(X, Wt, B, s, p, op, g, d)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        yt = TF.conv_transpose2d(tx, tw, tb, s, p, op, g, d)
        gy = rand(tuple(yt.shape), dtype)
        y.backward(T(gy))
        yt.backward(torch.tensor(gy))
        sc = 2 * math.sqrt(C * kh * kw)
        close(y, yt.detach().numpy(), dtype, scale=sc)
        close(X.grad, tx.grad.numpy(), dtype, scale=sc)
        close(Wt.grad, tw.grad.numpy(), dtype, scale=2 * math.sqrt(max(N * H * W, 1)))
        close(B.grad, tb.grad.numpy(), dtype, scale=2 * math.sqrt(max(y.numel(), 1)))

    check()


@pytest.mark.parametrize("shape", [(4, 1, 28, 28, 6, 5, 1, 0), (4, 6, 14, 14, 16, 5, 1, 0),
                                   (2, 3, 30, 30, 8, 7, 2, 3), (3, 16, 8, 8, 16, 3, 1, 1)])
def test_conv2d_benchmark_shapes_vs_torch(shape):
    torch = pytest.importorskip("torch")
    N, C, H, W, K, k, s, p = shape
    _torch_compare(torch, np.float32, N, C, H, W, K, k, k, s, p, 1, 1)


# ---- gradients ------------------------------------------------------------------------------------

def D(shape):
    return T(rand(shape), dlcore.float64, requires_grad=True)


@pytest.mark.parametrize("cfg", [
    ((2, 4, 6, 5), (6, 2, 3, 2), dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)),
    ((1, 3, 5, 5), (4, 3, 2, 2), dict(padding="same")),
    ((2, 3, 5, 6), (6, 1, 3, 3), dict(stride=2, padding=1, groups=3)),       # depthwise x2
    ((2, 4, 4, 3), (2, 4, 1, 1), dict()),                                    # pointwise
    ((3, 2, 4, 4), (3, 2, 3, 3), dict(padding=1, dilation=2)),
])
def test_conv2d_gradcheck(cfg):
    xs, ws, kw = cfg
    x, w, b = D(xs), D(ws), D((ws[0],))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))


def test_conv2d_relu_gradcheck():
    x, w, b = D((2, 3, 5, 5)), D((4, 3, 3, 3)), D((4,))
    with dlcore.no_grad():               # keep the pre-activations away from the kink
        pre = F.conv2d(x, w, b, padding=1)
    assert np.min(np.abs(npa(pre))) > 1e-4
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1, activation="relu"), (x, w, b))


def test_conv1d_gradcheck():
    x, w, b = D((2, 4, 9)), D((6, 2, 3)), D((6,))
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=2, dilation=2, groups=2),
                     (x, w, b))


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(1, 2), padding=(0, 1), dilation=2, groups=2),
                                dict(stride=3, output_padding=(2, 0))])
def test_conv_transpose2d_gradcheck(kw):
    g = kw.get("groups", 1)
    x, w, b = D((2, 4, 3, 4)), D((4, 6 // g, 3, 2)), D((6,))
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), (x, w, b))


def test_conv2d_relu_matches_relu_of_conv():
    x, w, b = rand((3, 4, 7, 6), np.float32), rand((5, 4, 3, 3), np.float32), rand((5,), np.float32)
    X1, X2 = T(x, requires_grad=True), T(x, requires_grad=True)
    W1, W2 = T(w, requires_grad=True), T(w, requires_grad=True)
    y1 = F.conv2d(X1, W1, T(b), padding=1, activation="relu")
    y2 = F.relu(F.conv2d(X2, W2, T(b), padding=1))
    np.testing.assert_array_equal(npa(y1), npa(y2))
    assert np.min(npa(y1)) == 0.0
    gy = rand(y1.shape, np.float32)
    y1.backward(T(gy))
    y2.backward(T(gy))
    close(X1.grad, npa(X2.grad), np.float32, scale=10)
    close(W1.grad, npa(W2.grad), np.float32, scale=10)


def test_weight_grad_accumulates_over_slices():
    # 45 images of 10x10 outputs: the batch runs in several slices whose weight-gradient GEMMs
    # accumulate (beta = 1); compare with per-image sums of the reference.
    x, w = rand((45, 3, 12, 12)), rand((5, 3, 3, 3))
    X, Wt, B = T(x, requires_grad=True), T(w, requires_grad=True), T(rand((5,)), requires_grad=True)
    gy = rand((45, 5, 10, 10))
    F.conv2d(X, Wt, B).backward(T(gy))
    dw = np.zeros_like(w)
    for i in range(3):
        for j in range(3):
            dw[:, :, i, j] = np.einsum("nkhw,nchw->kc", gy, x[:, :, i:i + 10, j:j + 10])
    close(Wt.grad, dw, np.float64, scale=50)
    close(B.grad, gy.sum(axis=(0, 2, 3)), np.float64, scale=50)
    dx = np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            dx[:, :, i:i + 10, j:j + 10] += np.einsum("nkhw,kc->nchw", gy, w[:, :, i, j])
    close(X.grad, dx, np.float64, scale=10)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_large_batch_threads_and_slices(threads):
    # Big enough for the image-parallel path (each thread several slices of several images,
    # the last slice short) and for the slice-by-slice path with one thread; both against
    # torch in float64 (or the NumPy reference), forward and all three gradients.
    torch = pytest.importorskip("torch")
    old = dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    try:
        for (N, C, H, K, g, p, d) in [(31, 32, 16, 8, 1, 1, 1), (7, 12, 20, 6, 3, 1, 1),
                                      (33, 6, 14, 16, 1, 0, 1), (9, 8, 17, 6, 2, 0, (2, 1))]:
            x, w, b = rand((N, C, H, H)), rand((K, C // g, 3, 3)), rand((K,))
            X, Wt, B = (T(a, requires_grad=True) for a in (x, w, b))
            y = F.conv2d(X, Wt, B, padding=p, dilation=d, groups=g, activation="relu")
            tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
            yt = torch.relu(torch.nn.functional.conv2d(tx, tw, tb, padding=p, dilation=d,
                                                       groups=g))
            gy = rand(tuple(yt.shape))
            y.backward(T(gy))
            yt.backward(torch.tensor(gy))
            for a, e in ((y, yt), (X.grad, tx.grad), (Wt.grad, tw.grad), (B.grad, tb.grad)):
                close(a, e.detach().numpy(), np.float64, scale=100)
    finally:
        dlcore.set_num_threads(old)


# ---- direct kernels for few channels (conv_direct.cpp) -------------------------------------------

def ref_conv2d_grads(x, w, gy, stride, pad, dil):
    """float64 input and weight gradients of a groups-1 convolution, by taps (the adjoint of
    ref_conv2d). pad = ((top, bottom), (left, right))."""
    N, C, H, W = x.shape
    K, _, kh, kw = w.shape
    (pt, pb), (pl, pr) = pad
    (sh, sw), (dh, dw) = stride, dil
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    OH, OW = gy.shape[2:]
    gw = np.zeros(w.shape)
    gxp = np.zeros(xp.shape)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (OH - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (OW - 1) + 1, sw)
            gw[:, :, i, j] = np.einsum("nkhw,nchw->kc", gy, xp[:, :, rows, cols])
            gxp[:, :, rows, cols] += np.einsum("nkhw,kc->nchw", gy, w[:, :, i, j])
    return gxp[:, :, pt:pt + H, pl:pl + W], gw


# Channel counts that fill the 8- / 16- / 32-lane tiles (K 6..8, 12..16, 23..32, wider ones
# in blocks; C likewise for the input gradient at stride 1), kernels 1..7, strides, paddings
# (incl. 'same' with an even kernel, padding past the kernel), dilations, batch 1 and primes.
DIRECT_CASES = [  # N, C, H, W, K, (kh, kw), stride, padding, dilation
    (3, 6, 14, 14, 16, (5, 5), 1, 0, 1),            # LeNet conv2
    (2, 1, 28, 28, 6, (5, 5), 1, 0, 1),             # LeNet conv1
    (1, 13, 9, 11, 13, (3, 3), 1, 1, 1),            # primes, padded
    (2, 3, 23, 19, 29, (7, 7), 2, 3, 1),            # 7x7/2 stem-like, 29 channels
    (2, 7, 10, 13, 7, (1, 1), 2, 0, 1),             # strided 1x1
    (3, 8, 9, 8, 8, (4, 4), 1, "same", 1),          # even kernel, asymmetric padding
    (2, 12, 7, 9, 14, (2, 3), 1, (2, 3), 1),        # padding past the kernel (cropped grad)
    (2, 6, 12, 12, 12, (3, 2), (1, 2), 1, (2, 1)),  # dilated rows, strided columns
    (2, 16, 11, 12, 16, (3, 3), 1, 1, (1, 2)),      # dilated columns: GEMM weight gradient
    (1, 31, 8, 8, 32, (6, 6), 1, 2, 1),             # kernel 6, two 16-lane vectors
    (2, 5, 6, 6, 15, (3, 3), 3, 1, 1),              # stride 3
    (2, 45, 6, 7, 48, (3, 3), 1, 1, 1),             # several channel blocks (32 / 16 wide)
    (1, 3, 17, 15, 64, (7, 7), 2, 3, 1),            # 7x7/2 stem, 64 channels
    # input gradient along the width (LeNet conv2, 31 and 45 channels above take it too)
    (2, 5, 9, 27, 7, (3, 4), 1, (1, 2), (2, 2)),    # two 16-lane column vectors, dilated
    (2, 3, 8, 13, 9, (2, 3), 1, (2, 3), 1),         # AVX2 two 8-lane vectors; cropped grad
    (1, 9, 5, 12, 4, (3, 1), 1, (1, 0), (2, 1)),    # channel blocks 5 + 4, dilated rows
]


@pytest.mark.parametrize("path", [None, "avx2", "generic"])
@pytest.mark.parametrize("cfg", DIRECT_CASES)
def test_conv2d_direct_kernels(cfg, path, monkeypatch):
    # float32 forward (bias, ReLU) and all three gradients against float64 references on each
    # CPU path (DLCORE_CPU_PATH is read at every call: unset = AVX-512 where present). Winograd
    # off: it would take the wide 3x3 stride-1 cases (45 -> 48 channels) from these kernels.
    monkeypatch.setenv("DLCORE_CONV_WINOGRAD", "0")
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    N, C, H, W, K, (kh, kw), stride, padding, dil = cfg
    x, w, b = rand((N, C, H, W)), rand((K, C, kh, kw)), rand((K,))
    X, Wt, B = (T(a, dlcore.float32, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(X, Wt, B, stride=stride, padding=padding, dilation=dil)
    s2 = (stride, stride) if isinstance(stride, int) else stride
    d2 = (dil, dil) if isinstance(dil, int) else dil
    if padding == "same":
        tot = [d * (k - 1) for d, k in zip(d2, (kh, kw))]
        pad = tuple((t // 2, t - t // 2) for t in tot)
    else:
        p2 = (padding, padding) if isinstance(padding, int) else padding
        pad = ((p2[0], p2[0]), (p2[1], p2[1]))
    ref = ref_conv2d(x, w, b, s2, pad, d2)
    close(y, ref, np.float32, scale=10)
    gy = rand(ref.shape)
    y.backward(T(gy, dlcore.float32))
    gx, gw = ref_conv2d_grads(x, w, gy, s2, pad, d2)
    close(X.grad, gx, np.float32, scale=30)
    close(Wt.grad, gw, np.float32, scale=100)
    close(B.grad, gy.sum(axis=(0, 2, 3)), np.float32, scale=100)
    yr = F.conv2d(X, Wt, B, stride=stride, padding=padding, dilation=dil, activation="relu")
    close(yr, np.maximum(ref, 0), np.float32, scale=10)


@pytest.mark.parametrize("threads", [2, 3])
def test_conv2d_direct_kernels_threads(threads):
    # Enough work for the image-parallel split (per-thread weight-gradient sums added in
    # thread order); the batch does not divide evenly over 3 threads.
    old = dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    try:
        x, w, b = rand((10, 16, 20, 20)), rand((16, 16, 3, 3)), rand((16,))
        X, Wt, B = (T(a, dlcore.float32, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(X, Wt, B, padding=1)
        pad = ((1, 1), (1, 1))
        ref = ref_conv2d(x, w, b, (1, 1), pad, (1, 1))
        close(y, ref, np.float32, scale=10)
        gy = rand(ref.shape)
        y.backward(T(gy, dlcore.float32))
        gx, gw = ref_conv2d_grads(x, w, gy, (1, 1), pad, (1, 1))
        close(X.grad, gx, np.float32, scale=30)
        close(Wt.grad, gw, np.float32, scale=300)
    finally:
        dlcore.set_num_threads(old)


# ---- Winograd F(2x2, 3x3) for wide 3x3 stride-1 layers (conv_winograd.cpp) --------------------

# >= 32 channels in and out; odd / prime / tiny maps (partial 2x2 tiles, one tile, OW = 1),
# paddings 0..3 (the input gradient then pads by 2 - p: negative crops), 'same', asymmetric
# sizes, batches whose slices split images (30 x 30: 225 tiles) or hold several (3 x 3 maps).
WINOGRAD_CASES = [  # N, C, H, W, K, padding
    (2, 64, 8, 8, 64, 1),
    (3, 67, 7, 9, 65, 1),
    (1, 64, 5, 6, 71, 0),
    (2, 64, 6, 5, 64, 2),
    (1, 65, 4, 4, 64, 3),
    (2, 64, 1, 1, 64, 1),
    (5, 64, 3, 3, 66, 1),
    (1, 64, 30, 30, 64, (1, 0)),
    (2, 64, 13, 1, 64, "same"),
    (2, 32, 7, 6, 45, 1),
    (1, 37, 5, 9, 32, 0),
]


def _winograd_case(cfg, relu):
    N, C, H, W, K, padding = cfg
    x, w, b = rand((N, C, H, W)), rand((K, C, 3, 3)) * 0.2, rand((K,))
    X, Wt, B = (T(a, dlcore.float32, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(X, Wt, B, padding=padding, activation="relu" if relu else None)
    p2 = (1, 1) if padding == "same" else ((padding, padding) if isinstance(padding, int) else padding)
    pad = ((p2[0], p2[0]), (p2[1], p2[1]))
    ref = ref_conv2d(x, w, b, (1, 1), pad, (1, 1))
    gy = rand(ref.shape)
    if relu:
        ref = np.maximum(ref, 0)
    close(y, ref, np.float32, scale=10)
    y.backward(T(gy, dlcore.float32))
    if relu:
        gy = gy * (ref > 0)
    gx, gw = ref_conv2d_grads(x, w, gy, (1, 1), pad, (1, 1))
    close(X.grad, gx, np.float32, scale=30)
    close(Wt.grad, gw, np.float32, scale=100)
    close(B.grad, gy.sum(axis=(0, 2, 3)), np.float32, scale=100)


@pytest.mark.parametrize("path", [None, "avx2", "generic"])
@pytest.mark.parametrize("cfg", WINOGRAD_CASES)
def test_conv2d_winograd(cfg, path, monkeypatch):
    # Forward (bias, ReLU) and the three gradients of the Winograd path against float64
    # references on each CPU path (its transforms have a portable and an AVX2 build).
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    _winograd_case(cfg, relu=cfg[0] % 2 == 1)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_conv2d_winograd_threads(threads):
    # The tile rows split over the threads (inside one image for N = 1; 3 threads over 2
    # images), per-thread weight-gradient sums added in thread order: the same results as
    # with Winograd turned off, within float32 rounding, and reproducible run to run.
    old = dlcore.get_num_threads()
    dlcore.set_num_threads(threads)
    try:
        for cfg in [(1, 64, 20, 18, 64, 1), (2, 64, 12, 12, 72, 1)]:
            _winograd_case(cfg, relu=False)
        x, w, gy = rand((2, 64, 12, 12)), rand((64, 64, 3, 3)) * 0.2, rand((2, 64, 12, 12))
        grads = []
        for _ in range(2):
            X, Wt = T(x, dlcore.float32, requires_grad=True), T(w, dlcore.float32, requires_grad=True)
            F.conv2d(X, Wt, padding=1).backward(T(gy, dlcore.float32))
            grads.append((npa(X.grad), npa(Wt.grad)))
        np.testing.assert_array_equal(grads[0][0], grads[1][0])
        np.testing.assert_array_equal(grads[0][1], grads[1][1])
    finally:
        dlcore.set_num_threads(old)


def test_conv2d_winograd_matches_other_paths(monkeypatch):
    # DLCORE_CONV_WINOGRAD=0 (read at every call) runs the same layer on the direct / GEMM
    # kernels: both agree within float32 rounding of the same sums.
    x, w, b = (rand(s).astype(np.float32) for s in ((2, 64, 9, 10), (64, 64, 3, 3), (64,)))
    gy = rand((2, 64, 9, 10)).astype(np.float32)
    out = {}
    for flag in ("1", "0"):
        monkeypatch.setenv("DLCORE_CONV_WINOGRAD", flag)
        X, Wt, B = (T(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(X, Wt, B, padding=1)
        y.backward(T(gy))
        out[flag] = [npa(y), npa(X.grad), npa(Wt.grad)]
    for a, e in zip(out["1"], out["0"]):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


def test_empty_batch():
    x = T(np.zeros((0, 3, 6, 6)), requires_grad=True)
    w, b = T(rand((4, 3, 3, 3)), requires_grad=True), T(rand((4,)), requires_grad=True)
    y = F.conv2d(x, w, b, padding=1)
    assert tuple(y.shape) == (0, 4, 6, 6)
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 6, 6)
    np.testing.assert_array_equal(npa(w.grad), 0)
    np.testing.assert_array_equal(npa(b.grad), 0)
    yt = F.conv_transpose2d(T(np.zeros((0, 4, 3, 3))), T(rand((4, 2, 3, 3))), stride=2)
    assert tuple(yt.shape) == (0, 2, 7, 7)
    assert tuple(F.conv1d(T(np.zeros((0, 2, 5))), T(rand((3, 2, 2)))).shape) == (0, 3, 4)


# ---- modules ------------------------------------------------------------------------------------

MODULE_CASES = [
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, groups=2), (3, 4, 11)),
    ("Conv2d", (3, 8, 3), dict(padding=1), (2, 3, 9, 9)),
    ("Conv2d", (4, 4, (3, 5)), dict(stride=(2, 1), padding=(1, 2),
                                     dilation=(1, 2), groups=4, bias=False), (2, 4, 8, 10)),
    ("Conv2d", (3, 5, 4), dict(padding="same"), (2, 3, 7, 6)),
    ("ConvTranspose2d", (6, 4, 3), dict(stride=2, padding=1, output_padding=1, groups=2),
     (2, 6, 5, 4)),
    ("ConvTranspose2d", (3, 2, (2, 3)), dict(dilation=2, bias=False), (1, 3, 4, 4)),
]


@pytest.mark.parametrize("name,args,kwargs,xshape", MODULE_CASES)
def test_module_state_dict_round_trip_with_torch(name, args, kwargs, xshape):
    torch = pytest.importorskip("torch")
    tm = getattr(torch.nn, name)(*args, **kwargs).double()
    dm = getattr(nn, name)(*args, **kwargs, dtype=dlcore.float64)
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert set(sd) == set(dm.state_dict())
    dm.load_state_dict(sd)
    x = rand(xshape)
    close(dm(T(x)), tm(torch.tensor(x)).detach().numpy(), np.float64)
    assert repr(dm) == repr(tm)
    # and back: dlcore's state_dict loads into torch
    tm2 = getattr(torch.nn, name)(*args, **kwargs).double()
    tm2.load_state_dict({k: torch.tensor(npa(v)) for k, v in dm.state_dict().items()})
    close(tm2(torch.tensor(x)).detach().numpy(), npa(dm(T(x))), np.float64)


def test_module_default_init_and_params():
    dlcore.manual_seed(0)
    m = nn.Conv2d(16, 32, 3)
    fan_in = 16 * 9
    bound = 1 / math.sqrt(fan_in)
    w, b = npa(m.weight), npa(m.bias)
    assert w.shape == (32, 16, 3, 3) and b.shape == (32,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.abs(b).max() <= bound
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    t = nn.ConvTranspose2d(8, 6, 3, groups=2)
    assert tuple(t.weight.shape) == (8, 3, 3, 3)
    assert np.abs(npa(t.weight)).max() <= 1 / math.sqrt(27)
    assert nn.Conv1d(2, 3, 4, bias=False).bias is None
    assert tuple(nn.Conv1d(2, 3, 4).weight.shape) == (3, 2, 4)


def test_conv_transpose2d_module_output_size():
    torch = pytest.importorskip("torch")
    tm = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    dm = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=dlcore.float64)
    dm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = rand((1, 3, 4, 4))
    y = dm(T(x), output_size=(8, 8))
    assert tuple(y.shape) == (1, 2, 8, 8)
    close(y, tm(torch.tensor(x), output_size=[8, 8]).detach().numpy(), np.float64)
    with pytest.raises(ValueError):
        dm(T(x), output_size=(10, 10))


def test_module_trains():
    dlcore.manual_seed(1)
    m = nn.Conv2d(2, 3, 3, padding=1)
    x = T(rand((4, 2, 6, 6), np.float32))
    y = m(x)
    y.sum().backward()
    assert tuple(m.weight.grad.shape) == (3, 2, 3, 3)
    close(m.bias.grad, np.full(3, 4 * 36.0), np.float32)


# ---- bad input ----------------------------------------------------------------------------------

def test_errors():
    x, w = T(rand((2, 3, 5, 5))), T(rand((4, 3, 3, 3)))
    with pytest.raises(ValueError) as e:                # kernel larger than padded input
        F.conv2d(T(rand((1, 3, 2, 2))), w)
    assert_names_op(e, "conv2d")
    assert_names_shapes(e, (1, 3, 2, 2), (4, 3, 3, 3))
    with pytest.raises(ValueError) as e:                # weight does not fit
        F.conv2d(x, T(rand((4, 2, 3, 3))))
    assert_names_shapes(e, (2, 3, 5, 5), (4, 2, 3, 3))
    with pytest.raises(ValueError):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ValueError):
        F.conv2d(x, w, stride=(1, -1))
    with pytest.raises(ValueError):
        F.conv2d(x, w, dilation=0)
    with pytest.raises(ValueError):
        F.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError):
        F.conv2d(x, w, padding="full")
    with pytest.raises(ValueError):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError):                     # groups do not divide channels
        F.conv2d(x, T(rand((4, 1, 3, 3))), groups=2)
    with pytest.raises(ValueError):
        F.conv2d(T(rand((2, 4, 5, 5))), T(rand((3, 2, 3, 3))), groups=2)
    with pytest.raises(ValueError):
        F.conv2d(x, w, groups=0)
    with pytest.raises(ValueError) as e:                # wrong rank
        F.conv2d(T(rand((5, 5))), w)
    assert_names_shapes(e, (5, 5))
    with pytest.raises(ValueError):
        F.conv2d(x, T(rand((4, 3, 3))))
    with pytest.raises(ValueError):
        F.conv2d(x, w, T(rand((3,))))
    with pytest.raises(ValueError):
        F.conv2d(x, w, activation="tanh")
    with pytest.raises(TypeError):                      # mixed dtypes
        F.conv2d(x, T(rand((4, 3, 3, 3)), dlcore.float32))
    with pytest.raises(TypeError):
        F.conv2d(x, w, T(rand((4,)), dlcore.float32))
    with pytest.raises(TypeError):
        F.conv2d(T(np.ones((1, 3, 5, 5), np.int64)), w)
    with pytest.raises(TypeError):
        F.conv2d(np.ones((1, 3, 5, 5)), w)
    with pytest.raises(ValueError) as e:                # empty output (stride past the end)
        F.conv1d(T(rand((1, 2, 3))), T(rand((1, 2, 4))))
    assert_names_op(e, "conv1d")
    with pytest.raises(ValueError):
        F.conv1d(T(rand((1, 2, 3, 3))), T(rand((1, 2, 2))))


def test_transpose_and_module_errors():
    x = T(rand((1, 4, 3, 3)))
    with pytest.raises(ValueError):                     # output_padding >= stride and dilation
        F.conv_transpose2d(x, T(rand((4, 2, 3, 3))), stride=2, output_padding=2)
    with pytest.raises(ValueError) as e:
        F.conv_transpose2d(x, T(rand((3, 2, 3, 3))))
    assert_names_shapes(e, (1, 4, 3, 3), (3, 2, 3, 3))
    with pytest.raises(ValueError):                     # empty output
        F.conv_transpose2d(T(rand((1, 4, 1, 1))), T(rand((4, 2, 1, 1))), padding=1)
    with pytest.raises(ValueError):
        F.conv_transpose2d(x, T(rand((4, 2, 3, 3))), groups=3)
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError):
        nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 0)


# ---- CUDA ---------------------------------------------------------------------------------------

CUDA_CASES = [
    (2, 3, 9, 8, 4, (3, 3), 1, 1, 1, 1),
    (45, 3, 12, 12, 5, (3, 3), 1, 0, 1, 1),
    (2, 6, 13, 7, 4, (3, 3), 2, 2, 2, 2),
    (2, 4, 8, 9, 8, (5, 3), 2, (2, 1), (1, 2), 4),
    (3, 6, 5, 7, 10, (1, 1), 1, 0, 1, 2),
    (0, 3, 5, 5, 2, (3, 3), 1, 1, 1, 1),
    (70, 2, 28, 28, 3, (5, 5), 1, 2, 1, 1),   # bias gradient split over images (3 uneven parts)
    (40, 3, 3, 3, 5, (3, 3), 1, 0, 1, 1),     # 1x1 output: the bias gradient's threads all along n
]


@requires_cuda
@pytest.mark.parametrize("cfg", CUDA_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_cuda_matches_cpu(cfg, dtype):
    N, C, H, W, K, ks, s, p, d, g = cfg
    x, w, b = rand((N, C, H, W), dtype), rand((K, C // g) + ks, dtype), rand((K,), dtype)
    outs = {}
    for dev in ("cpu", "cuda"):
        X, Wt, B = (T(a, requires_grad=True, device=dev) for a in (x, w, b))
        y = F.conv2d(X, Wt, B, s, p, d, g, activation="relu")
        gy = np.cos(np.arange(y.numel())).reshape(y.shape).astype(dtype)
        y.backward(T(gy, device=dev))
        outs[dev] = [npa(t) for t in (y, X.grad, Wt.grad, B.grad)]
    for a, e in zip(outs["cuda"], outs["cpu"]):
        close(a, e, dtype, scale=10)


@requires_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_transpose2d_cuda_matches_cpu(dtype):
    x, w, b = rand((3, 4, 5, 6), dtype), rand((4, 3, 3, 3), dtype), rand((6,), dtype)
    outs = {}
    for dev in ("cpu", "cuda"):
        X, Wt, B = (T(a, requires_grad=True, device=dev) for a in (x, w, b))
        y = F.conv_transpose2d(X, Wt, B, stride=2, padding=1, output_padding=1, groups=2)
        gy = np.sin(np.arange(y.numel())).reshape(y.shape).astype(dtype)
        y.backward(T(gy, device=dev))
        outs[dev] = [npa(t) for t in (y, X.grad, Wt.grad, B.grad)]
    for a, e in zip(outs["cuda"], outs["cpu"]):
        close(a, e, dtype, scale=10)


@requires_cuda
def test_conv_modules_on_cuda():
    m = nn.Conv2d(3, 4, 3, padding=1).to("cuda")
    y = m(dlcore.randn(2, 3, 8, 8, device="cuda"))
    assert y.is_cuda and tuple(y.shape) == (2, 4, 8, 8)
    with pytest.raises(RuntimeError):
        F.conv2d(dlcore.randn(1, 3, 5, 5), m.weight)

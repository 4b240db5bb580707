# CPU / CUDA agreement of the tensor-API kernels (gather, scatter, scatter_add, sort, topk,
# scans, layer norm forward and backward). Skipped, with the reason, where no GPU is present.
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from conftest import assert_close, requires_cuda

pytestmark = requires_cuda


def _both(a):
    return dlcore.tensor(a), dlcore.tensor(a, device="cuda")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gather_scatter_agree(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 33, 5)).astype(dtype)
    idx = rng.integers(0, 33, size=(7, 40, 5))
    src = rng.standard_normal((7, 40, 5)).astype(dtype)
    xc, xg = _both(x)
    ic, ig = _both(idx)
    sc, sg = _both(src)
    assert_close(dlcore.gather(xg, 1, ig).cpu(), np.asarray(dlcore.gather(xc, 1, ic)), dtype)
    assert_close(xg.clone().scatter_add_(1, ig, sg).cpu(), np.asarray(xc.clone().scatter_add_(1, ic, sc)),
                 dtype, atol=1e-5)
    uniq = np.argsort(rng.random((7, 33, 5)), axis=1)[:, :20]
    uc, ug = _both(uniq)
    assert_close(xg.clone().scatter_(1, ug, sg[:, :20]).cpu(),
                 np.asarray(xc.clone().scatter_(1, uc, sc[:, :20])), dtype)
    with pytest.raises(IndexError, match="gather"):
        dlcore.gather(xg, 1, ig + 40)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_sort_topk_agree(dtype):
    rng = np.random.default_rng(1)
    for shape in [(1,), (5, 1000), (3, 2049), (2, 70000)]:
        x = (rng.standard_normal(shape) * 4).astype(dtype)
        if dtype != "int64":
            x.reshape(-1)[::11] = np.nan
        xc, xg = _both(x)
        for desc in (False, True):
            vc, ic = dlcore.sort(xc, descending=desc)
            vg, ig = dlcore.sort(xg, descending=desc)
            np.testing.assert_array_equal(np.asarray(vg.cpu()), np.asarray(vc))
            np.testing.assert_array_equal(np.asarray(ig.cpu()), np.asarray(ic))
        k = min(10, shape[-1])
        for largest in (False, True):
            np.testing.assert_array_equal(np.asarray(dlcore.topk(xg, k, largest=largest).indices.cpu()),
                                          np.asarray(dlcore.topk(xc, k, largest=largest).indices))


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_scans_agree(dim):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(4, 300, 9))
    xc, xg = _both(x)
    for fn in (dlcore.cumsum, dlcore.cumprod, dlcore.logcumsumexp):
        assert_close(fn(xg, dim).cpu(), np.asarray(fn(xc, dim)), "float64", atol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_norm_agrees(dtype):
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((37, 1031)).astype(dtype), rng.standard_normal((37, 1031)).astype(dtype)
    w, b = rng.standard_normal(1031).astype(dtype), rng.standard_normal(1031).astype(dtype)
    outs = []
    for dev in ("cpu", "cuda"):
        xt = dlcore.tensor(x, device=dev).requires_grad_()
        wt = dlcore.tensor(w, device=dev).requires_grad_()
        bt = dlcore.tensor(b, device=dev).requires_grad_()
        y = F.layer_norm(xt, (1031,), wt, bt)
        y.backward(dlcore.tensor(g, device=dev))
        outs.append([np.asarray(t.detach().cpu()) for t in (y, xt.grad, wt.grad, bt.grad)])
    for a, e in zip(outs[1], outs[0]):
        assert_close(a, e, dtype, atol=1e-4 if dtype == "float32" else 1e-10, check_dtype=False)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_singular_value_norms_and_diagonal_agree(ord):
    # matrix_norm's singular values are computed on the host for either device; the CUDA tensor
    # must come back on its device with the CPU's value and gradient. diagonal is a strided view.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 6))
    xc, xg = _both(x)
    xc.requires_grad_(), xg.requires_grad_()
    nc, ng = dlcore.linalg.matrix_norm(xc, ord), dlcore.linalg.matrix_norm(xg, ord)
    assert ng.device.type == "cuda"
    assert_close(ng.detach().cpu(), np.asarray(nc.detach()), "float64")
    nc.sum().backward(), ng.sum().backward()
    assert_close(xg.grad.cpu(), np.asarray(xc.grad), "float64")
    dc, dg = dlcore.einsum("bii->bi", xc[:, :, :4]), dlcore.einsum("bii->bi", xg[:, :, :4])
    assert_close(dg.detach().cpu(), np.asarray(dc.detach()), "float64")

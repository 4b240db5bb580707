# test_cuda.py — CUDA paths agree with the CPU paths (and with float64 NumPy).
#
# Every test here except the first two carries the `cuda` marker and is skipped, with the
# reason, on a machine without a GPU. The first two check exactly that machine: the library
# imports, says "no CUDA", and refuses .cuda() with a clear RuntimeError.
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from conftest import CUDA_AVAILABLE, assert_close, make_array, requires_cuda, to_numpy


@pytest.mark.skipif(CUDA_AVAILABLE, reason="this machine has a GPU")
def test_no_gpu_machine_reports_and_refuses():
    assert dlcore.cuda.is_available() is False
    assert dlcore.cuda.device_count() == 0
    assert dlcore.build_info()["cuda_device_count"] == 0
    t = dlcore.ones(3)
    for attempt in (lambda: t.cuda(), lambda: t.to("cuda"), lambda: t.to(dlcore.device("cuda:0")),
                    lambda: dlcore.zeros(3, device="cuda"), lambda: dlcore.tensor([1.0], device="cuda")):
        with pytest.raises(RuntimeError) as ei:
            attempt()
        msg = str(ei.value).lower()
        assert "cuda" in msg and len(msg) > 15, msg
    assert t.tolist() == [1.0, 1.0, 1.0]  # the failed calls left the tensor alone


def test_tf32_flag_default_false():
    assert dlcore.backends.cuda.matmul.allow_tf32 is False


def _pair(rng, shape, dtype="float32", low=-1.0, high=1.0):
    a = make_array(rng, shape, dtype, low, high)
    return dlcore.tensor(a), dlcore.tensor(a, device="cuda"), a


def _agree(cpu, gpu, dtype="float32", rtol=None, atol=None, scale=None):
    """CUDA result matches the CPU result within float32 rounding."""
    assert gpu.is_cuda and not cpu.is_cuda
    assert gpu.dtype == cpu.dtype
    assert_close(gpu, to_numpy(cpu).astype(np.float64) if dtype not in ("int64", "bool") else to_numpy(cpu),
                 dtype, rtol=rtol, atol=atol, scale=scale)


@requires_cuda
def test_round_trip(rng):
    for dtype in ("float32", "float64", "int64", "bool"):
        a = make_array(rng, (31, 5), dtype, -100, 100)
        g = dlcore.tensor(a).cuda()
        assert g.is_cuda and g.device.type == "cuda" and str(g.device) == "cuda:0"
        assert g.dtype == getattr(dlcore, dtype)
        np.testing.assert_array_equal(g.cpu().numpy(), a)
        np.testing.assert_array_equal(np.asarray(g), a)          # __array__ copies from the GPU
        np.testing.assert_array_equal(g.to("cpu").numpy(), a)
        assert g.tolist() == a.tolist()
    g = dlcore.tensor(make_array(rng, (6, 7), "float32")).cuda()
    np.testing.assert_array_equal(g.T.cpu().numpy(), to_numpy(g).T)     # non-contiguous download
    assert g.to("cuda", dlcore.float64).dtype == dlcore.float64
    assert dlcore.zeros(3, device="cuda:0").is_cuda
    assert g[0, 0].item() == to_numpy(g)[0, 0]
    with pytest.raises(TypeError) as ei:
        g.numpy()
    assert "cpu()" in str(ei.value)
    dlcore.cuda.synchronize()


UNARY = ["neg", "abs", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "sign", "reciprocal",
         "square", "sin", "cos", "floor", "ceil", "round"]


@requires_cuda
@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("n", [1, 7, 257, 1000, 100_003])
def test_unary_cpu_cuda_agree(name, n, rng):
    low, high = (0.01, 10.0) if name in ("log", "sqrt", "reciprocal") else (-10.0, 10.0)
    c, g, _ = _pair(rng, (n,), "float32", low, high)
    _agree(getattr(c, name)(), getattr(g, name)(), rtol=2e-6 if name not in ("sin", "cos") else 1e-5)


@requires_cuda
@pytest.mark.parametrize("sa,sb", [((1000,), (1000,)), ((31, 5), (5,)), ((3, 1, 5), (4, 1)),
                                   ((0,), (0,)), ((257, 129), (257, 1))], ids=str)
def test_binary_cpu_cuda_agree(sa, sb, rng):
    ca, ga, _ = _pair(rng, sa, "float32", 0.5, 2.0)
    cb, gb, _ = _pair(rng, sb, "float32", 0.5, 2.0)
    for op in (lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
               lambda x, y: x ** y, dlcore.maximum, dlcore.minimum, lambda x, y: 2.5 - x * y):
        _agree(op(ca, cb), op(ga, gb), rtol=2e-6)
    for op in (lambda x, y: x < y, lambda x, y: x == y, lambda x, y: x >= y):
        _agree(op(ca, cb), op(ga, gb), "bool")
    _agree(dlcore.where(ca > 1, ca, cb), dlcore.where(ga > 1, ga, gb))
    _agree(ca.clamp(0.7, 1.2), ga.clamp(0.7, 1.2))


@requires_cuda
def test_elementwise_non_contiguous_and_inplace_cuda(rng):
    c, g, _ = _pair(rng, (65, 33))
    _agree(c.T * 2 + c.T.exp(), g.T * 2 + g.T.exp())
    _agree(c[::2, 1::3].tanh(), g[::2, 1::3].tanh())
    c.T.add_(1.0)
    g.T.add_(1.0)
    c[1:5].mul_(3)
    g[1:5].mul_(3)
    _agree(c, g)
    ci, gi, _ = _pair(rng, (257,), "int64", -50, 50)
    _agree(ci * 3 - ci.abs(), gi * 3 - gi.abs(), "int64")
    _agree(ci / 7, gi / 7)


@requires_cuda
@pytest.mark.parametrize("shape", [(1,), (7,), (257,), (1000,), (1_000_003,), (31, 257), (5, 7, 6), (0, 4)], ids=str)
def test_reduce_cpu_cuda_agree(shape, rng):
    c, g, x = _pair(rng, shape)
    dims = [None] + list(range(len(shape)))
    for dim in dims:
        kw = {} if dim is None else {"dim": dim}
        sc = float(np.max(np.sum(np.abs(x.astype(np.float64)), axis=dim), initial=1.0))
        _agree(c.sum(**kw), g.sum(**kw), scale=sc)
        if x.size:
            _agree(c.mean(**kw), g.mean(**kw))
            if (x.size > 1) if dim is None else shape[dim] > 1:
                _agree(c.var(**kw), g.var(**kw), rtol=1e-4)
                _agree(c.std(**kw), g.std(**kw), rtol=1e-4)
            if dim is None:
                _agree(c.max(), g.max())
                _agree(c.min(), g.min())
                assert c.argmax().item() == g.argmax().item()
                assert c.argmin().item() == g.argmin().item()
            elif shape[dim] > 0:
                _agree(c.max(dim=dim).values, g.max(dim=dim).values)
                _agree(c.min(dim=dim).indices, g.min(dim=dim).indices, "int64")
                _agree(c.argmax(dim=dim), g.argmax(dim=dim), "int64")
    if len(shape) >= 2:
        _agree(c.sum(dim=(0, -1)), g.sum(dim=(0, -1)), scale=float(np.sum(np.abs(x))))
        _agree(c.transpose(0, -1).sum(dim=0), g.transpose(0, -1).sum(dim=0), scale=float(np.max(np.sum(np.abs(x), axis=-1), initial=1)))


@requires_cuda
def test_reduce_ties_int_bool_nan_cuda(rng):
    a = rng.integers(0, 3, size=(64, 1000)).astype(np.float32)
    g = dlcore.tensor(a, device="cuda")
    np.testing.assert_array_equal(to_numpy(g.argmax(dim=1)), np.argmax(a, axis=1))
    np.testing.assert_array_equal(to_numpy(g.argmin(dim=0)), np.argmin(a, axis=0))
    assert g.argmax().item() == int(np.argmax(a))
    i = rng.integers(-2**40, 2**40, size=(100_003,), dtype=np.int64)
    assert dlcore.tensor(i, device="cuda").sum().item() == int(i.sum())
    b = rng.integers(0, 2, size=(100_003,)).astype(bool)
    assert dlcore.tensor(b, device="cuda").sum().item() == int(b.sum())
    n = np.zeros(100_003, np.float32)
    n[77_777] = np.nan
    assert np.isnan(dlcore.tensor(n, device="cuda").max().item())


MATMUL_SHAPES = [((1, 1), (1, 1)), ((7, 31), (31, 64)), ((257, 1000), (1000, 31)), ((1000, 64), (64, 1000)),
                 ((64, 64), (64, 64)), ((129, 257), (257, 65)), ((0, 5), (5, 3)), ((4, 0), (0, 3)),
                 ((3, 33, 17), (3, 17, 9)), ((2, 1, 65, 31), (4, 31, 7)), ((31,), (31, 5)), ((31,), (31,))]


@requires_cuda
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_cuda_vs_float64(sa, sb, dtype, rng):
    a = make_array(rng, sa, dtype)
    b = make_array(rng, sb, dtype)
    out = dlcore.tensor(a, device="cuda") @ dlcore.tensor(b, device="cuda")
    assert out.is_cuda
    _check_product(out, a, b, dtype)


def _check_product(out, a, b, dtype, bias=None, coef=None):
    """out == a @ b (+ bias) within float32 / float64 rounding (or coef * sum |a||b|), element
    by element."""
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    mag = np.matmul(np.abs(a.astype(np.float64)), np.abs(b.astype(np.float64)))
    if bias is not None:
        ref, mag = ref + bias, mag + np.abs(bias)
    if coef is None:
        coef = 1e-5 if dtype == "float32" else 1e-13
    got = to_numpy(out).astype(np.float64)
    assert got.shape == ref.shape
    assert np.all(np.abs(got - ref) <= coef * mag + 1e-5 * np.abs(ref) + 1e-30)


# Few output tiles and a long K: the SIMT GEMM splits K across blocks and adds the slices in a
# second kernel (gemm.cu: simt_splits). Prime and non-multiple K, slices that round up, a batch,
# an operand read along m (A^T), float64, and the bias epilogue applied once after the sum. The
# last two take the 128x128 tiles split along K (float32: 56 and 18 big tiles, too few alone).
SPLIT_K_CASES = [((256, 2048), (2048, 512)), ((7, 5003), (5003, 9)), ((1, 4099), (4099, 1)),
                 ((3, 33, 1000), (3, 1000, 65)), ((2, 1, 40, 777), (777, 70)), ((130, 515), (515, 3)),
                 ((1000, 1539), (1539, 777)), ((2, 300, 2600), (2600, 257))]


@requires_cuda
@pytest.mark.parametrize("sa,sb", SPLIT_K_CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_cuda_split_k(sa, sb, dtype, rng):
    a = make_array(rng, sa, dtype)
    b = make_array(rng, sb, dtype)
    ga, gb = dlcore.tensor(a, device="cuda"), dlcore.tensor(b, device="cuda")
    _check_product(ga @ gb, a, b, dtype)
    a_t = dlcore.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), device="cuda").mT   # read along m
    _check_product(a_t @ gb, a, b, dtype)
    if len(sa) == 2:   # Linear: x @ W^T + bias, the bias added once, after the slices are summed
        bias = make_array(rng, (sb[1],), dtype)
        w = dlcore.tensor(np.ascontiguousarray(b.T), device="cuda")
        _check_product(F.linear(ga, w, dlcore.tensor(bias, device="cuda")), a, b, dtype, bias)


@requires_cuda
def test_matmul_cuda_transposed_and_sliced(rng):
    a = make_array(rng, (300, 250), "float32")
    b = make_array(rng, (250, 300), "float32")
    ca, ga = dlcore.tensor(a), dlcore.tensor(a, device="cuda")
    cb, gb = dlcore.tensor(b), dlcore.tensor(b, device="cuda")
    mag_scale = 200.0
    _agree(ca.T @ cb.T, ga.T @ gb.T, rtol=1e-5, atol=1e-5, scale=mag_scale)
    _agree(ca[::2, 10:110] @ cb[:100, ::3], ga[::2, 10:110] @ gb[:100, ::3], rtol=1e-5, atol=1e-5, scale=mag_scale)
    _agree(ca[:, :250] @ cb, ga[:, :250] @ gb, rtol=1e-5, atol=1e-5, scale=mag_scale)


# TF32 on Hopper: an operand that is not K-contiguous (row-major B of A @ B, a column-major A)
# is first copied K-contiguous when the product is big (gemm_wgmma.cu: stage_k_contiguous; elsewhere
# the same calls take the transposing loads). Odd K (the copy's rows are padded to 4), a batch
# with a broadcast B, a column-major A, and the bias epilogue.
TF32_STAGED_CASES = [((1030, 517), (517, 530), False), ((2, 600, 401), (401, 600), False),
                     ((1030, 517), (517, 530), True), ((3, 520, 333), (3, 333, 610), True)]


@requires_cuda
@pytest.mark.parametrize("sa,sb,a_colmajor", TF32_STAGED_CASES, ids=str)
def test_tf32_matmul_with_operands_copied_k_contiguous(sa, sb, a_colmajor, rng):
    a = make_array(rng, sa, "float32")
    b = make_array(rng, sb, "float32")
    ga = (dlcore.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2)), device="cuda").mT if a_colmajor
          else dlcore.tensor(a, device="cuda"))
    gb = dlcore.tensor(b, device="cuda")
    # The wgmma kernel truncates each input to TF32 (10 mantissa bits: relative error < 2^-10),
    # so each product is off by < 2^-9 |a||b|; the float32 sums add ~K * 2^-24. Bounded by 3e-3.
    try:
        dlcore.backends.cuda.matmul.allow_tf32 = True
        _check_product(ga @ gb, a, b, "float32", coef=3e-3)
        if len(sa) == 2:
            bias = make_array(rng, (sb[1],), "float32")
            w = dlcore.tensor(np.ascontiguousarray(b.T), device="cuda")
            _check_product(F.linear(ga, w, dlcore.tensor(bias, device="cuda")), a, b, "float32", bias, coef=3e-3)
    finally:
        dlcore.backends.cuda.matmul.allow_tf32 = False


@requires_cuda
def test_tf32_flag_path(rng):
    a = make_array(rng, (257, 513), "float32")
    b = make_array(rng, (513, 129), "float32")
    ref = a.astype(np.float64) @ b.astype(np.float64)
    ga, gb = dlcore.tensor(a, device="cuda"), dlcore.tensor(b, device="cuda")
    assert dlcore.backends.cuda.matmul.allow_tf32 is False
    try:
        dlcore.backends.cuda.matmul.allow_tf32 = True
        assert dlcore.backends.cuda.matmul.allow_tf32 is True
        got = to_numpy(ga @ gb).astype(np.float64)
        rel = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert rel < 1e-2, rel
    finally:
        dlcore.backends.cuda.matmul.allow_tf32 = False
    assert dlcore.backends.cuda.matmul.allow_tf32 is False
    strict = to_numpy(ga @ gb).astype(np.float64)          # back to full float32 accuracy
    mag = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    assert np.all(np.abs(strict - ref) <= 1e-5 * mag + 1e-5 * np.abs(ref))


# Float32 matmuls with allow_tf32 on a Hopper (sm_90) device take the wgmma kernel
# (csrc/cuda/gemm_wgmma.cu) once its one-time self-check against the mma.sync kernel passed;
# _C.cuda_gemm_tf32_path says which. Shapes keep K and N (or M, for a transposed A) multiples
# of 4 so that awkward sizes still reach the tensor-core path; the last one does not (SIMT).
TF32_CASES = [((7, 32), (32, 4), False, False), ((257, 1000), (1000, 36), False, False),
              ((1000, 68), (68, 1000), False, False), ((1, 256), (256, 124), False, False),
              ((200, 64), (64, 44), True, False), ((200, 64), (64, 44), False, True),
              ((128, 300), (300, 132), True, True), ((3, 129, 68), (3, 68, 100), False, False),
              ((2, 1, 65, 32), (4, 32, 12), False, False), ((31, 31), (31, 7), False, False)]


def _tf32_matmul_ok(a, b, got):
    """got matches a @ b (float64) within TF32 rounding: per element, 3e-3 of sum |a||b| (TF32
    truncation stays under 2^-9 of it), and 3e-3 in norm for outputs large enough to average."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = np.matmul(a64, b64)
    mag = np.matmul(np.abs(a64), np.abs(b64))
    got = got.astype(np.float64)
    assert got.shape == ref.shape
    assert np.all(np.isfinite(got))
    bad = np.abs(got - ref) > 3e-3 * mag + 1e-6
    assert not bad.any(), f"{bad.sum()} elements off, worst {np.max(np.abs(got - ref) / (mag + 1e-6)):.3g}"
    if ref.size >= 1000:
        rel = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert rel < 3e-3, rel


@requires_cuda
def test_tf32_wgmma_path_and_accuracy(rng):
    from dlcore import _C
    dev = 0
    major, _ = _C.cuda_compute_capability(dev)
    assert _C.cuda_gemm_tf32_path(dev) in ("wgmma", "mma.sync", "unverified")
    try:
        dlcore.backends.cuda.matmul.allow_tf32 = True
        for sa, sb, ta, tb in TF32_CASES:
            # A transposed view: build the transpose contiguously, upload it, take .T on the GPU.
            a = make_array(rng, sa[:-2] + (sa[-1], sa[-2]) if ta else sa, "float32")
            b = make_array(rng, sb[:-2] + (sb[-1], sb[-2]) if tb else sb, "float32")
            ga, gb = dlcore.tensor(a, device="cuda"), dlcore.tensor(b, device="cuda")
            if ta:
                ga, a = ga.transpose(-1, -2), np.swapaxes(a, -1, -2)
            if tb:
                gb, b = gb.transpose(-1, -2), np.swapaxes(b, -1, -2)
            _tf32_matmul_ok(a, b, to_numpy(ga @ gb))
    finally:
        dlcore.backends.cuda.matmul.allow_tf32 = False
    path = _C.cuda_gemm_tf32_path(dev)
    import os
    if major != 9:
        assert path == "mma.sync", path
    elif os.environ.get("DLCORE_CUDA_WGMMA") == "0":
        assert path == "mma.sync", path
    else:
        assert path == "wgmma", f"the wgmma self-check failed on this sm_90 device (see stderr): {path}"


@requires_cuda
def test_tf32_wgmma_env_switch_off():
    # DLCORE_CUDA_WGMMA=0 keeps every device on mma.sync, and TF32 matmuls still work.
    import os
    import subprocess
    import sys
    code = ("import numpy as np, dlcore\n"
            "from dlcore import _C\n"
            "dlcore.backends.cuda.matmul.allow_tf32 = True\n"
            "a = np.random.default_rng(0).uniform(-1, 1, (130, 68)).astype(np.float32)\n"
            "g = dlcore.tensor(a, device='cuda')\n"
            "got = (g @ g.T).cpu().numpy().astype(np.float64)\n"
            "ref = a.astype(np.float64) @ a.astype(np.float64).T\n"
            "assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 3e-3\n"
            "print(_C.cuda_gemm_tf32_path(0))\n")
    env = dict(os.environ, DLCORE_CUDA_WGMMA="0", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "mma.sync", out.stdout


@requires_cuda
def test_caching_allocator_reuse(rng):
    # Allocate, fill with garbage, free, and allocate again many times in mixed sizes: a reused
    # block must never leak old contents into zeros(), and live tensors must not be clobbered.
    keep = dlcore.tensor(np.arange(1000, dtype=np.float32), device="cuda")
    for it in range(30):
        n = int(rng.integers(1, 200_000))
        junk = dlcore.full((n,), 123.0, device="cuda")
        del junk
        z = dlcore.zeros(n, device="cuda")
        assert to_numpy(z.sum()).item() == 0.0
        o = dlcore.ones(n, device="cuda") * 2
        assert o.sum().item() == 2.0 * n
        del z, o
    np.testing.assert_array_equal(to_numpy(keep), np.arange(1000, dtype=np.float32))
    a = make_array(rng, (128, 128), "float32")
    first = to_numpy(dlcore.tensor(a, device="cuda") @ dlcore.tensor(a, device="cuda"))
    for _ in range(5):
        again = to_numpy(dlcore.tensor(a, device="cuda") @ dlcore.tensor(a, device="cuda"))
        np.testing.assert_array_equal(first, again)     # deterministic across reused buffers
    dlcore.cuda.synchronize()


@requires_cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rand_same_on_cpu_and_cuda(dtype):
    dt = getattr(dlcore, dtype)
    for seed in (0, 1, 12345):
        dlcore.manual_seed(seed)
        gu = dlcore.rand(1003, dtype=dt, device="cuda")
        gn = dlcore.randn(1003, dtype=dt, device="cuda")
        dlcore.manual_seed(seed)
        cu = dlcore.rand(1003, dtype=dt)
        cn = dlcore.randn(1003, dtype=dt)
        np.testing.assert_array_equal(to_numpy(gu), to_numpy(cu))       # same bits: no maths
        np.testing.assert_allclose(to_numpy(gn), to_numpy(cn), rtol=1e-5, atol=1e-6)
        # Bounds other than [0, 1): a + (b - a) * u rounded twice on both devices (no FMA).
        from dlcore.nn import init
        dlcore.manual_seed(seed)
        gb = init.uniform_(dlcore.empty(1003, dtype=dt, device="cuda"), -0.37, 2.9)
        dlcore.manual_seed(seed)
        cb = init.uniform_(dlcore.empty(1003, dtype=dt), -0.37, 2.9)
        np.testing.assert_array_equal(to_numpy(gb), to_numpy(cb))


@requires_cuda
def test_device_mismatch_raises():
    c = dlcore.ones(3)
    g = dlcore.ones(3, device="cuda")
    for op in (lambda: c + g, lambda: g * c, lambda: dlcore.maximum(c, g),
               lambda: dlcore.ones(3, 3) @ dlcore.ones(3, 3, device="cuda"),
               lambda: dlcore.cat([c, g]), lambda: dlcore.where(c > 0, c, g)):
        with pytest.raises(RuntimeError) as ei:
            op()
        msg = str(ei.value)
        assert "cpu" in msg and "cuda" in msg, msg


@requires_cuda
def test_cuda_views_and_indexing(rng):
    c, g, x = _pair(rng, (6, 8, 5))
    for f in (lambda t: t.permute(2, 0, 1).reshape(5, -1), lambda t: t[1:, ::2, -1],
              lambda t: t[None, ..., 2], lambda t: t.transpose(0, 1).contiguous(),
              lambda t: dlcore.cat([t, t * 2], dim=1), lambda t: dlcore.stack([t, t], dim=-1),
              lambda t: t[dlcore.tensor([3, 0, 0], device=t.device)]):
        _agree(f(c), f(g))
    g[1:3, :, 0] = 7.0
    c[1:3, :, 0] = 7.0
    _agree(c, g)

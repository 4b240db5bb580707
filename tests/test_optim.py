"""dlcore.optim: fused optimizer steps against torch.optim, state_dict, schedulers, grad clipping."""
import math

import numpy as np
import pytest

import dlcore
from dlcore import optim
from dlcore.nn.utils import clip_grad_norm_, clip_grad_value_

# (name, kwargs) — every optimizer with its defaults and the option combinations that change the
# dataflow of the kernel (weight decay, momentum, nesterov, amsgrad, centered, maximize...).
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.001, alpha=0.9, centered=True)),
    ("RMSprop", dict(lr=0.001, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.001, momentum=0.5, centered=True, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
]
# Awkward sizes: one element, odd and prime lengths, and one above the threading grain.
SHAPES = [(1,), (17,), (7, 13), (40009,)]
STEPS = 25


def _ids(c):
    return c[0] + "-" + "-".join(f"{k}={v}" for k, v in c[1].items())


def _run_dlcore(name, kwargs, inits, grads, dtype=np.float32, device="cpu"):
    params = [dlcore.tensor(x.astype(dtype), device=device, requires_grad=True) for x in inits]
    opt = getattr(optim, name)(params, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = dlcore.tensor(g.astype(dtype), device=device)
        opt.step()
    return [np.asarray(p.detach().cpu()) for p in params], opt


def _problem(seed, n_steps=STEPS, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(n_steps)]
    return inits, grads


# ---- agreement with torch.optim -----------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(case, dtype):
    torch = pytest.importorskip("torch")
    name, kwargs = case
    inits, grads = _problem(1)
    ours, opt = _run_dlcore(name, kwargs, inits, grads, dtype)
    tparams = [torch.tensor(x.astype(dtype), requires_grad=True) for x in inits]
    topt = getattr(torch.optim, name)(tparams, **kwargs)
    for step_grads in grads:
        for p, g in zip(tparams, step_grads):
            p.grad = torch.tensor(g.astype(dtype))
        topt.step()
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    for a, p in zip(ours, tparams):
        np.testing.assert_allclose(a, p.detach().numpy(), **tol)
    # same state names, same step counts, state tensors equal too
    tsd, sd = topt.state_dict(), opt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, tstate in tsd["state"].items():
        for key, tv in tstate.items():
            if tv is None:
                continue
            assert key in sd["state"][i], key
            v = sd["state"][i][key]
            if key in ("step", "mu_product"):
                assert float(v) == pytest.approx(float(tv), rel=1e-6)
            else:
                np.testing.assert_allclose(np.asarray(v), tv.numpy(), **tol)


@pytest.mark.parametrize("fast_path", ["native", "avx2-fma"])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_avx2_loop_matches_baseline_loop_bitwise(case, fast_path, monkeypatch):
    """float32 steps run an AVX2 loop where the CPU has it (csrc/cpu/optim_avx2.cpp) and an
    AVX-512 one where the GEMM runs AVX-512 (optim_avx512.cpp; DLCORE_CPU_PATH=avx2-fma holds
    it to AVX2), compiled without FMA contraction: each must give exactly the baseline (SSE2)
    loop's bits, on sizes that leave vector tails (8 and 16 lanes) and span several threading
    chunks."""
    if dlcore.build_info()["cpu_path"] != "avx2-fma":
        pytest.skip("this CPU has no AVX2+FMA: only the baseline optimizer loop exists here")
    name, kwargs = case
    inits, grads = _problem(5, 6, [(1,), (29,), (3, 37), (140_009,)])
    if fast_path != "native":
        monkeypatch.setenv("DLCORE_CPU_PATH", fast_path)
    fast, _ = _run_dlcore(name, kwargs, inits, grads)
    monkeypatch.setenv("DLCORE_CPU_PATH", "generic")
    base, _ = _run_dlcore(name, kwargs, inits, grads)
    for a, b in zip(fast, base):
        np.testing.assert_array_equal(a, b)


def test_param_groups_and_lr_change_match_torch():
    torch = pytest.importorskip("torch")
    inits, grads = _problem(2, 20, [(5,), (3, 4)])
    ps = [dlcore.tensor(x.astype(np.float32), requires_grad=True) for x in inits]
    ts = [torch.tensor(x.astype(np.float32), requires_grad=True) for x in inits]
    o = optim.Adam([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.1, "amsgrad": True}], lr=0.01)
    t = torch.optim.Adam([{"params": [ts[0]]}, {"params": [ts[1]], "lr": 0.1, "amsgrad": True}], lr=0.01)
    so = optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)
    st = torch.optim.lr_scheduler.StepLR(t, step_size=3, gamma=0.5)
    for k, step_grads in enumerate(grads):
        for p, q, g in zip(ps, ts, step_grads):
            p.grad = dlcore.tensor(g.astype(np.float32))
            q.grad = torch.tensor(g.astype(np.float32))
        o.step(); t.step(); so.step(); st.step()
        assert so.get_last_lr() == st.get_last_lr()
    for p, q in zip(ps, ts):
        np.testing.assert_allclose(np.asarray(p.detach()), q.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_load_torch_state_dict_resumes_like_torch():
    torch = pytest.importorskip("torch")
    inits, grads = _problem(3, 20, [(6, 5)])
    tp = torch.tensor(inits[0].astype(np.float32), requires_grad=True)
    topt = torch.optim.NAdam([tp], lr=0.01)
    for g in grads[:10]:
        tp.grad = torch.tensor(g[0].astype(np.float32)); topt.step()
    p = dlcore.tensor(tp.detach().numpy().copy(), requires_grad=True)
    opt = optim.NAdam([p], lr=0.5)
    opt.load_state_dict(topt.state_dict())
    assert opt.param_groups[0]["lr"] == 0.01
    for g in grads[10:]:
        tp.grad = torch.tensor(g[0].astype(np.float32)); topt.step()
        p.grad = dlcore.tensor(g[0].astype(np.float32)); opt.step()
    np.testing.assert_allclose(np.asarray(p.detach()), tp.detach().numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("sched", ["step", "exp", "cos", "plateau"])
def test_schedulers_match_torch(sched):
    torch = pytest.importorskip("torch")
    o = optim.SGD([dlcore.zeros(2, requires_grad=True)], lr=0.1)
    t = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    make = {
        "step": lambda m, opt: m.StepLR(opt, step_size=4, gamma=0.3),
        "exp": lambda m, opt: m.ExponentialLR(opt, gamma=0.9),
        "cos": lambda m, opt: m.CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
        "plateau": lambda m, opt: m.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.01),
    }[sched]
    so, st = make(optim.lr_scheduler, o), make(torch.optim.lr_scheduler, t)
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.5, 0.6, 0.7, 0.8,
               0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.2, 2.3]
    for m in metrics:
        o.step(); t.step()
        if sched == "plateau":
            so.step(m); st.step(m)
        else:
            so.step(); st.step()
        assert o.param_groups[0]["lr"] == t.param_groups[0]["lr"]
        assert so.get_last_lr() == st.get_last_lr()


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    gs = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (7,), (1,)]]
    for norm_type in (2.0, 1.0, 3.0, math.inf):
        ps = [dlcore.zeros(*g.shape, requires_grad=True) for g in gs]
        ts = [torch.zeros(*g.shape, requires_grad=True) for g in gs]
        for p, q, g in zip(ps, ts, gs):
            p.grad, q.grad = dlcore.tensor(g), torch.tensor(g)
        n1 = clip_grad_norm_(ps, 0.5, norm_type=norm_type)
        n2 = torch.nn.utils.clip_grad_norm_(ts, 0.5, norm_type=norm_type)
        assert float(n1) == pytest.approx(float(n2), rel=1e-5)
        for p, q in zip(ps, ts):
            np.testing.assert_allclose(np.asarray(p.grad), q.grad.numpy(), rtol=1e-5, atol=1e-7)


# ---- without torch ------------------------------------------------------------------------------
CONVERGE = [("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
            ("Adam", dict(lr=0.1)), ("AdamW", dict(lr=0.1, weight_decay=0.0)), ("Adam", dict(lr=0.1, amsgrad=True)),
            ("Adamax", dict(lr=0.1)), ("NAdam", dict(lr=0.1)), ("Adagrad", dict(lr=0.5)),
            ("RMSprop", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
            ("Adadelta", dict(lr=50.0))]


@pytest.mark.parametrize("case", CONVERGE, ids=_ids)
def test_quadratic_converges(case):
    name, kwargs = case
    target = np.linspace(-2, 3, 11).astype(np.float32)
    scale = np.linspace(0.5, 2.0, 11).astype(np.float32)
    p = dlcore.zeros(11, requires_grad=True)
    opt = getattr(optim, name)([p], **kwargs)
    for _ in range(600):
        x = np.asarray(p.detach())
        p.grad = dlcore.tensor(2 * scale * (x - target))      # d/dx sum(scale * (x - t)^2)
        opt.step()
    np.testing.assert_allclose(np.asarray(p.detach()), target, atol=0.05)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_state_dict_round_trip_resumes_identically(case):
    name, kwargs = case
    inits, grads = _problem(5, 16, [(4, 3), (9,)])
    # reference: 16 uninterrupted steps
    ref, _ = _run_dlcore(name, kwargs, inits, grads)
    # 8 steps, snapshot, then a fresh optimizer (different lr: the snapshot restores it) resumes
    ps = [dlcore.tensor(x.astype(np.float32), requires_grad=True) for x in inits]
    opt = getattr(optim, name)(ps, **kwargs)
    for step_grads in grads[:8]:
        for p, g in zip(ps, step_grads):
            p.grad = dlcore.tensor(g.astype(np.float32))
        opt.step()
    sd = opt.state_dict()
    snapshot = [np.asarray(p.detach()).copy() for p in ps]
    for p, g in zip(ps, grads[8]):       # later steps must not change the snapshot
        p.grad = dlcore.tensor(g.astype(np.float32))
    opt.step()
    assert sd["param_groups"][0]["params"] == [0, 1]
    ps2 = [dlcore.tensor(x, requires_grad=True) for x in snapshot]
    opt2 = getattr(optim, name)(ps2, **dict(kwargs, lr=123.0))
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for step_grads in grads[8:]:
        for p, g in zip(ps2, step_grads):
            p.grad = dlcore.tensor(g.astype(np.float32))
        opt2.step()
    for a, p in zip(ref, ps2):
        np.testing.assert_array_equal(a, np.asarray(p.detach()))


def test_state_dict_survives_dlcore_save_load(tmp_path):
    if not hasattr(dlcore, "save"):
        pytest.skip("dlcore.save not available")
    inits, grads = _problem(6, 10, [(5,)])
    ref, _ = _run_dlcore("Adam", dict(lr=0.01, amsgrad=True), inits, grads)
    p = dlcore.tensor(inits[0].astype(np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.01, amsgrad=True)
    for g in grads[:5]:
        p.grad = dlcore.tensor(g[0].astype(np.float32)); opt.step()
    dlcore.save(opt.state_dict(), str(tmp_path / "opt.dlc"))
    opt2 = optim.Adam([p], lr=0.01, amsgrad=True)
    opt2.load_state_dict(dlcore.load(str(tmp_path / "opt.dlc")))
    for g in grads[5:]:
        p.grad = dlcore.tensor(g[0].astype(np.float32)); opt2.step()
    np.testing.assert_array_equal(ref[0], np.asarray(p.detach()))


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=-0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=-1),
    lambda ps: optim.SGD(ps, lr=0.1, nesterov=True),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
    lambda ps: optim.Adam(ps, lr=-1e-3),
    lambda ps: optim.Adam(ps, betas=(1.0, 0.999)),
    lambda ps: optim.Adam(ps, betas=(0.9, -0.1)),
    lambda ps: optim.Adam(ps, betas=(0.9,)),
    lambda ps: optim.Adam(ps, eps=-1.0),
    lambda ps: optim.AdamW(ps, weight_decay=-0.1),
    lambda ps: optim.Adamax(ps, betas=(0.9, 1.5)),
    lambda ps: optim.NAdam(ps, momentum_decay=-1),
    lambda ps: optim.Adagrad(ps, lr_decay=-1),
    lambda ps: optim.Adagrad(ps, initial_accumulator_value=-1),
    lambda ps: optim.RMSprop(ps, alpha=-0.5),
    lambda ps: optim.Adadelta(ps, rho=1.5),
    lambda ps: optim.Adam(ps, lr=float("nan")),
    lambda ps: optim.Adam([]),
])
def test_bad_hyper_parameters_raise(make):
    with pytest.raises(ValueError):
        make([dlcore.zeros(3, requires_grad=True)])


def test_param_groups_with_different_lr():
    a = dlcore.ones(4, requires_grad=True)
    b = dlcore.ones(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.0
    a.grad = dlcore.ones(4)
    b.grad = dlcore.ones(3)
    opt.step()
    np.testing.assert_allclose(np.asarray(a.detach()), 0.9)
    np.testing.assert_allclose(np.asarray(b.detach()), 0.5)
    c = dlcore.ones(2, requires_grad=True)
    opt.add_param_group({"params": c, "lr": 1.0})
    c.grad = dlcore.full((2,), 0.25)
    a.grad = None                       # no grad: a is skipped
    opt.step()
    np.testing.assert_allclose(np.asarray(a.detach()), 0.9)
    np.testing.assert_allclose(np.asarray(c.detach()), 0.75)
    with pytest.raises(ValueError):
        opt.add_param_group({"params": [a]})             # already in group 0
    with pytest.raises(ValueError):
        optim.SGD([a, a], lr=0.1)


def test_zero_grad():
    p = dlcore.ones(3, requires_grad=True)
    opt = optim.Adam([p])
    p.grad = dlcore.ones(3)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(np.asarray(p.grad), 0.0)
    opt.zero_grad()
    assert p.grad is None
    opt.step()                                       # nothing to do, no state created
    assert len(opt.state_dict()["state"]) == 0


def test_bad_gradients_raise_clear_errors():
    p = dlcore.ones(2, 3, requires_grad=True)
    opt = optim.Adam([p])
    p.grad = dlcore.ones(3, 2)
    with pytest.raises(ValueError, match="adam_step"):
        opt.step()
    p.grad = dlcore.ones(2, 3, dtype=dlcore.float64)
    with pytest.raises(TypeError):
        opt.step()
    with pytest.raises(TypeError):
        optim.SGD([dlcore.ones(3, dtype=dlcore.int64)], lr=0.1)
    with pytest.raises(TypeError):
        optim.SGD(dlcore.ones(3), lr=0.1)


def test_non_contiguous_grad():
    g = np.arange(12, dtype=np.float32).reshape(3, 4)
    p1 = dlcore.zeros(4, 3, requires_grad=True)
    p2 = dlcore.zeros(4, 3, requires_grad=True)
    p1.grad = dlcore.tensor(g).T                       # a transposed view
    p2.grad = dlcore.tensor(np.ascontiguousarray(g.T))
    optim.SGD([p1], lr=0.1, momentum=0.9).step()
    optim.SGD([p2], lr=0.1, momentum=0.9).step()
    np.testing.assert_array_equal(np.asarray(p1.detach()), np.asarray(p2.detach()))


def test_adam_first_step_moves_by_lr():
    # After one step Adam's update is lr * g/|g| (bias corrections cancel), whatever the scale.
    p = dlcore.zeros(4, requires_grad=True)
    p.grad = dlcore.tensor([1e-3, -5.0, 1e3, 2.0])
    optim.Adam([p], lr=0.01, eps=0.0).step()
    np.testing.assert_allclose(np.asarray(p.detach()), [-0.01, 0.01, -0.01, -0.01], rtol=1e-6)


def test_schedulers_closed_forms():
    opt = optim.SGD([dlcore.zeros(1, requires_grad=True)], lr=1.0)
    s = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(6):
        lrs.append(s.get_last_lr()[0]); opt.step(); s.step()
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    opt = optim.SGD([dlcore.zeros(1, requires_grad=True)], lr=1.0)
    s = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for e in range(5):
        assert s.get_last_lr()[0] == pytest.approx(0.5 ** e); opt.step(); s.step()
    opt = optim.SGD([dlcore.zeros(1, requires_grad=True)], lr=1.0)
    s = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
    for e in range(25):
        want = 0.1 + 0.9 * (1 + math.cos(math.pi * e / 10)) / 2
        assert s.get_last_lr()[0] == pytest.approx(want, abs=1e-12); opt.step(); s.step()
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 25


def test_reduce_lr_on_plateau():
    opt = optim.Adam([dlcore.zeros(1, requires_grad=True)], lr=1.0)
    s = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1, min_lr=0.3)
    for acc, want in [(0.5, 1.0), (0.6, 1.0), (0.6, 1.0), (0.6, 0.5), (0.6, 0.5), (0.6, 0.3), (0.9, 0.3)]:
        s.step(acc)
        assert opt.param_groups[0]["lr"] == want
    with pytest.raises(ValueError):
        optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError):
        optim.lr_scheduler.ReduceLROnPlateau(opt, mode="best")


def test_clip_grad_norm_and_value():
    a = dlcore.zeros(2, requires_grad=True)
    b = dlcore.zeros(1, requires_grad=True)
    a.grad = dlcore.tensor([3.0, 0.0])
    b.grad = dlcore.tensor([4.0])
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(np.asarray(a.grad), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(b.grad), [0.8], rtol=1e-5)
    total = clip_grad_norm_([a, b], max_norm=10.0)               # under the limit: unchanged
    assert float(total) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(np.asarray(a.grad), [0.6, 0.0], rtol=1e-5)
    assert float(clip_grad_norm_([a, b], 1.0, norm_type=math.inf)) == pytest.approx(0.8, rel=1e-5)
    a.grad = dlcore.tensor([3.0, -7.0])
    clip_grad_value_([a], 2.5)
    np.testing.assert_allclose(np.asarray(a.grad), [2.5, -2.5])
    a.grad = dlcore.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    assert float(clip_grad_norm_([dlcore.zeros(1, requires_grad=True)], 1.0)) == 0.0


@pytest.mark.skipif(not dlcore.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_cuda_matches_cpu(case):
    name, kwargs = case
    inits, grads = _problem(7, 10)
    cpu, _ = _run_dlcore(name, kwargs, inits, grads)
    gpu, _ = _run_dlcore(name, kwargs, inits, grads, device="cuda")
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)

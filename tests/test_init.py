# test_init.py — dlcore.nn.init: bounds and moments of each initializer, fans, gains, seeding.
#
# Statistical checks use large tensors (>= 60k draws) so the sample mean/std sit within a few
# standard errors of the target; the bounds of the uniform rules are checked exactly.
import math

import numpy as np
import pytest

import dlcore
import dlcore.nn as nn
from dlcore.nn import init
from conftest import to_numpy


def _np(t):
    return to_numpy(t.detach())


def test_fan_in_and_fan_out_like_torch():
    f = init._calculate_fan_in_and_fan_out
    assert f(dlcore.empty(30, 50)) == (50, 30)                     # Linear (out, in)
    assert f(dlcore.empty(16, 3, 5, 5)) == (75, 400)               # Conv2d (C_out, C_in, kh, kw)
    assert f(dlcore.empty(8, 4, 3)) == (12, 24)                    # Conv1d
    assert f(dlcore.empty(2, 3, 2, 2, 2)) == (24, 16)              # Conv3d
    with pytest.raises(ValueError):
        f(dlcore.empty(5))
    with pytest.raises(ValueError):
        init._calculate_correct_fan(dlcore.empty(3, 4), "fan_avg")
    torch = pytest.importorskip("torch")
    for shape in [(30, 50), (16, 3, 5, 5), (8, 4, 3)]:
        assert f(dlcore.empty(*shape)) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError):
        init.calculate_gain("swishy")


def _check_uniform(v, bound):
    assert np.abs(v).max() <= bound * (1 + 1e-6)
    assert np.abs(v).max() > 0.99 * bound                          # the range is actually used
    assert abs(v.mean()) < 4 * bound / math.sqrt(3 * v.size)
    assert v.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def _check_normal(v, std):
    assert abs(v.mean()) < 4 * std / math.sqrt(v.size)
    assert v.std() == pytest.approx(std, rel=0.02)


def test_uniform_and_normal():
    t = dlcore.empty(300, 400)
    v = _np(init.uniform_(t, -2.0, 3.0))
    assert v.min() >= -2.0 and v.max() < 3.0
    assert v.mean() == pytest.approx(0.5, abs=0.02)
    v = _np(init.normal_(t, 1.5, 0.5))
    assert v.mean() == pytest.approx(1.5, abs=0.01)
    assert v.std() == pytest.approx(0.5, rel=0.02)
    with pytest.raises(ValueError):
        init.uniform_(t, 1.0, 0.0)
    with pytest.raises(TypeError):
        init.normal_(dlcore.zeros(3, dtype=dlcore.int64))


def test_constant_zeros_ones_eye():
    t = dlcore.empty(4, 5)
    assert np.all(_np(init.constant_(t, 0.25)) == 0.25)
    assert np.all(_np(init.zeros_(t)) == 0)
    assert np.all(_np(init.ones_(t)) == 1)
    np.testing.assert_array_equal(_np(init.eye_(t)), np.eye(4, 5))
    p = nn.Parameter(dlcore.empty(3))                              # works on parameters (no_grad inside)
    init.constant_(p, 2.0)
    assert p.requires_grad and np.all(_np(p) == 2)


def test_xavier_rules():
    t = dlcore.empty(200, 300)
    _check_uniform(_np(init.xavier_uniform_(t)), math.sqrt(6 / 500))
    _check_uniform(_np(init.xavier_uniform_(t, gain=2.0)), 2 * math.sqrt(6 / 500))
    _check_normal(_np(init.xavier_normal_(t)), math.sqrt(2 / 500))
    c = dlcore.empty(64, 32, 3, 3)                                 # conv: fans include the kernel
    _check_uniform(_np(init.xavier_uniform_(c)), math.sqrt(6 / (32 * 9 + 64 * 9)))


def test_kaiming_rules():
    t = dlcore.empty(300, 250)
    _check_uniform(_np(init.kaiming_uniform_(t, nonlinearity="relu")), math.sqrt(2) * math.sqrt(3 / 250))
    _check_normal(_np(init.kaiming_normal_(t, nonlinearity="relu")), math.sqrt(2 / 250))
    _check_normal(_np(init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")), math.sqrt(2 / 300))
    # a = sqrt(5) (Linear's default) reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    _check_uniform(_np(init.kaiming_uniform_(t, a=math.sqrt(5))), 1 / math.sqrt(250))


def test_lecun_rules():
    t = dlcore.empty(300, 400)
    _check_uniform(_np(init.lecun_uniform_(t)), 1 / math.sqrt(400))
    _check_normal(_np(init.lecun_normal_(t)), 1 / math.sqrt(400))


def test_trunc_normal():
    t = dlcore.empty(300, 300)
    v = _np(init.trunc_normal_(t, mean=0.0, std=1.0, a=-1.0, b=1.5))
    assert v.min() >= -1.0 and v.max() <= 1.5
    assert v.min() < -0.99 and v.max() > 1.49


@pytest.mark.parametrize("shape", [(5, 5), (4, 10), (10, 4), (6, 3, 2, 2)])
def test_orthogonal(shape):
    t = dlcore.empty(*shape, dtype=dlcore.float64)
    w = _np(init.orthogonal_(t, gain=1.0)).reshape(shape[0], -1)
    if w.shape[0] <= w.shape[1]:
        np.testing.assert_allclose(w @ w.T, np.eye(w.shape[0]), atol=1e-12)
    else:
        np.testing.assert_allclose(w.T @ w, np.eye(w.shape[1]), atol=1e-12)
    w2 = _np(init.orthogonal_(dlcore.empty(6, 6), gain=3.0))
    np.testing.assert_allclose(w2 @ w2.T, 9 * np.eye(6), atol=1e-4)
    with pytest.raises(ValueError):
        init.orthogonal_(dlcore.empty(5))


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_,
                                init.kaiming_uniform_, init.kaiming_normal_, init.lecun_uniform_,
                                init.orthogonal_])
def test_reproducible_under_manual_seed(fn):
    dlcore.manual_seed(123)
    a = _np(fn(dlcore.empty(17, 13)))
    b = _np(fn(dlcore.empty(17, 13)))
    dlcore.manual_seed(123)
    c = _np(fn(dlcore.empty(17, 13)))
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)                                # the stream moves on


def test_non_contiguous_views_fill_in_place():
    base = dlcore.zeros(6, 8)
    view = base.T                                                  # (8, 6), non-contiguous
    dlcore.manual_seed(5)
    init.uniform_(view, 1.0, 2.0)
    v = _np(base)
    assert v.min() >= 1.0 and v.max() < 2.0
    dlcore.manual_seed(5)
    ref = _np(init.uniform_(dlcore.empty(8, 6), 1.0, 2.0))
    np.testing.assert_array_equal(v.T, ref)                        # same draws as a contiguous fill


def test_initializers_record_no_graph():
    p = nn.Parameter(dlcore.empty(4, 4))
    init.kaiming_uniform_(p)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad

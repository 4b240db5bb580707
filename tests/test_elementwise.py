# test_elementwise.py — every elementwise op against a float64 NumPy reference.
#
# Inputs are drawn in the tensor's dtype, then upcast to float64 for the reference, so the
# comparison measures only the op's own rounding. Sizes cover empty, one element, odd sizes, a
# size past one vector width plus a tail, and broadcasting.
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dlcore
from conftest import assert_close, make_array, to_numpy

SHAPES = [(0,), (1,), (7,), (31, 5), (257,), (1000,)]


def _sigmoid(x):
    with np.errstate(over="ignore"):   # exp(-x) = inf for very negative x: sigmoid is 0 there
        return 1.0 / (1.0 + np.exp(-x))


def _round_half_even(x):
    return np.round(x)


# name -> (numpy float64 reference, input range (low, high))
UNARY = {
    "neg": (np.negative, (-3, 3)),
    "abs": (np.abs, (-3, 3)),
    "exp": (np.exp, (-10, 10)),
    "log": (np.log, (0.01, 100)),
    "sqrt": (np.sqrt, (0.0, 100)),
    "sigmoid": (_sigmoid, (-20, 20)),
    "tanh": (np.tanh, (-10, 10)),
    "relu": (lambda x: np.maximum(x, 0.0), (-3, 3)),
    "sign": (np.sign, (-3, 3)),
    "reciprocal": (lambda x: 1.0 / x, (0.1, 10)),
    "square": (np.square, (-30, 30)),
    "sin": (np.sin, (-10, 10)),
    "cos": (np.cos, (-10, 10)),
    "floor": (np.floor, (-50, 50)),
    "ceil": (np.ceil, (-50, 50)),
    "round": (_round_half_even, (-50, 50)),
}

def _unary_input(rng, shape, dtype, name):
    low, high = UNARY[name][1]
    a = make_array(rng, shape, dtype, low, high)
    if name == "reciprocal":  # symmetric range away from zero
        a = a * np.where(rng.integers(0, 2, size=shape) == 1, 1, -1).astype(a.dtype)
    return a


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_method_and_function(name, shape, dtype, device, rng):
    a = _unary_input(rng, shape, dtype, name)
    t = dlcore.tensor(a, device=device)
    ref = UNARY[name][0](a.astype(np.float64))
    assert_close(getattr(t, name)(), ref, dtype)
    assert_close(getattr(dlcore, name)(t), ref, dtype)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_on_non_contiguous(name, device, rng):
    a = _unary_input(rng, (33, 20), "float32", name)
    t = dlcore.tensor(a, device=device)
    ref = UNARY[name][0](a.astype(np.float64))
    assert_close(getattr(t.T, name)(), ref.T, "float32")
    assert_close(getattr(t[1::3, ::2], name)(), ref[1::3, ::2], "float32")


def test_unary_operators(device, rng):
    a = make_array(rng, (31, 5), "float32", -3, 3)
    t = dlcore.tensor(a, device=device)
    assert_close(-t, -a.astype(np.float64), "float32")
    assert_close(abs(t), np.abs(a.astype(np.float64)), "float32")


def test_round_half_to_even():
    t = dlcore.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.5])
    np.testing.assert_array_equal(to_numpy(t.round()), np.round(to_numpy(t)))


def test_sign_of_zero_and_relu_of_zero():
    t = dlcore.tensor([0.0, -0.0, 2.0, -3.0])
    assert t.sign().tolist() == [0.0, 0.0, 1.0, -1.0]
    assert t.relu().tolist() == [0.0, 0.0, 2.0, 0.0]


@np.errstate(over="ignore", divide="ignore", invalid="ignore")
@pytest.mark.parametrize("n", [1, 7, 8, 9, 1000, 100_003])
@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh", "log"])
def test_exp_family_float32_fast_path(name, n, rng):
    # Contiguous float32 exp / log / sigmoid / tanh take the 8-lane polynomial path (AVX2
    # machines): every length (tails of 1..7), IEEE specials and both ends of the float range,
    # against float64 within 4 ulp; a transposed view takes the scalar path and must agree.
    x = (rng.standard_normal(n) * 30).astype(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 88.7, 88.8, -87.0, -103.0, 1e-30,
                        -1e-30, 0.6249, 0.6251, 20.0, -20.0], dtype=np.float32)
    if name == "log":   # positives over the whole range, subnormals, around 1, and specials
        x = np.abs(x) * np.float32(10.0) ** rng.integers(-40, 38, n).astype(np.float32)
        special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1.0, 1.0000001, 0.99999994,
                            0.70710677, 0.7071068, 1e-45, 3e-39, 3.4e38, 2.0], dtype=np.float32)
    x[: min(n, special.size)] = special[: min(n, special.size)]
    ref = {"exp": np.exp, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
           "log": np.log}[name]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        want = ref(x.astype(np.float64))
    got = to_numpy(getattr(dlcore.tensor(x), name)()).astype(np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    fin = ok & (np.abs(want) < np.finfo(np.float32).max)
    np.testing.assert_array_equal(got[ok & ~fin], want[ok & ~fin].astype(np.float32))
    tiny = np.finfo(np.float32).tiny
    np.testing.assert_array_less(np.abs(got[fin] - want[fin]),
                                 4 * np.finfo(np.float32).eps * np.abs(want[fin]) + tiny)
    if n > 1:
        m = dlcore.tensor(np.stack([x, x]))           # column view: not contiguous
        col = to_numpy(getattr(m.T, name)()).astype(np.float64)[:, 0]
        np.testing.assert_allclose(col[ok], got[ok], rtol=4e-7, atol=tiny)


def test_unary_special_values():
    t = dlcore.tensor([0.0, -1.0, float("inf")])
    assert np.isnan(t.log().tolist()[1]) and t.log().tolist()[0] == -np.inf
    assert np.isnan(t.sqrt().tolist()[1])
    assert t.exp().tolist()[2] == np.inf
    big = dlcore.tensor([-200.0, 200.0, -1e30, 1e30])
    assert_close(big.sigmoid(), _sigmoid(np.array([-200.0, 200.0, -1e30, 1e30])), "float32")
    assert_close(big.tanh(), np.tanh(np.array([-200.0, 200.0, -1e30, 1e30])), "float32")


@pytest.mark.parametrize("dtype", ["int64"])
def test_unary_int64(dtype, device, rng):
    a = make_array(rng, (257,), dtype, -1000, 1000)
    t = dlcore.tensor(a, device=device)
    assert_close(-t, -a, "int64")
    assert_close(t.abs(), np.abs(a), "int64")
    assert_close(t.neg(), -a, "int64")
    assert_close(t.square(), a * a, "int64")
    assert_close(t.sign(), np.sign(a), "int64")


# ---------------------------------------------------------------------------------------------
# binary ops

BINARY = {
    "add": (lambda x, y: x + y, np.add),
    "sub": (lambda x, y: x - y, np.subtract),
    "mul": (lambda x, y: x * y, np.multiply),
    "div": (lambda x, y: x / y, np.divide),
    "pow": (lambda x, y: x ** y, np.power),
    "maximum": (dlcore.maximum, np.maximum),
    "minimum": (dlcore.minimum, np.minimum),
}


def _binary_inputs(rng, sa, sb, dtype, name):
    if name == "pow":
        a = make_array(rng, sa, dtype, 0.1, 4)
        b = make_array(rng, sb, dtype, -2, 2)
    elif name == "div":
        a = make_array(rng, sa, dtype, -4, 4)
        b = make_array(rng, sb, dtype, 0.5, 4) * np.where(rng.integers(0, 2, size=sb), 1, -1).astype(dtype)
    else:
        a = make_array(rng, sa, dtype, -4, 4)
        b = make_array(rng, sb, dtype, -4, 4)
    return np.asarray(a), np.asarray(b)


BINARY_SHAPES = [
    ((0,), (0,)), ((1,), (1,)), ((7,), (7,)), ((31, 5), (31, 5)), ((257,), (257,)),
    ((1000,), (1000,)), ((3, 1, 5), (4, 1)), ((4, 1), (3, 1, 5)), ((31, 5), (5,)),
    ((1,), (257,)), ((2, 0, 3), (1, 3)), ((), (7,)), ((6, 1, 4, 1), (5, 1, 3)),
]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("sa,sb", BINARY_SHAPES)
def test_binary_float32(name, sa, sb, device, rng):
    a, b = _binary_inputs(rng, sa, sb, "float32", name)
    op, ref = BINARY[name]
    out = op(dlcore.tensor(a, device=device), dlcore.tensor(b, device=device))
    assert_close(out, ref(a.astype(np.float64), b.astype(np.float64)), "float32",
                 rtol=1e-5 if name != "pow" else 2e-5)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("sa,sb", [((257,), (257,)), ((3, 1, 5), (4, 1))])
def test_binary_float64(name, sa, sb, rng):
    a, b = _binary_inputs(rng, sa, sb, "float64", name)
    op, ref = BINARY[name]
    assert_close(op(dlcore.tensor(a), dlcore.tensor(b)), ref(a, b), "float64")


@pytest.mark.parametrize("name", ["add", "sub", "mul", "maximum", "minimum"])
def test_binary_int64(name, device, rng):
    a = make_array(rng, (31, 5), "int64", -10**6, 10**6)
    b = make_array(rng, (5,), "int64", -10**6, 10**6)
    op, ref = BINARY[name]
    assert_close(op(dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)), ref(a, b), "int64")


def test_int64_overflow_wraps_like_numpy(device):
    # int64 arithmetic wraps modulo 2^64 (NumPy's values), on both devices; INT64_MIN // -1
    # and -INT64_MIN wrap instead of trapping.
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    a = np.array([hi, lo, lo, hi, 3, lo], dtype=np.int64)
    b = np.array([1, -1, 2, 2, -1, -1], dtype=np.int64)
    ta, tb = dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)
    with np.errstate(over="ignore"):
        assert_close(ta + tb, a + b, "int64")
        assert_close(ta - tb, a - b, "int64")
        assert_close(ta * tb, a * b, "int64")
        assert_close(-ta, -a, "int64")
        assert_close(abs(ta), np.abs(a), "int64")
    assert np.array_equal(to_numpy(ta // tb), np.array([hi, lo, lo // 2, hi // 2, -3, lo]))


def test_int64_true_division_gives_float32(device):
    a = dlcore.tensor([7, -7, 1, 0], device=device)
    b = dlcore.tensor([2, 2, 3, 5], device=device)
    assert_close(a / b, np.array([3.5, -3.5, 1 / 3, 0.0]), "float32")
    assert_close(a / 2, np.array([3.5, -3.5, 0.5, 0.0]), "float32")


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum"])
def test_binary_non_contiguous(name, device, rng):
    a, b = _binary_inputs(rng, (20, 33), (33, 20), "float32", name)
    ta, tb = dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)
    op, ref = BINARY[name]
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert_close(op(ta, tb.T), ref(a64, b64.T), "float32", rtol=2e-5)
    assert_close(op(ta[::2, 1::3], tb.T[::2, 1::3]), ref(a64[::2, 1::3], b64.T[::2, 1::3]), "float32", rtol=2e-5)
    # an expanded (stride-0) operand
    col = dlcore.tensor(a[:, :1], device=device).expand(20, 33)
    assert_close(op(col, tb.T), ref(np.broadcast_to(a64[:, :1], (20, 33)), b64.T), "float32", rtol=2e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scalars_on_both_sides(dtype, device, rng):
    a = make_array(rng, (7, 3), dtype, 0.5, 3)
    t = dlcore.tensor(a, device=device)
    x = a.astype(np.float64)
    cases = [
        (t + 2, x + 2), (2 + t, 2 + x), (t - 2.5, x - 2.5), (2.5 - t, 2.5 - x),
        (t * 3, x * 3), (3 * t, 3 * x), (t / 4, x / 4), (4 / t, 4 / x),
        (t ** 2, x ** 2), (2 ** t, 2 ** x), (t ** 0.5, x ** 0.5), (t.pow(3), x ** 3),
        (dlcore.pow(t, 1.5), x ** 1.5), (dlcore.maximum(t, dlcore.tensor(1.5, dtype=t.dtype, device=device)),
                                         np.maximum(x, 1.5)),
    ]
    for got, ref in cases:
        assert_close(got, ref, dtype)


def test_scalar_ops_int64(device):
    t = dlcore.tensor([1, 2, 3, -4], device=device)
    assert_close(t + 1, np.array([2, 3, 4, -3]), "int64")
    assert_close(10 - t, np.array([9, 8, 7, 14]), "int64")
    assert_close(t * -2, np.array([-2, -4, -6, 8]), "int64")
    assert_close(t + 0.5, np.array([1.5, 2.5, 3.5, -3.5]), "float32")
    assert_close(t * 1.5, np.array([1.5, 3.0, 4.5, -6.0]), "float32")


def test_floor_divide_scalars_and_tensors(device):
    # floor division rounds toward -inf, as Python's // and np.floor_divide do
    a = np.array([7, -7, 6, -1, 0], dtype=np.int64)
    t = dlcore.tensor(a, device=device)
    assert_close(dlcore.floor_divide(t, 2), np.floor_divide(a, 2), "int64")
    assert_close(dlcore.floor_divide(20, t[:4]), np.floor_divide(20, a[:4]), "int64")
    assert_close(t // 3, a // 3, "int64")
    for x, y in ((7, 2), (-7, 2), (7, -2)):   # two Python ints: a 0-d int64 tensor, as add(7, 2)
        r = dlcore.floor_divide(x, y)
        assert r.dtype is dlcore.int64 and r.ndim == 0 and r.item() == x // y
    assert dlcore.floor_divide(7.5, 2).item() == 3.0


# ---------------------------------------------------------------------------------------------
# type promotion

F32, F64, I64, BOOL = dlcore.float32, dlcore.float64, dlcore.int64, dlcore.bool

PROMOTION = [
    # (lhs dtype, rhs dtype, result of +)
    (F32, F32, F32), (F64, F64, F64), (I64, I64, I64),
    (F32, F64, F64), (F64, F32, F64),
    (I64, F32, F32), (F32, I64, F32), (I64, F64, F64),
    (BOOL, I64, I64), (BOOL, F32, F32), (I64, BOOL, I64),
]


@pytest.mark.parametrize("lhs,rhs,res", PROMOTION)
def test_type_promotion_tensors(lhs, rhs, res, device):
    a = dlcore.ones(3, dtype=lhs, device=device)
    b = dlcore.ones(3, dtype=rhs, device=device)
    out = a + b
    assert out.dtype == res
    assert out.tolist() == [2, 2, 2]
    assert (a * b).dtype == res


def test_type_promotion_scalars_and_zero_dim(device):
    i = dlcore.tensor([1, 2], device=device)
    f = dlcore.tensor([1.0, 2.0], device=device)
    d = dlcore.tensor([1.0, 2.0], dtype=dlcore.float64, device=device)
    assert (i + 1).dtype == I64
    assert (i + 1.5).dtype == F32
    assert (1.5 * i).dtype == F32
    assert (f + 1).dtype == F32
    assert (f + 1.5).dtype == F32
    assert (d + 1.5).dtype == F64
    assert (i / i).dtype == F32
    assert (i / 2).dtype == F32
    # a 0-dim tensor of a higher dtype in the same category does not promote
    zd = dlcore.tensor(2.0, dtype=dlcore.float64, device=device)
    out = f + zd
    assert out.dtype == F32
    assert out.tolist() == [3.0, 4.0]
    assert (zd * f).dtype == F32


# ---------------------------------------------------------------------------------------------
# comparisons, where, clamp

COMPARISONS = [
    ("==", lambda x, y: x == y, np.equal), ("!=", lambda x, y: x != y, np.not_equal),
    ("<", lambda x, y: x < y, np.less), ("<=", lambda x, y: x <= y, np.less_equal),
    (">", lambda x, y: x > y, np.greater), (">=", lambda x, y: x >= y, np.greater_equal),
]


@pytest.mark.parametrize("sym,op,ref", COMPARISONS, ids=[c[0] for c in COMPARISONS])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_comparisons(sym, op, ref, dtype, device, rng):
    # few distinct values so equality happens often
    a = rng.integers(-2, 3, size=(31, 5)).astype(dtype)
    b = rng.integers(-2, 3, size=(5,)).astype(dtype)
    ta, tb = dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)
    assert_close(op(ta, tb), ref(a, b), "bool")
    assert_close(op(ta, 1), ref(a, 1), "bool")
    assert_close(op(ta.T, tb[:, None]), ref(a.T, b[:, None]), "bool")


def test_comparison_mixed_dtypes(device):
    i = dlcore.tensor([1, 2, 3], device=device)
    f = dlcore.tensor([1.0, 2.5, 3.0], device=device)
    assert (i == f).tolist() == [True, False, True]
    assert (i < 2.5).tolist() == [True, True, False]
    assert (f == float("nan")).tolist() == [False, False, False]
    n = dlcore.tensor([float("nan"), 1.0], device=device)
    assert (n != n).tolist() == [True, False]


def test_where(device, rng):
    c = rng.integers(0, 2, size=(4, 1, 5)).astype(bool)
    a = make_array(rng, (3, 5), "float32")
    b = make_array(rng, (4, 3, 1), "float32")
    tc, ta, tb = (dlcore.tensor(v, device=device) for v in (c, a, b))
    assert_close(dlcore.where(tc, ta, tb), np.where(c, a, b).astype(np.float64), "float32")
    assert_close(dlcore.where(tc, ta, 0.0), np.where(c, a, 0.0).astype(np.float64), "float32")
    assert_close(dlcore.where(tc, -1.0, tb), np.where(c, -1.0, b).astype(np.float64), "float32")
    x = make_array(rng, (257,), "float64")
    tx = dlcore.tensor(x, device=device)
    assert_close(dlcore.where(tx > 0, tx, tx * 2), np.where(x > 0, x, x * 2), "float64")
    assert_close(dlcore.where(tx[:256:2] > 0, tx[1::2], tx[:256:2]),
                 np.where(x[:256:2] > 0, x[1::2], x[:256:2]), "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clamp(dtype, device, rng):
    a = make_array(rng, (1000,), dtype, -3, 3)
    t = dlcore.tensor(a, device=device)
    x = a.astype(np.float64)
    assert_close(t.clamp(-0.5, 0.75), np.clip(x, -0.5, 0.75), dtype)
    assert_close(t.clamp(min=0.0), np.maximum(x, 0.0), dtype)
    assert_close(t.clamp(max=0.25), np.minimum(x, 0.25), dtype)
    assert_close(dlcore.clamp(t, -1.0, 1.0), np.clip(x, -1.0, 1.0), dtype)
    assert_close(t.reshape(100, 10).T.clamp(-1, 1), np.clip(x.reshape(100, 10).T, -1, 1), dtype)


def test_clamp_int64(device):
    t = dlcore.tensor([-5, 0, 3, 9], device=device)
    assert_close(t.clamp(0, 4), np.array([0, 0, 3, 4]), "int64")


# ---------------------------------------------------------------------------------------------
# in-place

def test_inplace_methods(device, rng):
    a = make_array(rng, (31, 5), "float32", 1, 2)
    b = make_array(rng, (5,), "float32", 1, 2)
    x, y = a.astype(np.float64), b.astype(np.float64)
    t = dlcore.tensor(a, device=device)
    tb = dlcore.tensor(b, device=device)
    assert t.add_(tb) is t
    x = x + y
    t.sub_(0.5)
    x = x - 0.5
    t.mul_(tb)
    x = x * y
    t.div_(2)
    x = x / 2
    t.div_(tb)
    x = x / y
    assert_close(t, x, "float32")
    t.fill_(3.0)
    assert np.all(to_numpy(t) == 3.0)
    t.zero_()
    assert np.all(to_numpy(t) == 0.0)


def test_inplace_operators_keep_identity(device, rng):
    a = make_array(rng, (257,), "float64")
    t = dlcore.tensor(a, device=device)
    view = t[10:20]
    ident = id(t)
    t += 1.0
    t -= dlcore.tensor(a, device=device)
    t *= 4
    t /= 2
    assert id(t) == ident
    assert_close(t, ((a + 1.0) - a) * 4 / 2, "float64")
    # the earlier view sees the writes: the op really was in place
    assert_close(view, (((a + 1.0) - a) * 4 / 2)[10:20], "float64")


def test_inplace_on_non_contiguous_view_writes_base(device):
    base = dlcore.zeros(3, 4, device=device)
    base.T.add_(dlcore.arange(3, dtype=dlcore.float32, device=device))
    np.testing.assert_array_equal(to_numpy(base), np.repeat(np.arange(3.0)[:, None], 4, axis=1))
    base[:, ::2].mul_(10)
    expect = np.repeat(np.arange(3.0)[:, None], 4, axis=1)
    expect[:, ::2] *= 10
    np.testing.assert_array_equal(to_numpy(base), expect)
    base[1].fill_(-1)
    expect[1] = -1
    np.testing.assert_array_equal(to_numpy(base), expect)
    base[:, 1:3].zero_()
    expect[:, 1:3] = 0
    np.testing.assert_array_equal(to_numpy(base), expect)


def test_inplace_int64(device):
    t = dlcore.tensor([1, 2, 3], device=device)
    t += 2
    t *= 3
    t -= dlcore.tensor([1, 1, 1], device=device)
    assert t.dtype == dlcore.int64
    assert t.tolist() == [8, 11, 14]


# ---------------------------------------------------------------------------------------------
# hypothesis broadcasting fuzz

FUZZ_OPS = {
    "add": (lambda x, y: x + y, np.add),
    "sub": (lambda x, y: x - y, np.subtract),
    "mul": (lambda x, y: x * y, np.multiply),
    "maximum": (dlcore.maximum, np.maximum),
    "minimum": (dlcore.minimum, np.minimum),
    "lt": (lambda x, y: x < y, np.less),
    "eq": (lambda x, y: x == y, np.equal),
}


@settings(max_examples=60, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4),
    op=st.sampled_from(sorted(FUZZ_OPS)),
    dtype=st.sampled_from(["float32", "float64", "int64"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_broadcast_fuzz(shapes, op, dtype, seed):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a = make_array(rng, sa, dtype, -3, 3)
    b = make_array(rng, sb, dtype, -3, 3)
    fn, ref = FUZZ_OPS[op]
    out = fn(dlcore.tensor(a), dlcore.tensor(b))
    expected = ref(a.astype(np.float64), b.astype(np.float64))
    assert tuple(out.shape) == tuple(shapes.result_shape)
    rdtype = "bool" if op in ("lt", "eq") else dtype
    assert_close(out, expected, rdtype)


@settings(max_examples=40, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=4, min_side=2, max_side=4),
    data=st.data(),
)
def test_broadcast_mismatch_fuzz(shapes, data):
    sa, sb = shapes.input_shapes
    # Make one dimension incompatible: pick an axis both operands have and set b's side to a
    # size that is neither 1 nor a's side.
    common = min(len(sa), len(sb))
    if common == 0:
        return
    ax = data.draw(st.integers(1, common))
    sa, sb = list(sa), list(sb)
    if sa[-ax] == 1:
        sa[-ax] = 2
    sb[-ax] = sa[-ax] + 1
    with pytest.raises(ValueError):
        dlcore.ones(*sa) + dlcore.ones(*sb)


# ---------------------------------------------------------------------------------------------
# IEEE special cases, NaN, and sizes large enough to be split across threads

@np.errstate(divide="ignore", invalid="ignore")
def test_division_by_zero_is_ieee(device):
    f = dlcore.tensor([1.0, -1.0, 0.0], device=device)
    assert_close(f / 0.0, np.array([1.0, -1.0, 0.0]) / 0.0, "float32")
    i = dlcore.tensor([1, -1, 0], device=device)
    z = dlcore.tensor([0, 0, 0], device=device)
    assert_close(i / z, np.array([1.0, -1.0, 0.0]) / 0.0, "float32")


def test_maximum_minimum_propagate_nan(device):
    a = dlcore.tensor([np.nan, 1.0, 2.0, np.nan], device=device)
    b = dlcore.tensor([0.0, np.nan, 1.0, np.nan], device=device)
    np.testing.assert_array_equal(np.isnan(to_numpy(dlcore.maximum(a, b))), [True, True, False, True])
    np.testing.assert_array_equal(np.isnan(to_numpy(dlcore.minimum(a, b))), [True, True, False, True])


def test_zero_dim_operands(device):
    s = dlcore.tensor(3.0, device=device)
    assert (s * s).shape == ()
    assert (s * s).item() == 9.0
    assert s.exp().shape == ()
    t = dlcore.tensor([[1.0, 2.0]], device=device)
    assert_close(t[0, 1] + t, np.array([[3.0, 4.0]]), "float32")


@pytest.mark.parametrize("name", ["add", "mul", "div", "maximum"])
def test_binary_large_and_strided(name, device, rng):
    op, ref = BINARY[name]
    a, b = _binary_inputs(rng, (1_000_003,), (1_000_003,), "float32", name)
    assert_close(op(dlcore.tensor(a, device=device), dlcore.tensor(b, device=device)),
                 ref(a.astype(np.float64), b.astype(np.float64)), "float32")
    m = make_array(rng, (1001, 1003), "float32", 0.5, 2)
    tm = dlcore.tensor(m, device=device)
    x = m.astype(np.float64)
    m2 = make_array(rng, (1003, 1001), "float32", 0.5, 2)
    assert_close(op(tm.T, dlcore.tensor(m2, device=device)), ref(x.T, m2.astype(np.float64)), "float32")
    assert_close(op(tm[:, :1002:2], tm[:, 1::2]), ref(x[:, :1002:2], x[:, 1::2]), "float32")


def test_unary_large_strided(device, rng):
    m = make_array(rng, (1001, 1003), "float32", -5, 5)
    t = dlcore.tensor(m, device=device)
    x = m.astype(np.float64)
    assert_close(t.T.exp(), np.exp(x.T), "float32")
    assert_close(t[::3, 1::2].tanh(), np.tanh(x[::3, 1::2]), "float32")
    assert_close(t.reshape(-1).sigmoid(), _sigmoid(x.reshape(-1)), "float32")


@pytest.mark.parametrize("path", ["generic", None])
def test_elementwise_cpu_paths(path, monkeypatch, rng):
    if path:
        monkeypatch.setenv("DLCORE_CPU_PATH", path)
    a = make_array(rng, (1031,), "float32", 0.1, 4)
    b = make_array(rng, (1031,), "float32", 0.1, 4)
    ta, tb = dlcore.tensor(a), dlcore.tensor(b)
    x, y = a.astype(np.float64), b.astype(np.float64)
    for name in sorted(UNARY):
        assert_close(getattr(ta, name)(), UNARY[name][0](x), "float32")
    for name in sorted(BINARY):
        assert_close(BINARY[name][0](ta, tb), BINARY[name][1](x, y), "float32", rtol=2e-5)
    assert_close(ta.sum(), x.sum(), "float32", scale=float(np.abs(x).sum()))

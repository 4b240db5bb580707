# conftest.py — shared fixtures and helpers for the dlcore test suite.
#
# Every numerical test compares dlcore against a NumPy reference computed in float64 from the
# *same* inputs (float32 inputs are upcast before the reference is computed), so the only error
# left is the rounding of the op under test. Tolerances live here, in one place, by dtype.
import os
import re

import numpy as np
import pytest

import dlcore

try:
    from hypothesis import HealthCheck, settings

    # Derandomized: the same examples every run, so a failure is reproducible and the suite
    # is deterministic. No example database is written into the source tree.
    settings.register_profile(
        "dlcore",
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.load_profile(os.environ.get("DLCORE_HYPOTHESIS_PROFILE", "dlcore"))
except ImportError:  # hypothesis is a test extra; its tests importorskip it themselves
    pass


CUDA_AVAILABLE = bool(dlcore.cuda.is_available())
NO_CUDA_REASON = "no CUDA device (dlcore.cuda.is_available() is False)"

# `@requires_cuda` (alias of `@pytest.mark.cuda`): the collection hook below skips every test
# carrying the `cuda` marker, with NO_CUDA_REASON, on a machine without a GPU.
requires_cuda = pytest.mark.cuda

DEVICES = ["cpu"] + (["cuda"] if CUDA_AVAILABLE else [])


def pytest_collection_modifyitems(config, items):
    if CUDA_AVAILABLE:
        return
    skip = pytest.mark.skip(reason=NO_CUDA_REASON)
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device(request):
    """Runs a test once per available device: "cpu", and "cuda" when a GPU is present."""
    return request.param


@pytest.fixture
def rng():
    """A NumPy generator with a fixed seed: every test sees the same inputs on every run."""
    return np.random.default_rng(12345)


# ---------------------------------------------------------------------------------------------
# dtype plumbing

_NP_OF = {
    "float32": np.float32,
    "float64": np.float64,
    "int64": np.int64,
    "bool": np.bool_,
}


def dtype_name(dtype):
    """'float32' | 'float64' | 'int64' | 'bool' for a dlcore dtype, numpy dtype or string."""
    if isinstance(dtype, dlcore.dtype):
        return dtype.name
    return np.dtype(dtype).name


def np_dtype(dtype):
    return _NP_OF[dtype_name(dtype)]


def dl_dtype(dtype):
    return getattr(dlcore, dtype_name(dtype))


# Tolerances by dtype: (rtol, atol). atol is scaled by the magnitude of the reference (its
# largest absolute value, or an explicit `scale`) so that a test on values of size 1e3 is held
# to the same *relative* standard as one on values of size 1.
TOLERANCES = {
    "float32": (1e-5, 1e-5),
    "float64": (1e-12, 1e-12),
    "int64": (0.0, 0.0),
    "bool": (0.0, 0.0),
}


def to_numpy(x):
    """A NumPy array holding the values of a dlcore tensor (any device) or array-like."""
    if isinstance(x, dlcore.Tensor):
        if x.is_cuda:
            x = x.cpu()
        return np.array(x.numpy(), copy=True)
    return np.asarray(x)


def assert_close(actual, expected, dtype, rtol=None, atol=None, scale=None, check_dtype=True):
    """Compare `actual` (dlcore tensor or array) with `expected` (a float64/int64/bool NumPy
    reference) under the tolerances of `dtype`.

    Checks the shape exactly, the dtype of a dlcore tensor (when check_dtype), that NaNs sit at
    the same places, and |actual - expected| <= atol * max(1, scale) + rtol * |expected|.
    """
    name = dtype_name(dtype)
    if isinstance(actual, dlcore.Tensor) and check_dtype:
        assert actual.dtype == dl_dtype(name), f"dtype: got {actual.dtype}, expected dlcore.{name}"
    a = to_numpy(actual)
    e = np.asarray(expected)
    assert tuple(a.shape) == tuple(e.shape), f"shape: got {a.shape}, expected {e.shape}"
    if name in ("int64", "bool"):
        np.testing.assert_array_equal(a, e.astype(_NP_OF[name]))
        return
    r0, a0 = TOLERANCES[name]
    rtol = r0 if rtol is None else rtol
    atol = a0 if atol is None else atol
    a64 = a.astype(np.float64)
    e64 = e.astype(np.float64)
    if scale is None:
        finite = e64[np.isfinite(e64)]
        scale = float(np.max(np.abs(finite))) if finite.size else 1.0
    atol_eff = atol * max(1.0, float(scale))
    np.testing.assert_array_equal(np.isnan(a64), np.isnan(e64), err_msg="NaN positions differ")
    inf = np.isinf(e64)
    np.testing.assert_array_equal(a64[inf], e64[inf], err_msg="infinities differ")
    ok = ~np.isnan(e64) & ~inf
    err = np.abs(a64[ok] - e64[ok])
    bound = atol_eff + rtol * np.abs(e64[ok])
    if err.size and not np.all(err <= bound):
        i = int(np.argmax(err - bound))
        raise AssertionError(
            f"not close ({name}): max excess at flat index {i}: got {a64[ok][i]!r}, "
            f"expected {e64[ok][i]!r}, |err|={err[i]:.3g} > bound={bound[i]:.3g} "
            f"(rtol={rtol}, atol={atol_eff:.3g}); {int(np.sum(err > bound))} of {err.size} off"
        )


def make_array(rng, shape, dtype, low=-1.0, high=1.0):
    """Random NumPy input of `dtype` (float: uniform [low, high); int64: integers in
    [low, high]; bool: fair coin)."""
    name = dtype_name(dtype)
    # np.asarray: a 0-d draw must stay an array (a NumPy *scalar* np.float64 is also a Python
    # float, which dlcore.tensor would rightly read as float32).
    if name in ("float32", "float64"):
        return np.asarray(rng.uniform(low, high, size=shape).astype(_NP_OF[name]))
    if name == "int64":
        return np.asarray(rng.integers(int(low), int(high) + 1, size=shape, dtype=np.int64))
    return np.asarray(rng.integers(0, 2, size=shape).astype(np.bool_))


def make_tensor(rng, shape, dtype, device="cpu", low=-1.0, high=1.0):
    """(dlcore tensor on `device`, the NumPy array it was made from)."""
    a = make_array(rng, shape, dtype, low, high)
    return dlcore.tensor(a, device=device), a


def shape_in_message(message, shape):
    """True when the dims of `shape` appear, in order and adjacent, among the integers of
    `message` — whatever the formatting: (2, 3), [2, 3], 2x3, torch.Size([2, 3])."""
    ints = [int(s) for s in re.findall(r"-?\d+", message)]
    dims = list(shape)
    if not dims:
        return True
    return any(ints[i:i + len(dims)] == dims for i in range(len(ints) - len(dims) + 1))


def assert_names_shapes(excinfo, *shapes):
    msg = str(excinfo.value)
    for s in shapes:
        assert shape_in_message(msg, s), f"message does not name shape {tuple(s)}: {msg!r}"


def assert_names_op(excinfo, *aliases):
    msg = str(excinfo.value).lower()
    assert any(a.lower() in msg for a in aliases), f"message names none of {aliases}: {msg!r}"


def T(a, **kw):
    """A dlcore tensor from anything np.asarray takes."""
    return dlcore.tensor(np.asarray(a), **kw)


def tt(a):
    """A torch tensor holding a copy of `a` (for the reference side of a comparison)."""
    import torch
    return torch.from_numpy(np.array(a, copy=True))


def load_example(name):
    """Imports examples/<name>.py as a module (the examples are scripts, not a package)."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

"""SIMD Philox (csrc/cpu/philox_avx2.cpp, philox_avx512.cpp) against the scalar path.

Dropout masks and rand/randn must be the same function of (seed, counter) on every CPU path and
on CUDA (dropout's backward regenerates its mask). Each case runs in subprocesses with
DLCORE_CPU_PATH=generic (scalar), =avx2 and unset (AVX-512 where the CPU has it) and the outputs
must be equal bit for bit. The scalar path itself is checked against an independent NumPy
implementation of Philox4x32-10, so the comparison is not only the code against itself."""
import os
import subprocess
import sys

import numpy as np
import pytest

import dlcore
from dlcore import _C
from dlcore.tensor import _wrap

SIZES = [0, 1, 3, 4, 5, 17, 1000, 4099, 100003]
U64 = (1 << 64) - 1
# (seed, offset): offsets off a multiple of 4, across the 2^32 carry of the counter's low word,
# and at the 2^64 wrap (dropout's block index c >> 2 wraps at 2^62).
CASES = [(0, 0), (0x5EED, 1), (42, 3), (U64, 6), (0x123456789ABCDEF, (1 << 32) - 7),
         (7, (1 << 34) - 2), (99, U64 - 9)]
PROBS = [0.0, 0.3, 0.5, 0.9999999]                # the last rounds to 1.0f: everything dropped


def np_philox(seed, ctr):
    """Philox4x32-10 in uint64 NumPy arithmetic (Salmon et al.), ctr: uint64 array -> 4 words."""
    M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
    mask = np.uint64(0xFFFFFFFF)
    ctr = np.asarray(ctr, dtype=np.uint64)
    c0, c1 = ctr & mask, ctr >> np.uint64(32)
    c2 = c3 = np.zeros_like(c0)
    k0, k1 = seed & 0xFFFFFFFF, seed >> 32
    for _ in range(10):
        p0, p1 = np.uint64(M0) * c0, np.uint64(M1) * c2            # < 2^64: exact
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & mask,
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & mask)
        k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
    return c0, c1, c2, c3


def np_dropout(x, p, seed, offset):
    c = (np.uint64(offset) + np.arange(x.size, dtype=np.uint64))    # wraps mod 2^64
    words = np.stack(np_philox(seed, c >> np.uint64(2)))
    w = words[(c & np.uint64(3)).astype(np.int64), np.arange(x.size)]
    u = (w >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)
    keep = u >= np.float32(p)
    scale = x.dtype.type(1.0 / (1.0 - p))
    return np.where(keep, x * scale, x.dtype.type(0))


def np_uniform(n, dtype, seed, offset, low, high):
    w0, w1, _, _ = np_philox(seed, np.uint64(offset) + np.arange(n, dtype=np.uint64))
    if dtype == np.float32:
        u = ((w0 >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)).astype(np.float64)
    else:
        u = ((w0 << np.uint64(21)) ^ (w1 >> np.uint64(11))).astype(np.float64) * 2.0 ** -53
    return (low + (high - low) * u).astype(dtype)


def dropout(x, p, seed, offset):
    return np.asarray(_wrap(_C.dropout(dlcore.tensor(x)._impl, float(p), seed, offset)))


def fill(kind, n, dtype, seed, offset, a, b):
    t = dlcore.empty(n, dtype=getattr(dlcore, dtype))
    getattr(_C, kind + "_")(t._impl, seed, offset, float(a), float(b))
    return np.asarray(t)


def inputs(n, dtype):
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    if n > 3:
        x[1], x[2] = np.nan, -0.0                   # dropped NaN -> +0, kept -0 * s -> -0
    return x


# Runs every case of the path comparison in one interpreter and saves the results (one .npz).
_SCRIPT = r"""
import sys, numpy as np, dlcore
sys.path.insert(0, sys.argv[2])
import test_random_simd as t
dlcore.set_num_threads(int(sys.argv[3]))
res = {}
for n in t.SIZES:
    for ci, (seed, off) in enumerate(t.CASES):
        for dt in ("float32", "float64"):
            x = t.inputs(n, dt)
            for pi, p in enumerate(t.PROBS):
                res[f"drop_{n}_{ci}_{dt}_{pi}"] = t.dropout(x, p, seed, off)
            res[f"unif_{n}_{ci}_{dt}"] = t.fill("uniform", n, dt, seed, off, -2.0, 3.0)
            res[f"rand_{n}_{ci}_{dt}"] = t.fill("uniform", n, dt, seed, off, 0.0, 1.0)
            res[f"norm_{n}_{ci}_{dt}"] = t.fill("normal", n, dt, seed, off, 1.0, 2.0)
np.savez(sys.argv[1], **res)
"""


def _run_path(tmp_path, path, threads):
    out = tmp_path / f"{path}_{threads}.npz"
    env = dict(os.environ)
    env.pop("DLCORE_CPU_PATH", None)
    if path != "native":
        env["DLCORE_CPU_PATH"] = path
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    subprocess.run([sys.executable, str(script), str(out), os.path.dirname(__file__), str(threads)],
                   env=env, check=True)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("philox")
    runs = {(p, th): _run_path(tmp, p, th) for p in ("generic", "avx2", "native") for th in (1, 2)}
    return runs


def test_simd_paths_bit_identical_to_scalar(results):
    ref = results[("generic", 1)]
    assert len(ref) == len(SIZES) * len(CASES) * 2 * (len(PROBS) + 3)
    for key, r in results.items():
        assert r.keys() == ref.keys()
        for name in ref:
            a, b = ref[name], r[name]
            assert a.dtype == b.dtype and a.shape == b.shape, (key, name)
            # compare the bits: NaN == NaN and -0 != +0 here
            assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), (key, name)


def test_scalar_path_matches_numpy_philox(results):
    ref = results[("generic", 1)]
    for n in (0, 5, 17, 4099):
        for ci, (seed, off) in enumerate(CASES):
            for dt in ("float32", "float64"):
                x = inputs(n, dt)
                for pi, p in enumerate(PROBS):
                    want = np_dropout(x, p, seed, off)
                    got = ref[f"drop_{n}_{ci}_{dt}_{pi}"]
                    assert np.array_equal(want.view(np.uint8), got.view(np.uint8)), (n, ci, dt, p)
                np.testing.assert_array_equal(ref[f"unif_{n}_{ci}_{dt}"],
                                              np_uniform(n, np.dtype(dt), seed, off, -2.0, 3.0))
                np.testing.assert_array_equal(ref[f"rand_{n}_{ci}_{dt}"],
                                              np_uniform(n, np.dtype(dt), seed, off, 0.0, 1.0))


def test_normal_matches_box_muller_reference(results):
    # randn keeps libm's log/cos (scalar) on every path; NumPy's may differ in the last ulp.
    ref = results[("generic", 1)]
    seed, off = CASES[4]
    w0, w1, w2, w3 = np_philox(seed, np.uint64(off) + np.arange(4099, dtype=np.uint64))
    f = (w0 >> np.uint64(8)).astype(np.float64) * 2.0 ** -24, \
        (w1 >> np.uint64(8)).astype(np.float64) * 2.0 ** -24
    d = ((w0 << np.uint64(21)) ^ (w1 >> np.uint64(11))).astype(np.float64) * 2.0 ** -53, \
        ((w2 << np.uint64(21)) ^ (w3 >> np.uint64(11))).astype(np.float64) * 2.0 ** -53
    for dt in ("float32", "float64"):
        a, b = f if dt == "float32" else d             # philox_normal: u1 = 1 - a, u2 = b
        u1, u2 = 1.0 - a, b
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)
        np.testing.assert_allclose(ref[f"norm_4099_4_{dt}"], 1.0 + 2.0 * z,
                                   rtol=1e-6 if dt == "float32" else 1e-12, atol=1e-6)


def test_dropout_thread_split_and_backward_mask():
    # A range split at an element that is not a multiple of 4 must not shift the stream: a
    # dropout of x[k:] at offset + k equals the tail of the dropout of x at offset.
    x = inputs(100003, "float32")
    full = dropout(x, 0.4, 5, 1)
    for k in (1, 2, 3, 5, 63, 64, 65, 129, 4097):
        np.testing.assert_array_equal(dropout(x[k:], 0.4, 5, 1 + k), full[k:])
    # The backward is the same call on the gradient: its mask is the forward's.
    keep = dropout(np.ones_like(x), 0.4, 5, 1) != 0
    np.testing.assert_array_equal(np.where(keep, x * np.float32(1 / 0.6), np.float32(0)), full)

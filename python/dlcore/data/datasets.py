"""Bundled datasets (shipped inside the package, no network) and small synthetic problems.

Bundled (see DATA_SOURCES.md next to this file):
  load_digits()          UCI optical handwritten digits: 1,797 8x8 images, values 0..16, 10 classes
  load_tinyshakespeare() ~1.1 MB of Shakespeare as one str, for character-level language models

Synthetic (all take ``seed``; seed=None draws one from dlcore's global generator, so
``dlcore.manual_seed`` makes them repeatable too):
  make_sin       y = sin(x) + noise on [-pi, pi]            regression, float32 targets
  make_xor       the four XOR points, or n noisy points       2 classes, int64 labels
  make_moons     two interleaving half circles                2 classes
  make_spirals   k interleaved spiral arms                    k classes
"""
from __future__ import annotations

from typing import Optional

import functools
import gzip
import math
from pathlib import Path

import numpy as np

from .. import random as _random
from ..tensor import Tensor, from_numpy

_HERE = Path(__file__).resolve().parent


def _data_file(name: str) -> Path:
    p = _HERE / name
    if not p.is_file():
        raise FileNotFoundError(f"bundled data file {name!r} is missing from {_HERE}; "
                                f"the dlcore installation is incomplete")
    return p


@functools.lru_cache(maxsize=1)
def _digits_array() -> np.ndarray:
    with gzip.open(_data_file("digits.csv.gz"), "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if a.shape != (1797, 65) or a[:, :64].min() < 0 or a[:, :64].max() > 16:
        raise ValueError(f"digits.csv.gz: expected 1797 rows of 64 pixels in 0..16 and a label, "
                         f"got an array of shape {a.shape}")
    a.setflags(write=False)           # the cache is shared; callers get copies
    return a


def load_digits(return_images: bool = True) -> tuple[Tensor, Tensor]:
    """The UCI optical handwritten digits (the scikit-learn ``load_digits`` data).

    Returns (X, y): X float32 of shape (1797, 8, 8) with values 0..16 (or (1797, 64) with
    ``return_images=False``), y int64 of shape (1797,) with labels 0..9 (about 180 of each).
    Each call returns fresh tensors; editing them does not change later calls.
    """
    a = _digits_array()
    X = a[:, :64].astype(np.float32)
    y = a[:, 64].copy()
    if return_images:
        X = X.reshape(-1, 8, 8)
    return from_numpy(X), from_numpy(y)


@functools.lru_cache(maxsize=1)
def load_tinyshakespeare() -> str:
    """The tiny-shakespeare corpus (1,115,394 characters, 65 distinct) as one string."""
    with gzip.open(_data_file("tinyshakespeare.txt.gz"), "rb") as f:
        return f.read().decode("utf-8")


def _rng(seed) -> np.random.Generator:
    if seed is None:
        s, o = _random._next(1)          # one counter of the global stream: repeatable, advancing
        return np.random.default_rng([s & 0xFFFFFFFFFFFFFFFF, o])
    return np.random.default_rng(int(seed) & 0xFFFFFFFFFFFFFFFF)


def _check_n(n, op, minimum=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{op}: n must be an int, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{op}: n must be >= {minimum}, got {n}")
    return int(n)


def _check_noise(noise, op):
    noise = float(noise)
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"{op}: noise must be a finite number >= 0, got {noise}")
    return noise


def _out(X, y, y_dtype):
    return (from_numpy(np.ascontiguousarray(X, dtype=np.float32)),
            from_numpy(np.ascontiguousarray(y, dtype=y_dtype)))


def make_sin(n: int = 256, noise: float = 0.0, seed: Optional[int] = None) -> tuple[Tensor, Tensor]:
    """Regression: x uniform on [-pi, pi] (sorted), y = sin(x) + noise * N(0, 1).

    Returns X float32 (n, 1), y float32 (n, 1).
    """
    n = _check_n(n, "make_sin")
    noise = _check_noise(noise, "make_sin")
    g = _rng(seed)
    x = np.sort(g.uniform(-math.pi, math.pi, size=n))
    y = np.sin(x) + noise * g.standard_normal(n)
    return _out(x[:, None], y[:, None], np.float32)


def make_xor(n: Optional[int] = None, noise: float = 0.0,
             seed: Optional[int] = None) -> tuple[Tensor, Tensor]:
    """XOR. n=None: the four points (0,0), (0,1), (1,0), (1,1) with labels 0, 1, 1, 0.

    n given: n points uniform on [-1, 1]^2, label 1 when the coordinates have different signs,
    the inputs then jittered by noise * N(0, 1) (labels stay those of the clean points).
    Returns X float32 (n, 2), y int64 (n,).
    """
    if n is None:
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
        return _out(X, np.array([0, 1, 1, 0]), np.int64)
    n = _check_n(n, "make_xor")
    noise = _check_noise(noise, "make_xor")
    g = _rng(seed)
    X = g.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    X = X + noise * g.standard_normal((n, 2))
    return _out(X, y, np.int64)


def make_moons(n: int = 200, noise: float = 0.1, seed: Optional[int] = None) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles (class 0 on top, class 1 below), shuffled.

    n // 2 points on the upper moon and the rest on the lower one, evenly spaced in angle,
    plus noise * N(0, 1). Returns X float32 (n, 2), y int64 (n,).
    """
    n = _check_n(n, "make_moons", 2)
    noise = _check_noise(noise, "make_moons")
    g = _rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, math.pi, n0)
    t1 = np.linspace(0.0, math.pi, n1)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + noise * g.standard_normal(X.shape)
    p = g.permutation(n)
    return _out(X[p], y[p], np.int64)


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2,
                 seed: Optional[int] = None) -> tuple[Tensor, Tensor]:
    """``classes`` spiral arms around the origin (the CS231n toy problem), shuffled.

    Arm k has radius r in [0, 1] and angle 4r + 2 pi k / classes (so the arms wind about
    two-thirds of a turn and interleave), the angle jittered by noise * N(0, 1). The n points
    are shared out as evenly as possible. Returns X float32 (n, 2), y int64 (n,).
    """
    n = _check_n(n, "make_spirals")
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"make_spirals: classes must be an int >= 2, got {classes!r}")
    if n < classes:
        raise ValueError(f"make_spirals: n ({n}) must be at least classes ({classes})")
    noise = _check_noise(noise, "make_spirals")
    g = _rng(seed)
    counts = np.full(classes, n // classes)
    counts[: n % classes] += 1
    Xs, ys = [], []
    for k, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        theta = 4.0 * r + 2.0 * math.pi * k / classes + noise * g.standard_normal(m)
        Xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], 1))
        ys.append(np.full(m, k, np.int64))
    X, y = np.concatenate(Xs), np.concatenate(ys)
    p = g.permutation(n)
    return _out(X[p], y[p], np.int64)


def train_test_split(*tensors: Tensor, test_size: float = 0.2, seed: Optional[int] = None) -> list[Tensor]:
    """Splits tensors that share their first dimension into (train, test) parts, shuffled.

    Returns [a_train, a_test, b_train, b_test, ...] like scikit-learn. test_size: a fraction
    in (0, 1) or a count.
    """
    from .dataset import permutation
    if not tensors:
        raise ValueError("train_test_split: needs at least one tensor")
    n = tensors[0].shape[0]
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"train_test_split: expected tensors, got {type(t).__name__}")
        if t.shape[0] != n:
            raise ValueError(f"train_test_split: first dimensions differ: "
                             f"{[tuple(u.shape) for u in tensors]}")
    n_test = int(round(n * test_size)) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves an empty split of {n} samples")
    perm = from_numpy(permutation(n, seed))
    tr, te = perm[n_test:], perm[:n_test]
    out = []
    for t in tensors:
        out += [t[tr.to(t.device)], t[te.to(t.device)]]
    return out

"""Batch image augmentation (dlcore.data.transforms): shapes and types, seeded reproducibility,
that crops and shifts are zero-padded windows within the allowed range, that flips flip,
noise statistics, bad arguments."""
import numpy as np
import pytest

import dlcore
from dlcore.data.transforms import (Compose, GaussianNoise, RandomCrop, RandomHorizontalFlip,
                                    RandomShift)

RNG = np.random.default_rng(3)


def _offset_of(window, padded):
    """All (oy, ox) where `window` sits in `padded` (last two dims)."""
    h, w = window.shape[-2:]
    H, W = padded.shape[-2:]
    return [(oy, ox) for oy in range(H - h + 1) for ox in range(W - w + 1)
            if np.array_equal(padded[..., oy:oy + h, ox:ox + w], window)]


@pytest.mark.parametrize("shape", [(6, 3, 8, 9), (5, 7, 6), (8, 8)])
def test_random_crop_shapes_and_types(shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    out = RandomCrop((5, 4), padding=2, seed=0)(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == shape[:-2] + (5, 4)
    t = RandomCrop(6, padding=1, seed=0)(dlcore.tensor(x.astype(np.float64)))
    assert isinstance(t, dlcore.Tensor) and t.dtype == dlcore.float64
    assert tuple(t.shape) == shape[:-2] + (6, 6)


def test_random_crop_windows_stay_within_padding():
    """Each output image is exactly one window of its zero-padded image, at an offset within
    [0, 2*padding]; over many images every offset, both extremes included, occurs."""
    n, pad = 400, 2
    x = RNG.uniform(1, 2, (n, 2, 5, 6))           # no zeros: a padded border is recognisable
    out = RandomCrop((5, 6), padding=pad, seed=1)(x)
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    seen = set()
    for i in range(n):
        offs = _offset_of(out[i], padded[i])
        assert len(offs) == 1, f"image {i} is not a single window of its padded image"
        seen.add(offs[0])
    assert seen == {(oy, ox) for oy in range(2 * pad + 1) for ox in range(2 * pad + 1)}
    # asymmetric (left, top, right, bottom) padding: the window never leaves the padded image
    out = RandomCrop((5, 6), padding=(1, 0, 3, 2), seed=2)(x[:50, 0])
    padded = np.pad(x[:50, 0], [(0, 0), (0, 2), (1, 3)])
    for i in range(50):
        assert len(_offset_of(out[i], padded[i])) == 1


def test_random_shift():
    n, s = 300, 2
    x = RNG.uniform(1, 2, (n, 3, 7, 7)).astype(np.float32)
    out = RandomShift(s, seed=4)(x)
    assert out.shape == x.shape
    padded = np.pad(x, [(0, 0), (0, 0), (s, s), (s, s)])
    shifts = set()
    for i in range(n):
        offs = _offset_of(out[i], padded[i])
        assert len(offs) == 1
        shifts.add((offs[0][0] - s, offs[0][1] - s))
    assert shifts == {(dy, dx) for dy in range(-s, s + 1) for dx in range(-s, s + 1)}
    np.testing.assert_array_equal(RandomShift(0, seed=0)(x), x)


def test_horizontal_flip_really_flips():
    x = RNG.standard_normal((1000, 2, 4, 5))
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0, seed=0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0, seed=0)(x), x)
    out = RandomHorizontalFlip(0.5, seed=0)(x)
    flipped = np.array([np.array_equal(out[i], x[i, ..., ::-1]) for i in range(len(x))])
    same = np.array([np.array_equal(out[i], x[i]) for i in range(len(x))])
    assert np.all(flipped ^ same)                  # each image is itself or its mirror
    assert 0.44 < flipped.mean() < 0.56
    one = RandomHorizontalFlip(1.0)(x[0, 0])       # a single (H, W) image
    np.testing.assert_array_equal(one, x[0, 0, :, ::-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_noise_statistics(dtype):
    x = np.full((200, 3, 20, 20), 0.25, dtype)
    out = GaussianNoise(std=0.3, mean=0.1, seed=5)(x)
    assert out.dtype == dtype and out.shape == x.shape
    d = (out - x).astype(np.float64)
    assert abs(d.mean() - 0.1) < 4 * 0.3 / np.sqrt(d.size)
    assert abs(d.std() - 0.3) < 0.005
    # roughly normal: ~68.3% within one std
    assert abs(np.mean(np.abs(d - 0.1) < 0.3) - 0.6827) < 0.01
    clipped = GaussianNoise(std=1.0, clip=(0.0, 0.5), seed=5)(x)
    assert clipped.min() >= 0.0 and clipped.max() <= 0.5
    np.testing.assert_array_equal(GaussianNoise(std=0.0)(x), x)
    t = GaussianNoise(0.1, seed=0)(dlcore.tensor(x))
    assert isinstance(t, dlcore.Tensor) and t.dtype == dlcore.tensor(x).dtype


def test_reproducible_with_seed():
    x = RNG.standard_normal((16, 3, 8, 8)).astype(np.float32)

    def pipeline(seed):
        return Compose([RandomCrop(8, padding=2, seed=seed), RandomHorizontalFlip(seed=seed + 1),
                        RandomShift(1, seed=seed + 2), GaussianNoise(0.05, seed=seed + 3)])
    a, b, c = pipeline(10), pipeline(10), pipeline(11)
    for _ in range(3):                               # the whole sequence replays
        ya, yb, yc = a(x), b(x), c(x)
        np.testing.assert_array_equal(ya, yb)
        assert not np.array_equal(ya, yc)
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(RandomCrop(6, generator=g1)(x), RandomCrop(6, generator=g2)(x))
    # consecutive calls draw new parameters
    t = RandomCrop(8, padding=3, seed=0)
    assert not np.array_equal(t(x), t(x))


def test_bad_arguments():
    x = np.zeros((2, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match="RandomCrop"):
        RandomCrop(9)(x)                             # larger than the (unpadded) image
    RandomCrop(9, padding=1, seed=0)(x)              # fits once padded
    with pytest.raises(ValueError, match="RandomCrop"):
        RandomCrop(4)(np.zeros((1, 1, 2, 8, 8)))
    with pytest.raises(ValueError):
        RandomCrop(4, padding=-1)
    with pytest.raises(ValueError):
        RandomCrop(4, padding=(1, 2, 3))
    with pytest.raises(ValueError):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError):
        GaussianNoise(std=-1)
    with pytest.raises(ValueError):
        RandomShift(-1)
    with pytest.raises(TypeError):
        RandomCrop(4, generator=123)
    with pytest.raises(TypeError):
        RandomHorizontalFlip()("not an image")

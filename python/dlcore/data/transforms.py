"""Transforms: feature standardization fitted on training data, composition, conversions, and
seeded image augmentation on whole batches (RandomCrop, RandomShift, RandomHorizontalFlip,
GaussianNoise).

Standardize learns per-feature statistics on the *training* set only and then applies those
same numbers to validation and test data — fitting on everything leaks information from the
held-out data into the model. The statistics are kept in float64 (a float32 sum over many
samples loses digits) and applied in the dtype of the input.

Every transform is a callable: it works on a single sample or on a whole batch as long as the
reduced axes are leading ones (the default, axis 0, reduces over samples, so the fitted mean has
the shape of one sample and broadcasts over a batch).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

import numbers

import numpy as np

from ..tensor import Tensor, from_numpy, tensor

if TYPE_CHECKING:
    from .._dtype import dtype


def _to_array(x, op):
    """(NumPy array, was_tensor, tensor device or None)."""
    if isinstance(x, Tensor):
        dev = x.device if x.is_cuda else None
        return np.asarray(x.detach().cpu().numpy()), True, dev
    if isinstance(x, (np.ndarray, list, tuple, numbers.Number)):
        return np.asarray(x), False, None
    raise TypeError(f"{op}: expected a Tensor or array-like, got {type(x).__name__}")


def _back(a, was_tensor, dev):
    if not was_tensor:
        return a
    t = from_numpy(np.ascontiguousarray(a))
    return t.to(dev) if dev is not None else t


class Standardize:
    """(x - mean) / std with per-feature statistics fitted on training data.

        sc = Standardize().fit(X_train)          # mean/std over axis 0 (the samples)
        X_train, X_val = sc.transform(X_train), sc.transform(X_val)

    axis: the axis or axes reduced when fitting (default 0). For images (N, C, H, W) use
        axis=(0, 2, 3) for per-channel statistics; the fitted mean then has shape (C, 1, 1).
    eps: a feature whose std is below eps (constant in the training data, e.g. a border pixel
        that is always 0) is divided by 1 instead, so it maps to 0 rather than to inf/NaN.
    ddof: 0 (population std, the default, as scikit-learn) or 1.

    Inputs may be dlcore tensors (returned as tensors, same dtype and device) or NumPy arrays
    (returned as arrays). Integer inputs give float32 results.
    """

    def __init__(self, axis: int | tuple[int, ...] = 0, eps: float = 1e-8, ddof: int = 0) -> None:
        self.axis = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
        self.eps = float(eps)
        self.ddof = int(ddof)
        self.mean_ = None
        self.std_ = None

    def _axes(self, ndim, op):
        axes = []
        for a in self.axis:
            if a < -ndim or a >= ndim:
                raise ValueError(f"{op}: axis {a} out of range for an input with {ndim} dims")
            axes.append(a % ndim)
        return tuple(sorted(set(axes)))

    def fit(self, X: Tensor | np.ndarray) -> Standardize:
        a, _, _ = _to_array(X, "Standardize.fit")
        if a.ndim == 0:
            raise ValueError("Standardize.fit: input must have at least one dimension")
        axes = self._axes(a.ndim, "Standardize.fit")
        count = int(np.prod([a.shape[i] for i in axes]))
        if count <= self.ddof:
            raise ValueError(f"Standardize.fit: need more than {self.ddof} samples along axes {axes}, "
                             f"got input of shape {a.shape}")
        a64 = a.astype(np.float64, copy=False)
        mean = a64.mean(axis=axes, keepdims=True)
        std = a64.std(axis=axes, keepdims=True, ddof=self.ddof)
        if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(std)):
            raise ValueError("Standardize.fit: input contains NaN or infinity")
        std = np.where(std < self.eps, 1.0, std)
        # Drop the leading reduced axes so the statistics broadcast over one sample as well
        # as over a batch: axis 0 on (N, F) -> shape (F,), axes (0, 2, 3) on NCHW -> (C, 1, 1).
        lead = 0
        while lead < a.ndim and lead in axes:
            lead += 1
        self.mean_ = mean.reshape(mean.shape[lead:])
        self.std_ = std.reshape(std.shape[lead:])
        self._fit_ndim = a.ndim
        return self

    def _check(self, op):
        if self.mean_ is None:
            raise RuntimeError(f"Standardize.{op}: call fit() first")

    def _apply(self, X, op, inverse):
        self._check(op)
        a, was_tensor, dev = _to_array(X, f"Standardize.{op}")
        out_dtype = a.dtype if np.issubdtype(a.dtype, np.floating) else np.float32
        tail = self.mean_.shape
        try:
            ok = tuple(np.broadcast_shapes(a.shape, tail)) == tuple(a.shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"Standardize.{op}: input of shape {a.shape} does not match the fitted "
                             f"feature shape {tail}")
        mean = self.mean_.astype(out_dtype)
        std = self.std_.astype(out_dtype)
        a = a.astype(out_dtype, copy=False)
        out = a * std + mean if inverse else (a - mean) / std
        return _back(out.astype(out_dtype, copy=False), was_tensor, dev)

    def transform(self, X: Tensor | np.ndarray) -> Any:
        return self._apply(X, "transform", inverse=False)

    def inverse_transform(self, X: Tensor | np.ndarray) -> Any:
        return self._apply(X, "inverse_transform", inverse=True)

    def fit_transform(self, X: Tensor | np.ndarray) -> Any:
        return self.fit(X).transform(X)

    __call__ = transform

    def state_dict(self) -> dict[str, Any]:
        self._check("state_dict")
        return {"mean": self.mean_.copy(), "std": self.std_.copy(), "axis": self.axis,
                "eps": self.eps, "ddof": self.ddof}

    def load_state_dict(self, state: Mapping[str, Any]) -> Standardize:
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.std_ = np.asarray(state["std"], dtype=np.float64)
        self.axis = tuple(state.get("axis", self.axis))
        self.eps = float(state.get("eps", self.eps))
        self.ddof = int(state.get("ddof", self.ddof))
        return self

    def __repr__(self):
        fitted = f", features={self.mean_.shape}" if self.mean_ is not None else ""
        return f"Standardize(axis={self.axis}, eps={self.eps}{fitted})"


class Compose:
    """Applies transforms one after another: Compose([ToTensor(), Standardize().fit(X)])."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class Lambda:
    """Wraps a function as a transform."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise TypeError("Lambda: fn must be callable")
        self.fn = fn

    def __call__(self, x: Any) -> Any:
        return self.fn(x)


class ToTensor:
    """Array-like -> dlcore tensor of ``dtype`` (default float32), optionally divided by ``scale``.

    ToTensor(scale=255) turns 0..255 image bytes into floats in [0, 1]; ToTensor(dtype=int64)
    for labels. A tensor input is converted (not copied when nothing changes).
    """

    def __init__(self, dtype: dtype | str | type | None = None, scale: Optional[float] = None) -> None:
        from .._dtype import as_dtype, float32
        self.dtype = as_dtype(dtype) if dtype is not None else float32
        self.scale = None if scale is None else float(scale)
        if self.scale is not None and not self.dtype.is_floating_point:
            raise ValueError("ToTensor: scale needs a floating-point dtype")

    def __call__(self, x: Any) -> Tensor:
        if isinstance(x, Tensor):
            t = x if x.dtype == self.dtype else x.to(self.dtype)
        else:
            t = tensor(np.asarray(x), dtype=self.dtype)
        return t / self.scale if self.scale is not None else t

    def __repr__(self):
        return f"ToTensor(dtype={self.dtype}, scale={self.scale})"


def one_hot(labels: Tensor | np.ndarray | Sequence[int], num_classes: Optional[int] = None,
            dtype: dtype | str | type | None = None) -> Tensor:
    """int labels (n,) -> (n, num_classes) float32 one-hot tensor (on the labels' device)."""
    a, _, dev = _to_array(labels, "one_hot")
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"one_hot: labels must be integers, got {a.dtype}")
    k = int(a.max()) + 1 if num_classes is None and a.size else int(num_classes or 0)
    if a.size and (a.min() < 0 or a.max() >= k):
        raise ValueError(f"one_hot: labels must lie in [0, {k}), got range [{a.min()}, {a.max()}]")
    from .._dtype import as_dtype, float32
    dt = as_dtype(dtype) if dtype is not None else float32
    out = np.zeros(a.shape + (k,), dtype=dt.numpy)
    np.put_along_axis(out, a[..., None].astype(np.int64), 1, axis=-1)
    t = from_numpy(out)
    return t.to(dev) if dev is not None else t


# ---- image augmentation on whole batches -------------------------------------------------------
# The transforms below take a batch of images, (N, C, H, W) or (N, H, W) (a 2-D (H, W) input is
# one image), as a NumPy array or a dlcore tensor, and give back the same kind, dtype and device.
# Every image draws its own random parameters, but the work is one vectorised NumPy expression
# per batch — no Python loop over the images. Each transform owns a NumPy Generator made from
# `seed` (or takes `generator`), so the same seed replays the same sequence of augmentations.
# For a single (C, H, W) image pass x[None] (a 3-D input is read as (N, H, W)).

def _rng(seed, generator, op):
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"{op}: generator must be a numpy.random.Generator, got "
                            f"{type(generator).__name__}")
        return generator
    return np.random.default_rng(seed)


def _image_batch(x, op):
    """(array seen as (N, ..., H, W), was_tensor, device, original ndim)."""
    a, was_tensor, dev = _to_array(x, op)
    if a.ndim not in (2, 3, 4):
        raise ValueError(f"{op}: expected images (N, C, H, W), (N, H, W) or (H, W), got shape {a.shape}")
    return (a[None] if a.ndim == 2 else a), was_tensor, dev, a.ndim


def _restore(a, was_tensor, dev, ndim):
    return _back(a[0] if ndim == 2 else a, was_tensor, dev)


def _pair(v, op, what):
    if isinstance(v, numbers.Integral):
        return int(v), int(v)
    v = tuple(int(i) for i in v)
    if len(v) != 2:
        raise ValueError(f"{op}: {what} must be an int or a pair, got {v}")
    return v


def _padding4(padding, op):
    """(left, top, right, bottom) from an int, a (left/right, top/bottom) pair or a 4-tuple
    (torchvision's convention)."""
    if isinstance(padding, numbers.Integral):
        p = (int(padding),) * 4
    else:
        p = tuple(int(i) for i in padding)
        if len(p) == 2:
            p = (p[0], p[1], p[0], p[1])
        elif len(p) != 4:
            raise ValueError(f"{op}: padding must be an int, a pair or a 4-tuple, got {padding}")
    if min(p) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")
    return p


def _crop_batch(a, size, pad, rng, op):
    """Zero-pads the last two dims by pad = (left, top, right, bottom), then cuts an (h, w)
    window at an independent uniform offset per image. One gather for the whole batch: a
    strided view of every window (sliding_window_view, no copy) indexed by the offsets."""
    h, w = size
    left, top, right, bottom = pad
    H, W = a.shape[-2] + top + bottom, a.shape[-1] + left + right
    if h > H or w > W or h < 1 or w < 1:
        raise ValueError(f"{op}: crop size {(h, w)} does not fit the padded image size {(H, W)} "
                         f"(input shape {a.shape}, padding {pad})")
    if any(pad):
        widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
        a = np.pad(a, widths)                    # zeros, as torchvision's fill=0
    n = a.shape[0]
    oy = rng.integers(0, H - h + 1, size=n)
    ox = rng.integers(0, W - w + 1, size=n)
    win = np.lib.stride_tricks.sliding_window_view(a, (h, w), axis=(-2, -1))
    if a.ndim == 4:            # win (N, C, H-h+1, W-w+1, h, w) -> (N, C, h, w)
        out = win[np.arange(n), :, oy, ox]
    else:                      # win (N, H-h+1, W-w+1, h, w) -> (N, h, w)
        out = win[np.arange(n), oy, ox]
    return np.ascontiguousarray(out), oy, ox


class RandomCrop:
    """Random (h, w) crops of every image of a batch after zero padding (torchvision's
    RandomCrop with fill=0, per image): RandomCrop(32, padding=4) is the CIFAR-10 recipe.

    size: int or (h, w). padding: int, (left/right, top/bottom) or (left, top, right, bottom).
    seed / generator: the randomness (see the section comment above).
    """

    def __init__(self, size: int | tuple[int, int],
                 padding: int | tuple[int, int] | tuple[int, int, int, int] = 0, seed: Optional[int] = None,
                 generator: Optional[np.random.Generator] = None) -> None:
        self.size = _pair(size, "RandomCrop", "size")
        self.padding = _padding4(padding, "RandomCrop")
        self.rng = _rng(seed, generator, "RandomCrop")

    def __call__(self, x: Tensor | np.ndarray) -> Any:  # the same kind as x
        a, was_tensor, dev, ndim = _image_batch(x, "RandomCrop")
        out, _, _ = _crop_batch(a, self.size, self.padding, self.rng, "RandomCrop")
        return _restore(out, was_tensor, dev, ndim)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomShift:
    """Translates every image by its own random (dy, dx), each in [-max_shift, max_shift]
    pixels; what moves out is dropped and what moves in is zero. Same as RandomCrop to the
    input size with padding max_shift."""

    def __init__(self, max_shift: int = 2, seed: Optional[int] = None,
                 generator: Optional[np.random.Generator] = None) -> None:
        self.max_shift = _pair(max_shift, "RandomShift", "max_shift")   # (dy, dx) bounds
        if min(self.max_shift) < 0:
            raise ValueError(f"RandomShift: max_shift must be non-negative, got {max_shift}")
        self.rng = _rng(seed, generator, "RandomShift")

    def __call__(self, x: Tensor | np.ndarray) -> Any:  # the same kind as x
        a, was_tensor, dev, ndim = _image_batch(x, "RandomShift")
        sy, sx = self.max_shift
        out, _, _ = _crop_batch(a, a.shape[-2:], (sx, sy, sx, sy), self.rng, "RandomShift")
        return _restore(out, was_tensor, dev, ndim)

    def __repr__(self):
        return f"RandomShift(max_shift={self.max_shift})"


class RandomHorizontalFlip:
    """Mirrors each image left-right with probability p (independently per image)."""

    def __init__(self, p: float = 0.5, seed: Optional[int] = None,
                 generator: Optional[np.random.Generator] = None) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = _rng(seed, generator, "RandomHorizontalFlip")

    def __call__(self, x: Tensor | np.ndarray) -> Any:  # the same kind as x
        a, was_tensor, dev, ndim = _image_batch(x, "RandomHorizontalFlip")
        flip = self.rng.random(a.shape[0]) < self.p
        flip = flip.reshape((-1,) + (1,) * (a.ndim - 1))
        out = np.where(flip, a[..., ::-1], a)        # one pass, no per-image loop
        return _restore(out, was_tensor, dev, ndim)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class GaussianNoise:
    """Adds N(mean, std^2) noise to every element (in the input's dtype when float32 / float64,
    else float32). clip=(low, high) clips the result, e.g. (0, 1) for images in [0, 1]."""

    def __init__(self, std: float = 0.1, mean: float = 0.0, clip: Optional[tuple[float, float]] = None,
                 seed: Optional[int] = None, generator: Optional[np.random.Generator] = None) -> None:
        if float(std) < 0:
            raise ValueError(f"GaussianNoise: std must be non-negative, got {std}")
        self.std, self.mean = float(std), float(mean)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))
        self.rng = _rng(seed, generator, "GaussianNoise")

    def __call__(self, x: Tensor | np.ndarray) -> Any:  # the same kind as x
        a, was_tensor, dev = _to_array(x, "GaussianNoise")
        dt = a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float32)
        noise = self.rng.standard_normal(a.shape, dtype=dt)
        noise *= dt.type(self.std)
        noise += dt.type(self.mean)
        out = noise + a.astype(dt, copy=False)
        if self.clip is not None:
            np.clip(out, self.clip[0], self.clip[1], out=out)
        return _back(out, was_tensor, dev)

    def __repr__(self):
        return f"GaussianNoise(std={self.std}, mean={self.mean}, clip={self.clip})"

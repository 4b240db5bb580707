"""dlcore.viz: image grids and training curves written to PNG.

    from dlcore import viz
    viz.save_image_grid(samples, "samples.png", nrow=8)           # (N, C, H, W) or (N, H, W)
    viz.plot_curves({"train": losses, "val": val_losses}, "loss.png", xlabel="epoch")

The PNG files are written by matplotlib when it is installed (``pip install dlcore[plot]``),
otherwise by Pillow (``pip install pillow``); dlcore has no image encoder of its own. Nothing here
is imported by ``import dlcore``: the plotting libraries load on the first call. ``image_grid``
only arranges pixels (NumPy) and needs neither.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

import importlib

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor
    import os

_INSTALL_HINT = ("dlcore.viz needs matplotlib (pip install 'dlcore[plot]' or pip install matplotlib) "
                 "or Pillow (pip install pillow) to write PNG files; neither is installed")


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def available_backends() -> list:
    """The installed PNG writers, in order of preference: "matplotlib", "pillow"."""
    found = []
    if _import("matplotlib") is not None:
        found.append("matplotlib")
    if _import("PIL.Image") is not None:
        found.append("pillow")
    return found


def _backend(requested):
    found = available_backends()
    if requested is None:
        if not found:
            raise ImportError(_INSTALL_HINT)
        return found[0]
    if requested not in ("matplotlib", "pillow"):
        raise ValueError(f"dlcore.viz: backend must be 'matplotlib', 'pillow' or None, got {requested!r}")
    if requested not in found:
        pkg = "matplotlib" if requested == "matplotlib" else "pillow"
        raise ImportError(f"dlcore.viz: backend {requested!r} asked for but {pkg} is not installed "
                          f"(pip install {pkg})")
    return requested


def _as_numpy(x):
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "cpu"):
        x = x.cpu()
    return np.asarray(x, dtype=np.float64)


def image_grid(images: Tensor | np.ndarray, nrow: Optional[int] = None, padding: int = 1,
               normalize: bool = True, value_range: Optional[tuple[float, float]] = None,
               pad_value: float = 1.0, scale_each: bool = False) -> np.ndarray:
    """Tiles a batch of images into one array in [0, 1]: (H', W') for one channel, (H', W', 3)
    for three. images: (N, H, W), (N, 1, H, W) or (N, 3, H, W), a Tensor or an array. nrow
    images per row (default ceil(sqrt(N))), padding pixels between tiles filled with pad_value.
    normalize maps value_range (default: the batch's min..max, or each image's own with
    scale_each) to [0, 1]; without it values are clipped to [0, 1]."""
    a = _as_numpy(images)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ValueError(f"image_grid: expected images of shape (N, H, W), (N, 1, H, W) or (N, 3, H, W), "
                         f"got {tuple(np.shape(images))}")
    n, c, h, w = a.shape
    if n == 0:
        raise ValueError("image_grid: no images to arrange (N = 0)")
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"image_grid: padding must be a non-negative int, got {padding!r}")
    if normalize:
        def rescale(x, lo, hi):
            return np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(x)
        if value_range is not None:
            a = rescale(a, *value_range)
        elif scale_each:
            a = np.stack([rescale(img, img.min(), img.max()) for img in a])
        else:
            a = rescale(a, a.min(), a.max())
    else:
        a = np.clip(a, 0, 1)
    ncol = int(nrow) if nrow else int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncol))
    grid = np.full((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding), float(pad_value))
    for i in range(n):
        r, q = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top:top + h, left:left + w] = a[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image(array: Tensor | np.ndarray, path: str | os.PathLike[str], scale: int = 1, cmap: str = "gray",
               backend: Optional[str] = None) -> str | os.PathLike[str]:
    """Writes an (H, W) or (H, W, 3) array in [0, 1] to a PNG file, each pixel enlarged to a
    scale x scale block (nearest neighbour, so small digits stay crisp). Returns path."""
    a = np.clip(np.asarray(array, dtype=np.float64), 0, 1)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError(f"save_image: expected an (H, W) or (H, W, 3) array, got shape {a.shape}")
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"save_image: scale must be a positive int, got {scale}")
    if scale > 1:
        a = np.repeat(np.repeat(a, scale, axis=0), scale, axis=1)
    which = _backend(backend)
    path = str(path)
    if which == "matplotlib":
        from matplotlib import image as mpimg          # no pyplot, no GUI backend
        if a.ndim == 2:
            mpimg.imsave(path, a, cmap=cmap, vmin=0.0, vmax=1.0, format="png")
        else:
            mpimg.imsave(path, a, format="png")
    else:
        from PIL import Image
        u8 = np.round(a * 255).astype(np.uint8)
        Image.fromarray(u8, mode="L" if u8.ndim == 2 else "RGB").save(path, format="PNG")
    return path


def save_image_grid(images: Tensor | np.ndarray, path: str | os.PathLike[str], nrow: Optional[int] = None,
                    padding: int = 1, normalize: bool = True,
                    value_range: Optional[tuple[float, float]] = None, scale: int = 4,
                    scale_each: bool = False, backend: Optional[str] = None) -> str | os.PathLike[str]:
    """image_grid(...) written to a PNG at path (see image_grid and save_image). Returns path."""
    grid = image_grid(images, nrow=nrow, padding=padding, normalize=normalize, value_range=value_range,
                      scale_each=scale_each)
    return save_image(grid, path, scale=scale, backend=backend)


_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
            (140, 86, 75), (227, 119, 194), (127, 127, 127)]


def plot_curves(curves: Mapping[str, Any], path: str | os.PathLike[str], xlabel: str = "epoch",
                ylabel: Optional[str] = None, title: Optional[str] = None, logy: bool = False,
                backend: Optional[str] = None) -> str | os.PathLike[str]:
    """Line plot of named series to a PNG: curves maps a label to a sequence of y values (x =
    1, 2, ...) or to an (x, y) pair of sequences. logy plots log10(y). Returns path."""
    if not isinstance(curves, dict) or not curves:
        raise ValueError("plot_curves: curves must be a non-empty dict {label: values or (x, values)}")
    series = {}
    for label, v in curves.items():
        if isinstance(v, tuple) and len(v) == 2:
            x, y = np.asarray(v[0], dtype=np.float64), np.asarray(v[1], dtype=np.float64)
        else:
            y = np.asarray(v, dtype=np.float64).ravel()
            x = np.arange(1, len(y) + 1, dtype=np.float64)
        if x.shape != y.shape or y.size == 0:
            raise ValueError(f"plot_curves: series {label!r} needs x and y of the same non-zero length, "
                             f"got {x.shape} and {y.shape}")
        if logy and (y <= 0).any():
            raise ValueError(f"plot_curves: logy needs positive values, series {label!r} has {y.min()}")
        series[str(label)] = (x, y)
    which = _backend(backend)
    path = str(path)
    if which == "matplotlib":
        from matplotlib.figure import Figure           # a bare Figure saves through Agg; no pyplot
        fig = Figure(figsize=(6, 4), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        for label, (x, y) in series.items():
            ax.plot(x, y, label=label)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        if ylabel:
            ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, format="png")
    else:
        _plot_curves_pillow(series, path, xlabel, ylabel, title, logy)
    return path


def _plot_curves_pillow(series, path, xlabel, ylabel, title, logy, size=(600, 400)):
    """A plain line chart drawn with PIL.ImageDraw: axes box, min/max tick labels, one
    polyline per series, a legend. Enough to read a training curve without matplotlib."""
    from PIL import Image, ImageDraw
    W, H = size
    left, right, top, bottom = 70, 20, 30, 50
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    xs = np.concatenate([x for x, _ in series.values()])
    ys = np.concatenate([np.log10(y) if logy else y for _, y in series.values()])
    finite = ys[np.isfinite(ys)]
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1

    def px(x, y):
        return (left + (x - x0) / (x1 - x0) * (W - left - right),
                H - bottom - (y - y0) / (y1 - y0) * (H - top - bottom))

    d.rectangle([left, top, W - right, H - bottom], outline=(0, 0, 0))
    fmt = (lambda v: f"1e{v:.1f}") if logy else (lambda v: f"{v:.4g}")
    d.text((5, top), fmt(y1), fill=(0, 0, 0))
    d.text((5, H - bottom - 10), fmt(y0), fill=(0, 0, 0))
    d.text((left, H - bottom + 5), f"{x0:g}", fill=(0, 0, 0))
    d.text((W - right - 40, H - bottom + 5), f"{x1:g}", fill=(0, 0, 0))
    d.text(((W - len(xlabel) * 6) // 2, H - 20), xlabel, fill=(0, 0, 0))
    if ylabel:
        d.text((5, (H - bottom) // 2), ylabel, fill=(0, 0, 0))
    if title:
        d.text(((W - len(title) * 6) // 2, 8), title, fill=(0, 0, 0))
    for k, (label, (x, y)) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        yy = np.log10(y) if logy else y
        pts = [px(a, b) for a, b in zip(x, yy) if np.isfinite(b)]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=2)
        elif pts:
            d.ellipse([pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 2, pts[0][1] + 2], fill=colour)
        ly = top + 8 + 14 * k
        d.line([(W - right - 120, ly + 5), (W - right - 100, ly + 5)], fill=colour, width=2)
        d.text((W - right - 95, ly), label, fill=(0, 0, 0))
    img.save(path, format="PNG")

"""A synthetic shapes-segmentation set: grey images with discs, squares and triangles, and the
per-pixel class of each (0 background, 1 disc, 2 square, 3 triangle).

Each image holds 1..max_shapes shapes of random size, position and brightness on a noisy dark
background; a later shape covers an earlier one where they overlap. The brightness of a shape
says nothing about its class, so a network must read the outline (round, cornered, slanted) to
label a pixel — the kind of context an encoder-decoder with skip connections is for.
Generated from a seed, in NumPy, in a fraction of a second; nothing is downloaded.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

SHAPE_CLASSES = ("background", "disc", "square", "triangle")


def _shape_mask(kind, yy, xx, cy, cx, r, angle):
    if kind == 1:                                   # disc of radius r
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    if kind == 2:                                   # axis-aligned square of half-side r * 0.85
        h = r * 0.85
        return (np.abs(yy - cy) <= h) & (np.abs(xx - cx) <= h)
    # triangle: equilateral, circumradius r, rotated by angle; inside = left of all three edges
    pts = [(cy + r * np.sin(angle + k * 2 * np.pi / 3), cx + r * np.cos(angle + k * 2 * np.pi / 3))
           for k in range(3)]
    inside = np.ones_like(yy, dtype=bool)
    for (y0, x0), (y1, x1) in zip(pts, pts[1:] + pts[:1]):
        inside &= (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0) >= 0
    if not inside.any():                            # the vertex order ran the other way round
        inside = np.ones_like(yy, dtype=bool)
        for (y0, x0), (y1, x1) in zip(pts, pts[1:] + pts[:1]):
            inside &= (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0) <= 0
    return inside


def make_shapes(n: int, size: int = 32, max_shapes: int = 3, noise: float = 0.1, seed: int = 0,
                min_radius: Optional[float] = None,
                max_radius: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
    """(images, masks): images (n, 1, size, size) float32, masks (n, size, size) int64 with
    values in 0..3 (see SHAPE_CLASSES). Radii default to size/8 .. size/4."""
    if n < 0 or size < 8 or max_shapes < 1:
        raise ValueError(f"make_shapes: need n >= 0, size >= 8 and max_shapes >= 1, got n={n}, "
                         f"size={size}, max_shapes={max_shapes}")
    rng = np.random.default_rng(seed)
    lo = size / 8 if min_radius is None else min_radius
    hi = size / 4 if max_radius is None else max_radius
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    images = rng.normal(0.0, noise, (n, 1, size, size)) + rng.uniform(0.0, 0.2, (n, 1, 1, 1))
    masks = np.zeros((n, size, size), dtype=np.int64)
    for i in range(n):
        for _ in range(rng.integers(1, max_shapes + 1)):
            kind = int(rng.integers(1, 4))
            r = rng.uniform(lo, hi)
            cy, cx = rng.uniform(r, size - r, 2)
            m = _shape_mask(kind, yy, xx, cy, cx, r, rng.uniform(0, 2 * np.pi))
            masks[i][m] = kind
            images[i, 0][m] = rng.uniform(0.5, 1.0) + rng.normal(0.0, noise, int(m.sum()))
    return images.astype(np.float32), masks

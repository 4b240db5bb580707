"""Resizing: interpolate (nearest, nearest-exact, linear, bilinear, area) and the Upsample
modules, following torch.nn.functional.interpolate and torch.nn.Upsample.

Input is (N, C, L) for 'linear' / 1-D 'nearest' and (N, C, H, W) for 'bilinear' / 2-D
'nearest'. Each output index reads the input at a source coordinate (csrc/core/upsample_math.h):
with scale = in / out (or 1 / scale_factor when one is given and not recomputed)

* nearest:        floor(dst * scale)             (torch's legacy rule; 'nearest-exact' rounds
                                                  the pixel centre: floor((dst + 0.5) * scale))
* (bi)linear:     (dst + 0.5) * scale - 0.5, clamped at 0 (align_corners=False), or
                  dst * (in - 1) / (out - 1) (align_corners=True: corner pixels stay put);
                  the two neighbours are blended with weights 1 - l, l per dim.

The backward (one autograd node) spreads the output gradient back with the same weights.
'area' is adaptive average pooling.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import math
import numbers

from .. import _C
from ..tensor import _wrap
from .functional import _attach, _grad_on, _check_tensor
from .module import Module
from .pooling import adaptive_avg_pool2d

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]

_MODES = {"nearest": 0, "nearest-exact": 1, "linear": 2, "bilinear": 2}
_RANK = {"linear": 3, "bilinear": 4}


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) to `size` or by `scale_factor` (output size
    floor(in * scale_factor)); see the module docstring for the sampling rules."""
    op = "interpolate"
    _check_tensor(op, input)
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the "
                             "interpolating modes: linear | bilinear | bicubic | trilinear")
    elif mode in _MODES:
        align_corners = bool(align_corners) if align_corners is not None else False
    elif mode in ("bicubic", "trilinear"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented (nearest, "
                                  "nearest-exact, linear, bilinear, area are)")
    else:
        raise ValueError(f"interpolate: unknown mode {mode!r} (expected nearest, nearest-exact, "
                         "linear, bilinear or area)")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    shape = tuple(input.shape)
    if len(shape) not in (3, 4) or (mode in _RANK and len(shape) != _RANK[mode]):
        want = {"linear": "a 3-D (N, C, L)", "bilinear": "a 4-D (N, C, H, W)"}.get(
            mode, "a 3-D (N, C, L) or 4-D (N, C, H, W)")
        raise ValueError(f"interpolate: mode {mode!r} expects {want} input, got shape {shape}")
    dim = len(shape) - 2
    scales = None
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        out = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(out) != dim:
            raise ValueError(f"interpolate: input with spatial dims {list(shape[2:])} and output "
                             f"size {size} differ in the number of spatial dims")
        if not all(isinstance(v, numbers.Integral) for v in out):
            raise TypeError(f"interpolate: size must be ints, got {size!r}")
        out = [int(v) for v in out]
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size.")
    elif scale_factor is not None:
        scales = (list(scale_factor) if isinstance(scale_factor, (list, tuple))
                  else [scale_factor] * dim)
        if len(scales) != dim:
            raise ValueError(f"interpolate: input with spatial dims {list(shape[2:])} and "
                             f"scale_factor {scale_factor} differ in the number of spatial dims")
        scales = [float(s) for s in scales]
        if not all(s > 0 and math.isfinite(s) for s in scales):
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor}")
        out = [int(math.floor(shape[2 + i] * scales[i])) for i in range(dim)]
        if recompute_scale_factor or mode == "area":
            scales = None
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if mode == "area":
        if dim == 2:
            return adaptive_avg_pool2d(input, out)
        y = adaptive_avg_pool2d(input.reshape(shape[0], shape[1], 1, shape[2]), [1, out[0]])
        return y.reshape(shape[0], shape[1], out[0])
    code = _MODES[mode]
    sh, sw = (0.0, 0.0) if scales is None else ((scales[0] if dim == 2 else 0.0), scales[-1])
    ac = bool(align_corners) if code == 2 else False
    yi = _C.upsample_forward(input._impl, code, out, ac, sh, sw, op)
    result = _wrap(yi)
    if not _grad_on(input):
        return result
    x_shape = list(shape)
    return _attach(result, f"interpolate_{mode}", (input,), lambda g: (
        _wrap(_C.upsample_backward(g._impl, x_shape, code, ac, sh, sw, op)),))


def upsample(input: Tensor, size: int | Sequence[int] | None = None,
             scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
             align_corners: Optional[bool] = None) -> Tensor:
    """Deprecated alias of interpolate (as in torch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: int | Sequence[int] | None = None,
                     scale_factor: float | Sequence[float] | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: int | Sequence[int] | None = None,
                      scale_factor: float | Sequence[float] | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


class Upsample(Module):
    """Module form of interpolate: Upsample(size=None, scale_factor=None, mode='nearest',
    align_corners=None, recompute_scale_factor=None). A U-Net / FCN decoder's
    ``Upsample(scale_factor=2, mode='bilinear', align_corners=False)``."""

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                 align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)

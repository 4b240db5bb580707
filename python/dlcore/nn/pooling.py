"""Pooling: max / average / power-average / adaptive pooling and max_unpool — functional ops
and modules, following torch.nn.functional and torch.nn (names, arguments, defaults, shapes).

Inputs are (N, C, H, W) or unbatched (C, H, W) for the 2-D ops and (N, C, L) or (C, L) for the
1-D ones. Each op is one kernel call (csrc/cpu/pool.cpp, csrc/cuda/pool.cu) plus one autograd
node with the hand-written backward:

* max pooling   the gradient goes to each window's arg-max only, at the int64 flat index
                (ih * W + iw within the input plane) the forward saved; overlapping windows
                that share an arg-max add up.
* avg pooling   every element of a window receives g / divisor.
* adaptive      windows [floor(i In / Out), ceil((i + 1) In / Out)) per dim; the same rules.
* max_unpool    forward scatters x into zeros at the indices, backward gathers g there.
* lp_pool       (sum x^p)^(1/p) = (avg_pool(x^p) * kernel area)^(1/p), built like torch from
                avg_pool and elementwise ops (autograd composes their backwards).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numbers

from .. import _C, ops
from ..tensor import Tensor, _wrap
from .functional import _attach, _grad_on, _check_tensor
from .module import Module

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d",
           "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "max_unpool1d", "max_unpool2d",
           "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "LPPool1d", "LPPool2d",
           "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
           "MaxUnpool1d", "MaxUnpool2d"]


def _ints(op, what, v, n):
    """int or sequence of 1 or n ints -> list of n ints (torch's _single / _pair)."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return [int(v)] * n
    try:
        vals = list(v)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a tuple of {n} ints, got {v!r}") from None
    if not all(isinstance(e, numbers.Integral) and not isinstance(e, bool) for e in vals):
        raise TypeError(f"{op}: {what} must be an int or a tuple of {n} ints, got {v!r}")
    if len(vals) == 1:
        vals = vals * n
    if len(vals) != n:
        raise ValueError(f"{op}: {what} must be an int or a tuple of {n} ints, got {tuple(vals)}")
    return [int(e) for e in vals]


def _stride(op, stride, n):
    if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0):
        return []                                     # torch: stride defaults to kernel_size
    return _ints(op, "stride", stride, n)


def _pool(op, is_max, spatial, input, kernel_size, stride, padding, dilation, ceil_mode,
          count_include_pad=True, divisor_override=None, return_indices=False):
    _check_tensor(op, input)
    k = _ints(op, "kernel_size", kernel_size, spatial)
    s = _stride(op, stride, spatial)
    p = _ints(op, "padding", padding, spatial)
    d = _ints(op, "dilation", dilation, spatial)
    div = 0
    if divisor_override is not None:
        if not isinstance(divisor_override, numbers.Integral) or divisor_override <= 0:
            raise ValueError(f"{op}: divisor_override must be a positive integer, got "
                             f"{divisor_override!r}")
        div = int(divisor_override)
    ceil_mode, count_include_pad = bool(ceil_mode), bool(count_include_pad)
    grad = _grad_on(input)
    xi = input._impl
    yi, ii = _C.pool_forward(xi, op, is_max, spatial, k, s, p, d, ceil_mode, count_include_pad,
                             div, is_max and (return_indices or grad))
    out = _wrap(yi)
    if grad:
        x_shape = list(xi.shape)
        out = _attach(out, op, (input,), lambda g: (_wrap(_C.pool_backward(
            g._impl, ii, x_shape, op, is_max, spatial, k, s, p, d, ceil_mode, count_include_pad,
            div)),))
    if return_indices:
        return out, _wrap(ii)
    return out


# ---- max / average pooling --------------------------------------------------------------------

def max_pool1d(input: Tensor, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
               padding: int | tuple[int] = 0, dilation: int | tuple[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """Max over sliding windows of (N, C, L); indices (return_indices) are positions in L."""
    return _pool("max_pool1d", True, 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                 return_indices=return_indices)


def max_pool2d(input: Tensor, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over sliding windows of (N, C, H, W). Padding counts as -inf and may be at most half
    the effective kernel (dilation (k - 1) + 1). return_indices adds the int64 flat positions
    ih * W + iw of the maxima in each input plane (what max_unpool2d consumes)."""
    return _pool("max_pool2d", True, 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                 return_indices=return_indices)


def avg_pool1d(input: Tensor, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
               padding: int | tuple[int] = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows of (N, C, L); padding counts as zeros unless count_include_pad is False."""
    return _pool("avg_pool1d", False, 1, input, kernel_size, stride, padding, 1, ceil_mode,
                 count_include_pad)


def avg_pool2d(input: Tensor, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """Mean over sliding windows. The divisor is divisor_override when given, else the window
    size including zero padding (count_include_pad) or only the real elements."""
    return _pool("avg_pool2d", False, 2, input, kernel_size, stride, padding, 1, ceil_mode,
                 count_include_pad, divisor_override)


def _lp_pool(op, spatial, input, norm_type, kernel_size, stride, ceil_mode):
    _check_tensor(op, input)
    k = _ints(op, "kernel_size", kernel_size, spatial)
    area = k[0] * (k[1] if spatial == 2 else 1)
    p = float(norm_type)
    if p == 0:
        raise ValueError(f"{op}: norm_type must be non-zero, got {norm_type!r}")
    pool = avg_pool2d if spatial == 2 else avg_pool1d
    out = pool(ops.pow(input, p), kernel_size, stride, 0, ceil_mode)
    # torch's formula and sign convention: sign(out) * relu(|out|) keeps negative averages
    # (odd p) negative and maps them to NaN under the final fractional power, as torch does.
    out = ops.mul(ops.mul(ops.sign(out), ops.relu(ops.abs(out))), float(area))
    return ops.pow(out, 1.0 / p)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int | tuple[int],
              stride: int | tuple[int] | None = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling (sum over the window of x^p)^(1/p); p = 2 is L2 pooling."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: int | tuple[int, int],
              stride: int | tuple[int, int] | None = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling (sum over the window of x^p)^(1/p) on (N, C, H, W); p = 2 is L2
    pooling, p -> inf approaches max pooling. Computed as torch does: avg_pool2d of x^p times
    the kernel area, to the power 1/p."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


# ---- adaptive pooling -------------------------------------------------------------------------

def _adaptive_size(op, input, output_size):
    """int or (h, w) with None entries (keep that input dim) -> [h, w]."""
    if output_size is None or isinstance(output_size, numbers.Integral):
        sizes = [output_size, output_size]
    else:
        sizes = list(output_size)
        if len(sizes) == 1:
            sizes = sizes * 2
        if len(sizes) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    shape = tuple(input.shape)
    out = []
    for i, v in enumerate(sizes):
        if v is None:
            v = shape[len(shape) - 2 + i] if len(shape) >= 2 else 1
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{op}: output_size entries must be ints or None, got {output_size!r}")
        out.append(int(v))
    return out


def _adaptive(op, is_max, input, output_size, return_indices=False):
    _check_tensor(op, input)
    osz = _adaptive_size(op, input, output_size)
    xi = input._impl
    yi, ii = _C.adaptive_pool_forward(xi, op, is_max, osz)
    out = _wrap(yi)
    if _grad_on(input):
        x_shape = list(xi.shape)
        out = _attach(out, op, (input,), lambda g: (
            _wrap(_C.adaptive_pool_backward(g._impl, ii, x_shape, op, is_max)),))
    if return_indices:
        return out, _wrap(ii)
    return out


def adaptive_avg_pool2d(input: Tensor,
                        output_size: int | None | Sequence[Optional[int]]) -> Tensor:
    """Average over adaptive windows giving exactly output_size (h, w); an int is (n, n), None
    keeps that input dim. adaptive_avg_pool2d(x, 1) is global average pooling."""
    return _adaptive("adaptive_avg_pool2d", False, input, output_size)


def adaptive_max_pool2d(input: Tensor, output_size: int | None | Sequence[Optional[int]],
                        return_indices: bool = False) -> Any:
    """Max over adaptive windows giving exactly output_size (h, w); with return_indices, also the argmax
    positions."""
    return _adaptive("adaptive_max_pool2d", True, input, output_size, return_indices)


def _as_planes_1d(op, input):
    """(N, C, L) / (C, L) as (N, C, 1, L) / (C, 1, L): the 1-D ops run the 2-D kernels on
    planes of height 1 (indices ih * L + iw are then positions in L)."""
    _check_tensor(op, input)
    shape = tuple(input.shape)
    if len(shape) not in (2, 3) or min(shape[-2:], default=0) < 1:
        raise ValueError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input with non-zero C, L, "
                         f"got shape {shape}")
    return input.reshape(*shape[:-1], 1, shape[-1]), shape


def _size_1d(op, output_size):
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 1:
            raise ValueError(f"{op}: output_size must be an int, got {output_size!r}")
        output_size = output_size[0]
    return output_size


def adaptive_avg_pool1d(input: Tensor, output_size: int | tuple[int]) -> Tensor:
    """Average over adaptive windows giving exactly output_size positions along L."""
    x4, shape = _as_planes_1d("adaptive_avg_pool1d", input)
    n = _size_1d("adaptive_avg_pool1d", output_size)
    y = _adaptive("adaptive_avg_pool1d", False, x4, (1, shape[-1] if n is None else n))
    return y.reshape(*shape[:-1], y.shape[-1])


def adaptive_max_pool1d(input: Tensor, output_size: int | tuple[int], return_indices: bool = False) -> Any:
    """Max over adaptive windows giving exactly output_size positions along L; with return_indices, also
    the argmax positions."""
    x4, shape = _as_planes_1d("adaptive_max_pool1d", input)
    n = _size_1d("adaptive_max_pool1d", output_size)
    y, i = _adaptive("adaptive_max_pool1d", True, x4, (1, shape[-1] if n is None else n), True)
    y = y.reshape(*shape[:-1], y.shape[-1])
    return (y, i.reshape(*shape[:-1], i.shape[-1])) if return_indices else y


# ---- max_unpool -------------------------------------------------------------------------------

def _unpool_size(op, shape, k, s, p, output_size):
    default = [(shape[len(shape) - 2 + d] - 1) * s[d] + k[d] - 2 * p[d] for d in range(2)]
    if output_size is None:
        return default
    out = [int(v) for v in output_size]
    if len(out) == 4:
        out = out[2:]
    elif len(out) == 3 and len(shape) == 3:
        out = out[1:]
    if len(out) != 2:
        raise ValueError(f"{op}: output_size should be a sequence containing 2 or 4 elements, but "
                         f"it has a length of {len(out)}")
    for d in range(2):
        lo, hi = default[d] - s[d], default[d] + s[d]
        if not lo < out[d] < hi:
            raise ValueError(f'{op}: invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f"between {lo} and {hi}) for input of shape {tuple(shape)}")
    return out


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0,
                 output_size: Optional[Sequence[int]] = None) -> Tensor:
    """Partial inverse of max_pool2d (SegNet decoders): zeros of the unpooled size with each
    input value put back at its index (within its plane). Default size per dim:
    (in - 1) * stride - 2 * padding + kernel_size; output_size may pick another one that the
    same pooling could have come from."""
    op = "max_unpool2d"
    _check_tensor(op, input)
    _check_tensor(op, indices, "indices")
    shape = tuple(input.shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                         f"{shape}")
    k = _ints(op, "kernel_size", kernel_size, 2)
    s = _stride(op, stride, 2) or list(k)
    p = _ints(op, "padding", padding, 2)
    if min(k) <= 0 or min(s) <= 0 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size {tuple(k)} and stride {tuple(s)} must be positive, "
                         f"padding {tuple(p)} non-negative")
    osz = _unpool_size(op, shape, k, s, p, output_size)
    xi, ii = input._impl, indices._impl
    yi = _C.max_unpool_forward(xi, ii, osz, op)
    out = _wrap(yi)
    if _grad_on(input):
        out = _attach(out, op, (input,),
                      lambda g: (_wrap(_C.max_unpool_backward(g._impl, ii, op)),))
    return out


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: int | tuple[int],
                 stride: int | tuple[int] | None = None, padding: int | tuple[int] = 0,
                 output_size: Optional[Sequence[int]] = None) -> Tensor:
    """max_unpool2d on planes of height 1: (N, C, L) -> (N, C, L_out), indices from max_pool1d."""
    op = "max_unpool1d"
    x4, shape = _as_planes_1d(op, input)
    _check_tensor(op, indices, "indices")
    if tuple(indices.shape) != shape:
        raise ValueError(f"{op}: indices of shape {tuple(indices.shape)} do not match input of "
                         f"shape {shape}")
    k = _ints(op, "kernel_size", kernel_size, 1)[0]
    s = (_stride(op, stride, 1) or [k])[0]
    p = _ints(op, "padding", padding, 1)[0]
    if output_size is not None:
        output_size = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size]
        output_size = [1, output_size[-1]]
    i4 = indices.reshape(*shape[:-1], 1, shape[-1])
    y = max_unpool2d(x4, i4, (1, k), (1, s), (0, p), output_size)
    return y.reshape(*shape[:-1], y.shape[-1])


# ---- modules ----------------------------------------------------------------------------------

class _MaxPoolNd(Module):
    def __init__(self, kernel_size: int | tuple[int, ...], stride: int | tuple[int, ...] | None = None,
                 padding: int | tuple[int, ...] = 0, dilation: int | tuple[int, ...] = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of (N, C, L) inputs; see max_pool1d."""

    def forward(self, input: Tensor) -> Any:  # (output, indices) with return_indices
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Max over sliding windows of (N, C, H, W) inputs; see max_pool2d."""

    def forward(self, input: Tensor) -> Any:  # (output, indices) with return_indices
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(Module):
    """Mean over sliding windows of (N, C, L) inputs; see avg_pool1d."""

    def __init__(self, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
                 padding: int | tuple[int] = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = tuple(_ints("AvgPool1d", "kernel_size", kernel_size, 1))
        self.stride = tuple(_ints("AvgPool1d", "stride",
                                  stride if stride is not None else kernel_size, 1))
        self.padding = tuple(_ints("AvgPool1d", "padding", padding, 1))
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over sliding windows of (N, C, H, W) inputs; see avg_pool2d."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: Optional[int] = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _LPPoolNd(Module):
    def __init__(self, norm_type: float, kernel_size: int | tuple[int, ...],
                 stride: int | tuple[int, ...] | None = None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Power-average pooling (sum of x^p over the window)^(1/p) of (N, C, L) inputs."""

    def forward(self, input: Tensor) -> Tensor:
        return lp_pool1d(input, float(self.norm_type), self.kernel_size, self.stride,
                         self.ceil_mode)


class LPPool2d(_LPPoolNd):
    """Power-average pooling (sum of x^p over the window)^(1/p) of (N, C, H, W) inputs."""

    def forward(self, input: Tensor) -> Tensor:
        return lp_pool2d(input, float(self.norm_type), self.kernel_size, self.stride,
                         self.ceil_mode)


class AdaptiveAvgPool1d(Module):
    """Average pooling whose windows adapt so that the output has length output_size."""

    def __init__(self, output_size: int | tuple[int]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(Module):
    """Max pooling whose windows adapt so that the output has length output_size."""

    def __init__(self, output_size: int | tuple[int], return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:  # (output, indices) with return_indices
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(Module):
    """Average pooling whose windows adapt to give an (h, w) = output_size output; AdaptiveAvgPool2d(1)
    is global average pooling."""

    def __init__(self, output_size: int | None | Sequence[Optional[int]]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling whose windows adapt to give an (h, w) = output_size output."""

    def __init__(self, output_size: int | None | Sequence[Optional[int]],
                 return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:  # (output, indices) with return_indices
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxUnpool2d(Module):
    """Partial inverse of MaxPool2d: each value goes back to the position its index names, zeros elsewhere."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.kernel_size = tuple(_ints("MaxUnpool2d", "kernel_size", kernel_size, 2))
        self.stride = tuple(_ints("MaxUnpool2d", "stride",
                                  stride if stride is not None else kernel_size, 2))
        self.padding = tuple(_ints("MaxUnpool2d", "padding", padding, 2))

    def forward(self, input: Tensor, indices: Tensor, output_size: Optional[Sequence[int]] = None) -> Tensor:
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(Module):
    """Partial inverse of MaxPool1d: each value goes back to the position its index names, zeros elsewhere."""

    def __init__(self, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
                 padding: int | tuple[int] = 0) -> None:
        super().__init__()
        self.kernel_size = tuple(_ints("MaxUnpool1d", "kernel_size", kernel_size, 1))
        self.stride = tuple(_ints("MaxUnpool1d", "stride",
                                  stride if stride is not None else kernel_size, 1))
        self.padding = tuple(_ints("MaxUnpool1d", "padding", padding, 1))

    def forward(self, input: Tensor, indices: Tensor, output_size: Optional[Sequence[int]] = None) -> Tensor:
        return max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

"""Convolutions: functional conv1d / conv2d / conv_transpose2d and the modules Conv1d, Conv2d,
ConvTranspose2d, with torch's names, arguments, shapes, errors and default initialisation.

Kernels: csrc/cpu/conv.cpp (im2col + the project GEMM, bias and ReLU in the GEMM epilogue, a
direct kernel for depthwise convolution) and csrc/cuda/conv.cu. Each function is one kernel
call forward and one backward node whose closure calls the fused backward kernel:

* conv2d      y = W * x + b (cross-correlation):   dx = col2im(W^T dY),  dW = sum_n dY col^T,
              db = sum_{n,h,w} dY.  The column matrix is built per slice of the batch and
              stays <= 32 MiB (at least one image), so a large batch never materialises one
              giant im2col buffer.
* conv1d      a conv2d with H = 1 (the same kernels).
* conv_transpose2d  the adjoint of conv2d: its forward is conv2d's input gradient (GEMM +
              col2im), its input gradient is conv2d's forward, its weight gradient conv2d's
              weight gradient with the roles of input and output swapped.

activation='relu' (a dlcore extension, as in linear) applies ReLU in the GEMM epilogue; the
backward takes relu' from the output, so the pre-activation is never stored.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import math
import numbers

from .. import _C, creation
from ..autograd import Node, _enabled
from ..tensor import Tensor, _wrap
from . import init
from .module import Module, Parameter

if TYPE_CHECKING:
    from .._dtype import device, dtype

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "Conv1d", "Conv2d", "ConvTranspose2d"]

_RELU = 0          # ActOp code of relu (nn.functional RELU)
_FLOAT_CODES = (2, 3)


# ---- argument parsing ------------------------------------------------------------------------

def _tuple(op, name, v, n):
    """An int or a sequence of n ints as an n-tuple of ints."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return (int(v),) * n
    if isinstance(v, (tuple, list)) and len(v) == n and all(
            isinstance(e, numbers.Integral) and not isinstance(e, bool) for e in v):
        return tuple(int(e) for e in v)
    if isinstance(v, (tuple, list)) and len(v) == 1 and n > 1:
        return _tuple(op, name, v[0], n)
    raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")


def _check_tensor(op, x, what):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor {what}, got {type(x).__name__}")


def _check_operands(op, input, weight, bias):
    _check_tensor(op, input, "input")
    _check_tensor(op, weight, "weight")
    if bias is not None:
        _check_tensor(op, bias, "bias")
    xi, wi = input._impl, weight._impl
    if xi.dtype not in _FLOAT_CODES:
        raise TypeError(f"{op}: expected a float32 or float64 input, got {input.dtype}")
    if wi.dtype != xi.dtype:
        raise TypeError(f"{op}: input dtype {input.dtype} does not match weight dtype "
                        f"{weight.dtype} (input {tuple(xi.shape)}, weight {tuple(wi.shape)})")
    if bias is not None and bias._impl.dtype != xi.dtype:
        raise TypeError(f"{op}: bias dtype {bias.dtype} does not match input dtype {input.dtype}")
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t._impl.device_type, t._impl.device_index) != (
                xi.device_type, xi.device_index):
            raise RuntimeError(f"{op}: expected all tensors on the same device, got input on "
                               f"{input.device} and {what} on {t.device}")


def _check_groups(op, groups):
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    return int(groups)


def _check_geometry(op, stride, dilation, pads):
    if any(s < 1 for s in stride):
        raise ValueError(f"{op}: stride must be positive, got {stride}")
    if any(d < 1 for d in dilation):
        raise ValueError(f"{op}: dilation must be positive, got {dilation}")
    if any(p < 0 for p in pads):
        raise ValueError(f"{op}: padding must be non-negative, got {pads}")


def _activation_code(op, activation):
    if activation is None:
        return 0
    if activation != "relu":
        raise ValueError(f"{op}: activation must be None or 'relu', got {activation!r}")
    return 1


# ---- conv2d ------------------------------------------------------------------------------------

def _conv_nd(op, input, weight, bias, stride, padding, dilation, groups, activation, nd):
    """Validation and geometry of conv1d (nd=1) / conv2d (nd=2): returns the 4-D call."""
    _check_operands(op, input, weight, bias)
    groups = _check_groups(op, groups)
    xs, ws = tuple(input.shape), tuple(weight.shape)
    if len(ws) != nd + 2:
        raise ValueError(f"{op}: expected a {nd + 2}-D weight (out_channels, in_channels/groups, "
                         f"{'kH, kW' if nd == 2 else 'kW'}), got shape {ws}")
    if len(xs) not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input "
                         f"for weight of shape {ws}, got input of shape {xs}")
    batched = len(xs) == nd + 2
    C = xs[1] if batched else xs[0]
    K, cg = ws[0], ws[1]
    if cg * groups != C:
        raise ValueError(f"{op}: input of shape {xs} does not fit weight of shape {ws} with "
                         f"groups={groups} (expected input to have {cg * groups} channels, "
                         f"got {C})")
    if K % groups:
        raise ValueError(f"{op}: out_channels {K} (weight of shape {ws}) must be divisible by "
                         f"groups={groups}")
    if bias is not None and tuple(bias.shape) != (K,):
        raise ValueError(f"{op}: bias of shape {tuple(bias.shape)} does not fit weight of shape "
                         f"{ws} (expected ({K},))")
    stride = _tuple(op, "stride", stride, nd)
    dilation = _tuple(op, "dilation", dilation, nd)
    ksize = ws[2:]
    spatial = xs[-nd:]
    if isinstance(padding, str):
        if padding == "valid":
            before = after = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            # total d*(k-1); the odd one out goes after (bottom / right), as torch pads.
            tot = [d * (k - 1) for d, k in zip(dilation, ksize)]
            before = tuple(t // 2 for t in tot)
            after = tuple(t - t // 2 for t in tot)
        else:
            raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple of "
                             f"{nd} ints, got {padding!r}")
    else:
        before = after = _tuple(op, "padding", padding, nd)
    _check_geometry(op, stride, dilation, before)
    out = []
    for n, k, s, d, p0, p1 in zip(spatial, ksize, stride, dilation, before, after):
        eff = d * (k - 1) + 1
        if n + p0 + p1 < eff:
            raise ValueError(f"{op}: kernel size {tuple(ksize)} (dilation {dilation}) is larger "
                             f"than the padded input: input of shape {xs}, padding "
                             f"{tuple(before)}, weight of shape {ws}")
        out.append((n + p0 + p1 - eff) // s + 1)
    if any(o <= 0 for o in out):
        raise ValueError(f"{op}: output size {tuple(out)} is empty for input of shape {xs} and "
                         f"weight of shape {ws}")
    act = _activation_code(op, activation)
    if nd == 1:
        stride, dilation, before, out = (1,) + stride, (1,) + dilation, (0,) + before, [1] + out
    return batched, stride, before, dilation, groups, out, act


def _conv2d_call(op, x4, w4, bias, stride, pad, dilation, groups, out, act):
    """The 4-D convolution with its autograd node (x4, w4 already rank 4)."""
    xi, wi = x4._impl, w4._impl
    bi = bias._impl if bias is not None else None
    yi = _C.conv2d(xi, wi, bi, list(stride), list(pad), list(dilation), groups, list(out), act)
    y = _wrap(yi)
    if not (_enabled[0] and (x4.requires_grad or w4.requires_grad
                             or (bias is not None and bias.requires_grad))):
        return y

    def backward(g):
        gi = g._impl
        if act:
            gi = _C.act_backward(_RELU, gi, None, yi, 0.0, 0.0)
        need_b = bias is not None and bias.requires_grad
        dx, dw, db = _C.conv2d_backward(gi, xi, wi, list(stride), list(pad), list(dilation),
                                        groups, x4.requires_grad, w4.requires_grad, need_b)
        return tuple(None if t is None else _wrap(t) for t in (dx, dw, db))

    y.requires_grad = True
    y._node = Node(op + ("_relu" if act else ""), (x4, w4, bias), backward)
    return y


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] | str = 0, dilation: int | tuple[int, int] = 1, groups: int = 1,
           activation: Optional[str] = None) -> Tensor:
    """2-D cross-correlation, torch.nn.functional.conv2d semantics.

    input (N, C, H, W) or unbatched (C, H, W); weight (K, C/groups, kH, kW); bias (K,).
    stride / dilation: int or (sH, sW); padding: int, (pH, pW), 'valid' or 'same' ('same'
    with an even kernel pads one more row / column at the bottom / right, as torch does).
    Output (N, K, OH, OW), OH = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1.
    activation='relu' (dlcore extension) fuses ReLU into the GEMM epilogue.

    Kernels: float32 with groups == 1 on the AVX2 / AVX-512 paths runs direct kernels
    (no column matrix; vectors over the channels); otherwise im2col + GEMM over slices of
    the batch, the column buffer kept <= 32 MiB (at least one image); 1x1 stride-1 unpadded
    convolutions skip im2col; depthwise convolutions (groups == C) use a direct kernel.
    """
    op = "conv2d"
    batched, stride, pad, dilation, groups, out, act = _conv_nd(
        op, input, weight, bias, stride, padding, dilation, groups, activation, 2)
    x4 = input if batched else input.unsqueeze(0)
    y = _conv2d_call(op, x4, weight, bias, stride, pad, dilation, groups, out, act)
    return y if batched else y.squeeze(0)


def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: int | tuple[int] = 1,
           padding: int | tuple[int] | str = 0, dilation: int | tuple[int] = 1, groups: int = 1,
           activation: Optional[str] = None) -> Tensor:
    """1-D cross-correlation, torch.nn.functional.conv1d semantics: input (N, C, L) or (C, L),
    weight (K, C/groups, kW), bias (K,); padding int, (p,), 'valid' or 'same'. Runs on the
    conv2d kernels with H = 1."""
    op = "conv1d"
    batched, stride, pad, dilation, groups, out, act = _conv_nd(
        op, input, weight, bias, stride, padding, dilation, groups, activation, 1)
    x3 = input if batched else input.unsqueeze(0)
    y = _conv2d_call(op, x3.unsqueeze(2), weight.unsqueeze(2), bias, stride, pad, dilation,
                     groups, out, act).squeeze(2)
    return y if batched else y.squeeze(0)


# ---- conv_transpose2d ---------------------------------------------------------------------------

def _transpose_geometry(op, xs, ws, stride, padding, output_padding, dilation, groups):
    stride = _tuple(op, "stride", stride, 2)
    padding = _tuple(op, "padding", padding, 2)
    output_padding = _tuple(op, "output_padding", output_padding, 2)
    dilation = _tuple(op, "dilation", dilation, 2)
    _check_geometry(op, stride, dilation, padding)
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ < 0 or (op_ >= s and op_ >= d):
            raise ValueError(f"{op}: output_padding {output_padding} must be non-negative and "
                             f"smaller than either stride {stride} or dilation {dilation}")
    out = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1
           for n, s, p, d, k, o in zip(xs[-2:], stride, padding, dilation, ws[2:],
                                       output_padding)]
    if any(o <= 0 for o in out):
        raise ValueError(f"{op}: output size {tuple(out)} is empty for input of shape {tuple(xs)}, "
                         f"weight of shape {tuple(ws)}, stride {stride}, padding {padding}")
    return stride, padding, dilation, out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                     output_padding: int | tuple[int, int] = 0, groups: int = 1,
                     dilation: int | tuple[int, int] = 1) -> Tensor:
    """2-D transposed convolution (the adjoint of conv2d), torch semantics.

    input (N, Cin, H, W) or (Cin, H, W); weight (Cin, Cout/groups, kH, kW); bias (Cout,).
    Output size (H - 1) sH - 2 pH + dH (kH - 1) + output_padding + 1; output_padding must be
    smaller than stride or dilation. Forward = conv2d's input gradient (GEMM + col2im).
    """
    op = "conv_transpose2d"
    _check_operands(op, input, weight, bias)
    groups = _check_groups(op, groups)
    xs, ws = tuple(input.shape), tuple(weight.shape)
    if len(ws) != 4:
        raise ValueError(f"{op}: expected a 4-D weight (in_channels, out_channels/groups, kH, kW), "
                         f"got shape {ws}")
    if len(xs) not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (unbatched) or 4-D (batched) input for weight of "
                         f"shape {ws}, got input of shape {xs}")
    batched = len(xs) == 4
    C = xs[1] if batched else xs[0]
    if ws[0] != C:
        raise ValueError(f"{op}: input of shape {xs} does not fit weight of shape {ws} (expected "
                         f"input to have {ws[0]} channels, got {C})")
    if C % groups:
        raise ValueError(f"{op}: in_channels {C} (input of shape {xs}) must be divisible by "
                         f"groups={groups}")
    cout = ws[1] * groups
    if bias is not None and tuple(bias.shape) != (cout,):
        raise ValueError(f"{op}: bias of shape {tuple(bias.shape)} does not fit weight of shape "
                         f"{ws} with groups={groups} (expected ({cout},))")
    stride, padding, dilation, out = _transpose_geometry(op, xs, ws, stride, padding,
                                                         output_padding, dilation, groups)
    x4 = input if batched else input.unsqueeze(0)
    xi, wi = x4._impl, weight._impl
    bi = bias._impl if bias is not None else None
    args = (list(stride), list(padding), list(dilation), groups)
    y = _wrap(_C.conv_transpose2d(xi, wi, bi, *args, out))
    if _enabled[0] and (x4.requires_grad or weight.requires_grad
                        or (bias is not None and bias.requires_grad)):
        def backward(g):
            need_b = bias is not None and bias.requires_grad
            dx, dw, db = _C.conv_transpose2d_backward(g._impl, xi, wi, *args, x4.requires_grad,
                                                      weight.requires_grad, need_b)
            return tuple(None if t is None else _wrap(t) for t in (dx, dw, db))

        y.requires_grad = True
        y._node = Node(op, (x4, weight, bias), backward)
    return y if batched else y.squeeze(0)


# ---- modules ------------------------------------------------------------------------------------

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared parameters, initialisation and repr of Conv1d / Conv2d / ConvTranspose2d."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, output_padding=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        nd = self._nd
        for v, what in ((in_channels, "in_channels"), (out_channels, "out_channels")):
            if not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"{name}: {what} must be a positive integer, got {v!r}")
        groups = _check_groups(name, groups)
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels {in_channels} must be divisible by groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels {out_channels} must be divisible by groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: padding_mode={padding_mode!r} is not supported by dlcore "
                             "(only 'zeros')")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _tuple(name, "kernel_size", kernel_size, nd)
        self.stride = _tuple(name, "stride", stride, nd)
        self.dilation = _tuple(name, "dilation", dilation, nd)
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self._transposed:
                raise ValueError(f"{name}: invalid padding string {padding!r} (expected 'valid' "
                                 "or 'same' for convolutions)")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(name, "padding", padding, nd)
        _check_geometry(name, self.stride, self.dilation,
                        self.padding if not isinstance(self.padding, str) else ())
        if any(k < 1 for k in self.kernel_size):
            raise ValueError(f"{name}: kernel_size must be positive, got {self.kernel_size}")
        self.output_padding = _tuple(name, "output_padding", output_padding, nd)
        self.groups = groups
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        kw = dict(dtype=dtype, device=device)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // groups) + self.kernel_size
        self.weight = Parameter(creation.empty(*shape, **kw))
        if bias:
            self.bias = Parameter(creation.empty(self.out_channels, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's default: kaiming_uniform_(weight, a=sqrt(5)) = U(-1/sqrt(fan_in), ...), and
        the bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) or (C_in, L) -> (N, C_out, L_out); weight
    (C_out, C_in/groups, k), bias (C_out,). torch.nn.Conv1d's signature and initialisation."""

    _nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int],
                 stride: int | tuple[int] = 1, padding: int | tuple[int] | str = 0,
                 dilation: int | tuple[int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: device | str | int | None = None,
                 dtype: dtype | str | type | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out);
    weight (C_out, C_in/groups, kH, kW), bias (C_out,). torch.nn.Conv2d's signature and
    initialisation; F.conv2d's kernels (im2col + GEMM, depthwise direct)."""

    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: device | str | int | None = None,
                 dtype: dtype | str | type | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution (N, C_in, H, W) -> (N, C_out, H_out, W_out), H_out =
    (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1; weight
    (C_in, C_out/groups, kH, kW) as torch. forward(input, output_size=None): output_size
    picks output_padding as torch does."""

    _nd = 2
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 output_padding: int | tuple[int, int] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | tuple[int, int] = 1, padding_mode: str = "zeros",
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device=device, dtype=dtype)
        for o, s, d in zip(self.output_padding, self.stride, self.dilation):
            if o < 0 or (o >= s and o >= d):
                raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be "
                                 f"smaller than either stride {self.stride} or dilation "
                                 f"{self.dilation}")

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        size = tuple(int(s) for s in output_size)
        if len(size) == input.ndim:
            size = size[2:] if input.ndim == 4 else size[1:]
        if len(size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must have 2 (or {input.ndim}) "
                             f"elements, got {tuple(output_size)}")
        res = []
        for n, want, s, p, d, k in zip(tuple(input.shape)[-2:], size, self.stride, self.padding,
                                       self.dilation, self.kernel_size):
            lo = (n - 1) * s - 2 * p + d * (k - 1) + 1
            if not lo <= want < lo + s:
                raise ValueError(f"ConvTranspose2d: requested output size {size} is not reachable "
                                 f"from input of shape {tuple(input.shape)} (each dim must be in "
                                 f"[{lo}, {lo + s - 1}] for this stride)")
            res.append(want - lo)
        return tuple(res)

    def forward(self, input: Tensor, output_size: Optional[Sequence[int]] = None) -> Tensor:
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups,
                                self.dilation)

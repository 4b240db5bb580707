"""Weight initialisation, in place and without autograd (every function runs under no_grad).

Random initialisers draw from the global Philox generator, so ``dlcore.manual_seed(s)`` fixes
every weight a model starts from, on the CPU and on CUDA alike.

Fans follow PyTorch: for a weight of shape (out, in, *kernel) the receptive field is
prod(kernel); fan_in = in * receptive, fan_out = out * receptive. So a Linear weight (out, in)
has fan_in = in, and a Conv2d weight (C_out, C_in, kh, kw) has fan_in = C_in * kh * kw.

    Xavier/Glorot uniform   U(-a, a),   a = gain * sqrt(6 / (fan_in + fan_out))
    Xavier/Glorot normal    N(0, s^2),  s = gain * sqrt(2 / (fan_in + fan_out))
    Kaiming/He uniform      U(-b, b),   b = gain * sqrt(3 / fan)      (gain sqrt(2) for ReLU)
    Kaiming/He normal       N(0, s^2),  s = gain / sqrt(fan)
    LeCun uniform           U(-c, c),   c = 1 / sqrt(fan_in)   (the rule Linear's default uses)
    LeCun normal            N(0, s^2),  s = 1 / sqrt(fan_in)
"""
from __future__ import annotations

from typing import Any, Optional

import math
import numbers

import numpy as np

from .. import _C, random as _random
from ..autograd import no_grad
from ..tensor import Tensor, _wrap


def _check(tensor, op):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a dlcore.Tensor, got {type(tensor).__name__}")


def _check_float(tensor, op):
    _check(tensor, op)
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"{op}: random initialisation needs a float32 or float64 tensor, got {tensor.dtype}")


def _fill_random(tensor, kernel, a, b):
    """Fills tensor from the Philox stream (kernel = _C.uniform_ or _C.normal_).

    A contiguous tensor is filled where it lies; a strided view is filled through a
    contiguous scratch tensor, so the same seed gives the same values either way.
    """
    n = tensor.numel()
    if n == 0:
        return tensor
    target = tensor
    if not tensor.is_contiguous():
        target = _wrap(_C.empty(list(tensor.shape), tensor._impl.dtype, tensor._impl.device_type,
                                tensor._impl.device_index))
    seed, offset = _random._next(n)
    kernel(target._impl, seed, offset, float(a), float(b))
    if target is not tensor:
        _C.copy_(tensor._impl, target._impl)
    return tensor


# ---- gains and fans --------------------------------------------------------------------------

def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The factor that keeps activations' variance steady through the nonlinearity (torch's table)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    shape = tuple(tensor.shape) if isinstance(tensor, Tensor) else tuple(tensor)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (got shape {shape})")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ---- plain fills -----------------------------------------------------------------------------

def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """U(a, b) in place."""
    _check_float(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: expected a <= b, got a={a}, b={b}")
    with no_grad():
        return _fill_random(tensor, _C.uniform_, a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """N(mean, std^2) in place."""
    _check_float(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    with no_grad():
        return _fill_random(tensor, _C.normal_, mean, std)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """N(mean, std^2) restricted to [a, b]: out-of-range draws are redrawn (rejection sampling)."""
    _check_float(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    if (b - mean) / max(std, 1e-30) < -6 or (a - mean) / max(std, 1e-30) > 6:
        raise ValueError("trunc_normal_: [a, b] lies more than 6 std from the mean; nothing to sample")
    with no_grad():
        from ..creation import normal
        vals = np.asarray(normal(tuple(tensor.shape), mean, std, dtype=tensor.dtype))
        bad = (vals < a) | (vals > b)
        for _ in range(1000):            # each round redraws only the rejected entries
            if not bad.any():
                break
            vals[bad] = np.asarray(normal((int(bad.sum()),), mean, std, dtype=tensor.dtype))
            bad = (vals < a) | (vals > b)
        np.clip(vals, a, b, out=vals)
        from ..tensor import from_numpy
        _C.copy_(tensor._impl, from_numpy(np.ascontiguousarray(vals).reshape(tuple(tensor.shape)))._impl)
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    _check(tensor, "constant_")
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (2-D tensors), keeping the identity of inputs in Linear layers."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    with no_grad():
        eye = np.eye(*tensor.shape, dtype=tensor.dtype.numpy)
        from ..tensor import from_numpy
        _C.copy_(tensor._impl, from_numpy(eye)._impl)
    return tensor


# ---- fan-scaled initialisers -----------------------------------------------------------------

def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    _check_float(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot normal: N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))."""
    _check_float(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Any = None) -> Tensor:
    """He uniform: U(-b, b), b = gain * sqrt(3 / fan); gain from calculate_gain(nonlinearity, a)."""
    _check_float(tensor, "kaiming_uniform_")
    if tensor.numel() == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / fan) if fan else 0.0
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Any = None) -> Tensor:
    """He normal: N(0, s^2), s = gain / sqrt(fan)."""
    _check_float(tensor, "kaiming_normal_")
    if tensor.numel() == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(fan) if fan else 0.0)


def lecun_uniform_(tensor: Tensor, generator: Any = None) -> Tensor:
    """Fan-in rule U(-1/sqrt(fan_in), +1/sqrt(fan_in)) — the bound Linear's default init reaches."""
    _check_float(tensor, "lecun_uniform_")
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
    return uniform_(tensor, -bound, bound)


def lecun_normal_(tensor: Tensor, generator: Any = None) -> Tensor:
    """N(0, 1/fan_in): the initialisation SELU networks are designed for."""
    _check_float(tensor, "lecun_normal_")
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in) if fan_in else 0.0)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix (Saxe et al. 2013), trailing dims flattened: rows x cols.

    Draws a Gaussian matrix from the seeded generator, takes its QR decomposition (in float64
    on the host; it runs once per layer) and fixes the signs of R's diagonal so the result is
    uniformly distributed over orthogonal matrices. rows <= cols gives W W^T = I, else W^T W = I.
    """
    _check_float(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        from ..creation import normal
        flat = np.asarray(normal((rows, cols), 0.0, 1.0, dtype="float64"))
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        d = np.sign(np.diag(r))
        d[d == 0] = 1.0
        q = q * d
        if rows < cols:
            q = q.T
        q = np.ascontiguousarray(gain * q, dtype=tensor.dtype.numpy).reshape(tuple(tensor.shape))
        from ..tensor import from_numpy
        _C.copy_(tensor._impl, from_numpy(q)._impl)
    return tensor


# torch's deprecated spellings, kept so old recipes run unchanged
uniform, normal, constant = uniform_, normal_, constant_
xavier_uniform, xavier_normal = xavier_uniform_, xavier_normal_
kaiming_uniform, kaiming_normal, orthogonal = kaiming_uniform_, kaiming_normal_, orthogonal_

"""Activation modules: thin wrappers holding the hyper-parameters of nn.functional's activations."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .module import Module
from . import functional as F

if TYPE_CHECKING:
    from .._dtype import device, dtype
    from ..tensor import Tensor


class ReLU(Module):
    """max(0, x), elementwise."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace      # accepted for torch compatibility; the result is always a new tensor

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class LeakyReLU(Module):
    """x for x >= 0, negative_slope * x below, elementwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x for x > 0, alpha * (exp(x) - 1) below, elementwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """log(1 + exp(beta x)) / beta; linear above beta x > threshold for numerical stability."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


def _softmax_dim(ndim):
    # torch's legacy rule when dim is not given: 0 for 0-D, 1-D and 3-D inputs, else 1
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """exp(x) normalised to sum to 1 along dim."""

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim if self.dim is not None else _softmax_dim(x.ndim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along dim, computed stably."""

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim if self.dim is not None else _softmax_dim(x.ndim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Maxout(Module):
    """Maxout (Goodfellow et al. 2013): the max over groups of pool_size consecutive channels.

    Input (N, C, *) -> output (N, C // pool_size, *); C must be divisible by pool_size.
    Put a Linear(in, k * out) before Maxout(k) for the classic maxout unit.
    """

    def __init__(self, pool_size: int, dim: int = 1) -> None:
        super().__init__()
        if pool_size < 1:
            raise ValueError(f"Maxout: pool_size must be >= 1, got {pool_size}")
        self.pool_size = int(pool_size)
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.maxout(x, self.pool_size, self.dim)

    def extra_repr(self) -> str:
        return f"pool_size={self.pool_size}" + (f", dim={self.dim}" if self.dim != 1 else "")


# ---- tensor-api family: more activations (functional forms in functional_extra.py) ----------

class _Simple(Module):
    """An activation with no parameters: forward = F.<_fn>(x, **self._kw())."""
    _fn = None

    def _kw(self):
        return {}

    def forward(self, x: Tensor) -> Tensor:
        return getattr(F, self._fn)(x, **self._kw())


class GELU(_Simple):
    """x * Phi(x) (Gaussian error linear unit); approximate="tanh" uses the tanh formula."""
    _fn = "gelu"

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def _kw(self):
        return {"approximate": self.approximate}

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_Simple):
    """x * sigmoid(x) (swish), elementwise."""
    _fn = "silu"

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class Mish(_Simple):
    """x * tanh(softplus(x)), elementwise."""
    _fn = "mish"

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class Softsign(_Simple):
    """x / (1 + abs(x)), elementwise."""
    _fn = "softsign"


class Tanhshrink(_Simple):
    """x - tanh(x), elementwise."""
    _fn = "tanhshrink"


class Hardswish(_Simple):
    """x * relu6(x + 3) / 6, elementwise."""
    _fn = "hardswish"

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class Hardsigmoid(_Simple):
    """relu6(x + 3) / 6, elementwise."""
    _fn = "hardsigmoid"

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class SELU(_Simple):
    """scale * (max(0, x) + min(0, alpha * (exp(x) - 1))) with the self-normalising constants."""
    _fn = "selu"

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class Hardtanh(_Simple):
    """x clipped to [min_val, max_val]."""
    _fn = "hardtanh"

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} is greater than max_val {max_val}")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def _kw(self):
        return {"min_val": self.min_val, "max_val": self.max_val}

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    """min(max(0, x), 6), elementwise."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)


class CELU(_Simple):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)), elementwise."""
    _fn = "celu"

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def _kw(self):
        return {"alpha": self.alpha}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GLU(_Simple):
    """Gated linear unit: a * sigmoid(b), where a and b are the two halves of the input along dim."""
    _fn = "glu"

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def _kw(self):
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(_Simple):
    """softmax(-x) along dim."""
    _fn = "softmin"

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def _kw(self):
        return {"dim": self.dim}


class PReLU(Module):
    """max(0, x) + a min(0, x) with a learned slope a (num_parameters = 1 or C), init 0.25."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: device | str | int | None = None,
                 dtype: dtype | str | type | None = None) -> None:
        super().__init__()
        from .. import creation
        from .module import Parameter
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(creation.full((num_parameters,), float(init), dtype=dtype or "float32",
                                              device=device))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"

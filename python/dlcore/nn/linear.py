"""Linear (y = x W^T + b), Identity, Flatten and Unflatten."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import math

from .. import creation
from .module import Module, Parameter
from . import functional as F, init

if TYPE_CHECKING:
    from .._dtype import device, dtype
    from ..tensor import Tensor


class Identity(Module):
    """Returns its input unchanged (a placeholder that keeps state_dict keys stable)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Linear(Module):
    """y = x @ W^T + b for x of shape (*, in_features); W is (out_features, in_features).

    Initialised like PyTorch: kaiming_uniform_(W, a=sqrt(5)), which works out to
    U(-1/sqrt(in), 1/sqrt(in)), and the bias from the same interval.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: features must be non-negative, got in={in_features}, out={out_features}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        kw = dict(dtype=dtype, device=device)
        self.weight = Parameter(creation.empty(self.out_features, self.in_features, **kw))
        if bias:
            self.bias = Parameter(creation.empty(self.out_features, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Flattens dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dim into unflattened_size: (N, 784) -> (N, 1, 28, 28) with Unflatten(1, (1, 28, 28))."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        d = self.dim % x.ndim if x.ndim else 0
        shape = tuple(x.shape)
        return x.reshape(shape[:d] + self.unflattened_size + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

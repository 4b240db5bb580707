"""Dropout: zeroes each element with probability p in training and scales the rest by 1/(1-p)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .module import Module
from . import functional as F

if TYPE_CHECKING:
    from ..tensor import Tensor


class Dropout(Module):
    """Identity in eval mode; the mask comes from the seeded generator (dlcore.manual_seed)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) / (C, H, W) inputs with probability p."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)


class Dropout1d(Dropout):
    """Zeroes whole channels of (N, C, L) / (C, L) inputs with probability p."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout1d(x, self.p, self.training)

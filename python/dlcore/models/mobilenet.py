"""MobileNet v1 (Howard et al., 2017): depthwise-separable convolutions, width multiplier
alpha and resolution multiplier rho.

A depthwise-separable layer is a 3x3 depthwise convolution (groups = channels, one filter per
channel) followed by a 1x1 pointwise convolution that mixes channels, each with BN and ReLU:
its cost is 9 C H W + C C' H W multiply-adds instead of 9 C C' H W. The width multiplier alpha
thins every layer (C -> int(alpha C)), cutting parameters and mult-adds by about alpha^2; the
resolution multiplier rho shrinks the input (224 -> round(224 rho)), cutting mult-adds by
rho^2 and leaving parameters alone. At alpha = 1 the network has 4,231,976 parameters and
about 569 M mult-adds at 224 x 224 (the paper's Table 8 reports 4.2 M and 569 M).

There is no torchvision MobileNet v1; the names are ``features.N`` (the stem is
``features.0``, each separable layer ``features.K`` with ``depthwise``/``pointwise`` parts)
and ``classifier``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import nn
from ..nn import init

if TYPE_CHECKING:
    from ..tensor import Tensor

# (output channels, stride) of the 13 depthwise-separable layers (Table 1 of the paper)
_MOBILENET_V1_LAYERS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                        (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2,
                                   groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.depthwise = ConvBNReLU(cin, cin, 3, stride, groups=cin)
        self.pointwise = ConvBNReLU(cin, cout, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int = 1000, alpha: float = 1.0, rho: float = 1.0, dropout: float = 1e-3,
                 in_channels: int = 3) -> None:
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"mobilenet_v1: width multiplier alpha must be positive, got {alpha}")
        if not 0 < rho <= 1:
            raise ValueError(f"mobilenet_v1: resolution multiplier rho must be in (0, 1], got {rho}")
        self.alpha = float(alpha)
        self.rho = float(rho)
        # the input resolution rho implies; the network itself takes any size >= 32
        self.input_size = int(round(224 * rho))

        def width(c):
            return max(1, int(c * alpha))

        c = width(32)
        layers = [ConvBNReLU(in_channels, c, 3, stride=2)]
        for cout, stride in _MOBILENET_V1_LAYERS:
            layers.append(DepthwiseSeparable(c, width(cout), stride))
            c = width(cout)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.dropout(self.avgpool(self.features(x)).flatten(1)))


def mobilenet_v1(num_classes: int = 1000, alpha: float = 1.0, rho: float = 1.0, **kwargs: Any) -> MobileNetV1:
    """MobileNet v1 with width multiplier alpha (1, 0.75, 0.5, 0.25 in the paper) and
    resolution multiplier rho (input round(224 rho): 224, 192, 160, 128); the model's
    ``input_size`` attribute says which input the multiplier means."""
    return MobileNetV1(num_classes, alpha, rho, **kwargs)

"""The plain convolutional stacks: LeNet-5, AlexNet, VGG and Network in Network.

Each constructor returns a Module whose parameter names follow torchvision where torchvision
has the model (``features.N`` / ``classifier.N``), so a torchvision state_dict with the same
layout loads with ``load_state_dict``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import nn
from ..nn import init

if TYPE_CHECKING:
    from ..nn.module import Module
    from ..tensor import Tensor


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al., 1998) with the fully connected C3 and a linear output layer:
    1 x 32 x 32 -> C1 6@28x28 -> S2 -> C3 16@10x10 -> S4 -> C5 120 -> F6 84 -> num_classes.
    61,706 parameters for 10 classes."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.Tanh(), nn.AvgPool2d(2),     # C1, S2
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),              # C3, S4
            nn.Conv2d(16, 120, 5), nn.Tanh(),                             # C5
        )
        self.classifier = nn.Sequential(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))


def lenet5(num_classes: int = 10, in_channels: int = 1) -> LeNet5:
    return LeNet5(num_classes, in_channels)


class AlexNet(nn.Module):
    """AlexNet as the paper's layer table has it (Krizhevsky et al., 2012), on one tower:
    227 x 227 input, 96 11x11/4 filters, local response normalisation (n=5, alpha=1e-4,
    beta=0.75, k=2) after conv1 and conv2, overlapping 3x3/2 max pooling, 9216-4096-4096-classes.

    torchvision's ``alexnet`` is the later "one weird trick" variant (64-192-384-256-256 filters,
    no LRN, 224 input, 61,100,840 parameters); this one follows the paper with the two GPU
    halves merged into full convolutions (no groups), 62,378,344 parameters for 1000 classes.
    The classifier is laid out as torchvision's (dropout, linear, ReLU, dropout, linear, ReLU,
    linear), so ``classifier.1/.4/.6`` are the three fully connected layers."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3) -> None:
        super().__init__()
        # The paper's LRN divides by (k + alpha * sum of squares)^beta with alpha = 1e-4;
        # LocalResponseNorm (as torch's) uses alpha / size, hence alpha = 5e-4 here.
        lrn_alpha = 1e-4 * 5
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, 11, stride=4), nn.ReLU(inplace=True),       # 227 -> 55
            nn.LocalResponseNorm(5, alpha=lrn_alpha, beta=0.75, k=2.0),
            nn.MaxPool2d(3, stride=2),                                              # -> 27
            nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=lrn_alpha, beta=0.75, k=2.0),
            nn.MaxPool2d(3, stride=2),                                              # -> 13
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),                                              # -> 6
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        if tuple(x.shape[-2:]) != (6, 6):
            raise ValueError(f"AlexNet: the 227 x 227 input the layer table needs gives 256 x 6 x 6 "
                             f"features; input of shape {tuple(x.shape)} after the convolutions "
                             f"does not fit classifier.1 (9216 inputs)")
        return self.classifier(x.flatten(1))


def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    return AlexNet(num_classes, dropout)


# VGG configurations (Simonyan & Zisserman, 2014, Table 1): numbers are 3x3 conv widths, "M" a
# 2x2/2 max pool. A = VGG-11, D = VGG-16.
_VGG_CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


def _vgg_features(cfg, batch_norm, in_channels=3):
    layers, c = [], in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
            continue
        layers.append(nn.Conv2d(c, v, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        c = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """torchvision's VGG: ``features`` (the conv stack), ``avgpool`` (adaptive to 7 x 7, so any
    input of at least 32 x 32 works) and ``classifier`` (25088-4096-4096-classes, dropout)."""

    def __init__(self, features: Module, num_classes: int = 1000, dropout: float = 0.5,
                 init_weights: bool = True) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:            # torchvision's initialisation
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    init.ones_(m.weight)
                    init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    init.normal_(m.weight, 0.0, 0.01)
                    init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def vgg11(num_classes: int = 1000, **kwargs: Any) -> VGG:
    return VGG(_vgg_features(_VGG_CFGS["A"], False), num_classes, **kwargs)


def vgg11_bn(num_classes: int = 1000, **kwargs: Any) -> VGG:
    return VGG(_vgg_features(_VGG_CFGS["A"], True), num_classes, **kwargs)


def vgg16(num_classes: int = 1000, **kwargs: Any) -> VGG:
    return VGG(_vgg_features(_VGG_CFGS["D"], False), num_classes, **kwargs)


def vgg16_bn(num_classes: int = 1000, **kwargs: Any) -> VGG:
    return VGG(_vgg_features(_VGG_CFGS["D"], True), num_classes, **kwargs)


class NiN(nn.Module):
    """Network in Network (Lin, Chen & Yan, 2013), the CIFAR-10 model of the paper: three
    mlpconv blocks (a spatial convolution followed by two 1x1 convolutions, each with ReLU —
    the per-pixel multilayer perceptron), max / average pooling and dropout between blocks,
    and global average pooling over num_classes maps instead of fully connected layers.
    966,986 parameters for 10 classes; 32 x 32 input -> 16 -> 8 -> global."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()

        def mlpconv(cin, widths, k, pad):
            a, b, c = widths
            return [nn.Conv2d(cin, a, k, padding=pad), nn.ReLU(inplace=True),
                    nn.Conv2d(a, b, 1), nn.ReLU(inplace=True),
                    nn.Conv2d(b, c, 1), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *mlpconv(in_channels, (192, 160, 96), 5, 2), nn.MaxPool2d(3, stride=2, padding=1), nn.Dropout(dropout),
            *mlpconv(96, (192, 192, 192), 5, 2), nn.AvgPool2d(3, stride=2, padding=1), nn.Dropout(dropout),
            *mlpconv(192, (192, 192, num_classes), 3, 1),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.avgpool(self.features(x)).flatten(1)


def nin(num_classes: int = 10, in_channels: int = 3, dropout: float = 0.5) -> NiN:
    return NiN(num_classes, in_channels, dropout)

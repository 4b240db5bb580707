"""DCGAN (Radford, Metz & Chintala, 2015): the all-convolutional generator and discriminator.

Generator: z (nz x 1 x 1) -> 4x4 transposed convolution to ngf * 2^(n-1) maps, then n - 1
stride-2 4x4 transposed convolutions doubling the size and halving the maps, BN and ReLU after
each except the last, tanh output in [-1, 1]. Discriminator: the mirror with stride-2 4x4
convolutions, LeakyReLU(0.2), BN everywhere but the first layer, and a 4x4 valid convolution
to one logit. No pooling and no fully connected hidden layers. For 64 x 64 RGB images with
nz = 100, ngf = ndf = 64 (the PyTorch reference setting) G has 3,576,704 and D 2,765,568
parameters; ngf = 128 gives the paper's 1024-512-256-128 generator.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from .. import nn
from ..nn import init

if TYPE_CHECKING:
    from ..nn.module import Module

_ModuleT = TypeVar("_ModuleT", bound="Module")


def _stages(image_size):
    n = int(image_size).bit_length() - 3          # n stride-2 layers after the 4x4 start
    if image_size < 8 or image_size != 4 * 2 ** n:
        raise ValueError(f"dcgan: image_size must be a power of two >= 8, got {image_size}")
    return n


def dcgan_init_(module: _ModuleT) -> _ModuleT:
    """The paper's initialisation: conv weights N(0, 0.02), BN scale N(1, 0.02), shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            init.normal_(m.weight, 1.0, 0.02)
            init.zeros_(m.bias)
    return module


def dcgan_generator(nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64) -> nn.Sequential:
    """(N, nz, 1, 1) -> (N, nc, image_size, image_size) in [-1, 1]."""
    n = _stages(image_size)
    c = ngf * 2 ** (n - 1)
    layers = [nn.ConvTranspose2d(nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
    for _ in range(n - 1):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
        c //= 2
    layers += [nn.ConvTranspose2d(c, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return dcgan_init_(nn.Sequential(*layers))


def dcgan_discriminator(ndf: int = 64, nc: int = 3, image_size: int = 64,
                        sigmoid: bool = True) -> nn.Sequential:
    """(N, nc, image_size, image_size) -> (N, 1, 1, 1): the probability that the image is real
    (sigmoid=True, for BCELoss) or its logit (sigmoid=False, for BCEWithLogitsLoss)."""
    n = _stages(image_size)
    layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    c = ndf
    for _ in range(n - 1):
        layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True)]
        c *= 2
    layers.append(nn.Conv2d(c, 1, 4, 1, 0, bias=False))
    if sigmoid:
        layers.append(nn.Sigmoid())
    return dcgan_init_(nn.Sequential(*layers))

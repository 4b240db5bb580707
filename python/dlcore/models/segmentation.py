"""Encoder-decoder networks for per-pixel classification: U-Net and SegNet.

U-Net (Ronneberger et al., 2015): a contracting path of double 3x3 convolutions and 2x2 max
pooling, an expanding path whose 2x2 transposed convolutions halve the channels and double the
size, each followed by concatenation with the encoder map of the same level (the skip
connection, centre-cropped when unpadded) and a double convolution; a 1x1 convolution gives the
class scores. With padding=False it is the paper's network: 572 x 572 in, 388 x 388 out,
31,030,658 parameters for 1 input channel and 2 classes. padding=True keeps every size (output
= input, input divisible by 2^depth), the form most re-implementations use.

SegNet (Badrinarayanan et al., 2017): the 13 convolutions of VGG-16 with BN as encoder; the
decoder upsamples with max-unpooling, using the indices the encoder's pooling remembered, so
boundaries come back where they were without learning to upsample, then convolves the sparse
map densely. 29,449,932 parameters for 3 input channels and 12 classes (the paper's CamVid
setting; the paper quotes 29.5 M).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .. import nn
from ..views import cat

if TYPE_CHECKING:
    from ..tensor import Tensor


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, padding: int = 1, batch_norm: bool = False) -> None:
        layers = []
        for a, b in ((cin, cout), (cout, cout)):
            layers.append(nn.Conv2d(a, b, 3, padding=padding, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def _center_crop(x, h, w):
    H, W = x.shape[-2:]
    top, left = (H - h) // 2, (W - w) // 2
    return x[:, :, top:top + h, left:left + w]


class UNet(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 64, depth: int = 4,
                 padding: bool = False, batch_norm: bool = False) -> None:
        super().__init__()
        pad = 1 if padding else 0
        self.depth = depth
        widths = [base_channels * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths:
            self.down.append(DoubleConv(c, w, pad, batch_norm))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.up_conv = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.up_conv.append(DoubleConv(2 * w, w, pad, batch_norm))
            c = w
        self.head = nn.Conv2d(c, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                if x.shape[-1] % 2 or x.shape[-2] % 2:
                    raise ValueError(f"UNet: a feature map of shape {tuple(x.shape)} cannot be halved "
                                     f"by 2x2 pooling (the input size must fit the {self.depth}-level "
                                     f"contracting path, e.g. 572 unpadded or a multiple of "
                                     f"{2 ** self.depth} padded)")
                x = self.pool(x)
        for up, conv in zip(self.up, self.up_conv):
            x = up(x)
            skip = skips.pop()
            x = conv(cat([_center_crop(skip, x.shape[-2], x.shape[-1]), x], 1))
        return self.head(x)


def unet(in_channels: int = 1, num_classes: int = 2, base_channels: int = 64, depth: int = 4,
         padding: bool = False, batch_norm: bool = False) -> UNet:
    return UNet(in_channels, num_classes, base_channels, depth, padding, batch_norm)


def _conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SegNet(nn.Module):
    """widths / convs per stage: (64, 128, 256, 512, 512) / (2, 2, 3, 3, 3) is the VGG-16
    encoder of the paper; smaller tuples give the same design at a smaller scale. The decoder
    stage k mirrors encoder stage k: unpool, then the same number of conv-BN-ReLU layers, the
    last one narrowing to the width of stage k - 1; a final 3x3 convolution gives the class
    scores (softmax / cross-entropy outside)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 12,
                 widths: Sequence[int] = (64, 128, 256, 512, 512),
                 convs: Sequence[int] = (2, 2, 3, 3, 3)) -> None:
        super().__init__()
        if len(widths) != len(convs):
            raise ValueError(f"segnet: widths {widths} and convs {convs} must have the same length")
        self.encoders = nn.ModuleList()
        c = in_channels
        for w, n in zip(widths, convs):
            layers = []
            for _ in range(n):
                layers += _conv_bn_relu(c, w)
                c = w
            self.encoders.append(nn.Sequential(*layers))
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        self.decoders = nn.ModuleList()
        for k in reversed(range(len(widths))):
            w, n = widths[k], convs[k]
            out = widths[k - 1] if k > 0 else widths[0]
            layers = []
            for j in range(n):
                last = j == n - 1
                if k == 0 and last:
                    break                       # the first stage ends in the classifier below
                layers += _conv_bn_relu(w, out if last else w)
            self.decoders.append(nn.Sequential(*layers))
        self.classifier = nn.Conv2d(widths[0], num_classes, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        stack = []
        for enc in self.encoders:
            x = enc(x)
            size = tuple(x.shape)
            x, idx = self.pool(x)
            stack.append((idx, size))
        for dec in self.decoders:
            idx, size = stack.pop()
            x = dec(self.unpool(x, idx, output_size=size))
        return self.classifier(x)


def segnet(in_channels: int = 3, num_classes: int = 12, widths: Sequence[int] = (64, 128, 256, 512, 512),
           convs: Sequence[int] = (2, 2, 3, 3, 3)) -> SegNet:
    return SegNet(in_channels, num_classes, widths, convs)

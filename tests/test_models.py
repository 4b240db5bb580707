# test_models.py — dlcore.models: parameter counts (torchvision's published figures where it has
# the model, the papers' layer tables otherwise), torchvision parameter names, output shapes,
# and a forward + backward at batch 2 for every model (small inputs where the model allows).
import math

import numpy as np
import pytest

import dlcore
from dlcore import models
import dlcore.nn as nn


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def forward_backward(model, shape, extra=None):
    """Batch forward + backward in training mode; every parameter gets a finite gradient."""
    dlcore.manual_seed(0)
    model.train()
    x = dlcore.randn(*shape, requires_grad=True)
    out = model(x)
    outs = out if isinstance(out, tuple) else (out,)
    loss = sum((o * dlcore.randn(*o.shape)).sum() for o in outs)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        g = p.grad.numpy()
        assert np.isfinite(g).all(), name
    assert x.grad is not None and np.abs(x.grad.numpy()).sum() > 0
    return outs


def conv_linear_mult_adds(result):
    return sum(r["mult_adds"] or 0 for r in result["layers"] if r["type"] in ("Conv2d", "Linear"))


def test_lenet5():
    m = models.lenet5()
    assert n_params(m) == 61_706                    # LeCun et al. 1998 with a full C3 table
    (out,) = forward_backward(m, (2, 1, 32, 32))
    assert tuple(out.shape) == (2, 10)


def test_alexnet_single_tower_with_lrn_at_227():
    m = models.alexnet(num_classes=10)
    # paper layers, single tower: 96-256-384-384-256 convolutions, 9216-4096-4096 classifier
    convs = [(96, 3, 11), (256, 96, 5), (384, 256, 3), (384, 384, 3), (256, 384, 3)]
    expected = sum(o * i * k * k + o for o, i, k in convs) + 9216 * 4096 + 4096 + 4096 * 4096 + 4096
    assert n_params(m) == expected + 4096 * 10 + 10
    assert expected + 4096 * 1000 + 1000 == 62_378_344          # at 1000 classes
    assert sum(isinstance(l, nn.LocalResponseNorm) for l in m.features) == 2
    names = dict(m.named_parameters())
    assert tuple(names["classifier.1.weight"].shape) == (4096, 9216)
    assert tuple(names["classifier.6.weight"].shape) == (10, 4096)
    with dlcore.no_grad():
        m.eval()
        assert tuple(m.features(dlcore.randn(1, 3, 227, 227)).shape) == (1, 256, 6, 6)
        with pytest.raises(ValueError, match="227"):
            m(dlcore.randn(1, 3, 224, 224))          # 224 gives 5 x 5 maps: the table needs 227
    (out,) = forward_backward(m, (2, 3, 227, 227))
    assert tuple(out.shape) == (2, 10)


def test_vgg_counts_names_and_forward_backward():
    from dlcore.models.classic import _VGG_CFGS, _vgg_features
    classifier = (25088 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    # torchvision's published totals: features are built alone (cheap), the classifier is the
    # same 25088-4096-4096-1000 stack for all four
    for cfg, bn, total in (("A", False, 132_863_336), ("A", True, 132_868_840),
                           ("D", False, 138_357_544), ("D", True, 138_365_992)):
        assert n_params(_vgg_features(_VGG_CFGS[cfg], bn)) + classifier == total
    m = models.vgg16(num_classes=10, init_weights=False)
    assert n_params(m) == 138_357_544 - 4096 * 1000 - 1000 + 4096 * 10 + 10
    keys = list(m.state_dict())
    assert keys[:2] == ["features.0.weight", "features.0.bias"]
    assert "features.28.weight" in keys and "classifier.6.weight" in keys
    (out,) = forward_backward(m, (2, 3, 32, 32))      # 32 x 32 -> 512 x 1 x 1 -> adaptive 7 x 7
    assert tuple(out.shape) == (2, 10)
    bn_keys = list(models.vgg11_bn(num_classes=2, init_weights=False).state_dict())
    assert "features.1.running_mean" in bn_keys and "features.1.num_batches_tracked" in bn_keys


def test_nin():
    m = models.nin()
    assert n_params(m) == 966_986                     # the paper's CIFAR-10 model
    assert not any(isinstance(l, nn.Linear) for l in m.modules())   # global average pooling head
    (out,) = forward_backward(m, (2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)


def test_googlenet_with_and_without_aux():
    m = models.googlenet(num_classes=1000, aux_logits=True)
    aux = n_params(m.aux1) + n_params(m.aux2)
    assert n_params(m) == 13_004_888                  # torchvision googlenet(aux_logits=True)
    assert n_params(m) - aux == 6_624_904             # and without the auxiliary heads
    assert n_params(models.googlenet()) == 6_624_904
    sd = m.state_dict()
    assert tuple(sd["inception3a.branch2.1.conv.weight"].shape) == (128, 96, 3, 3)
    assert tuple(sd["inception5b.branch4.1.bn.running_var"].shape) == (128,)
    assert tuple(sd["aux1.fc1.weight"].shape) == (1024, 2048)
    small = models.googlenet(num_classes=7, aux_logits=True)
    outs = forward_backward(small, (2, 3, 64, 64))   # training: (logits, aux2, aux1)
    assert len(outs) == 3 and all(tuple(o.shape) == (2, 7) for o in outs)
    small.eval()
    with dlcore.no_grad():
        assert tuple(small(dlcore.randn(1, 3, 64, 64)).shape) == (1, 7)


def test_resnet18_counts_names_shapes_and_mult_adds():
    m = models.resnet18()
    assert n_params(m) == 11_689_512
    sd = m.state_dict()
    assert len(sd) == 122                             # torchvision's state_dict has 122 entries
    for key, shape in (("conv1.weight", (64, 3, 7, 7)), ("layer1.0.conv1.weight", (64, 64, 3, 3)),
                       ("layer2.0.downsample.0.weight", (128, 64, 1, 1)),
                       ("layer2.0.downsample.1.running_mean", (128,)), ("fc.weight", (1000, 512))):
        assert tuple(sd[key].shape) == shape
    res = dlcore.summary(m, (1, 3, 224, 224), print_table=False)
    rows = {r["name"]: r for r in res["layers"]}
    assert rows["maxpool"]["output_shape"] == [1, 64, 56, 56]
    assert rows["layer2.0.bn2"]["output_shape"] == [1, 128, 28, 28]
    assert rows["layer4.1.bn2"]["output_shape"] == [1, 512, 7, 7]
    assert res["output_shape"] == [1, 1000]
    assert round(conv_linear_mult_adds(res) / 1e9, 2) == 1.81     # torchvision: 1.81 GFLOPS (MACs)
    small = models.resnet18(num_classes=10)
    (out,) = forward_backward(small, (2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)
    # a state_dict with these names loads strictly into a fresh model and gives the same outputs
    twin = models.resnet18(num_classes=10)
    twin.load_state_dict(small.state_dict())
    small.eval(), twin.eval()
    x = dlcore.randn(1, 3, 32, 32)
    with dlcore.no_grad():
        np.testing.assert_array_equal(small(x).numpy(), twin(x).numpy())


def test_resnet34():
    m = models.resnet34(num_classes=10)
    assert n_params(m) == 21_797_672 - 513_000 + 5_130
    (out,) = forward_backward(m, (2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)


def test_resnet50_bottleneck():
    m = models.resnet50()
    assert n_params(m) == 25_557_032
    sd = m.state_dict()
    assert len(sd) == 320
    assert tuple(sd["layer1.0.conv3.weight"].shape) == (256, 64, 1, 1)
    assert tuple(sd["layer3.0.conv2.weight"].shape) == (256, 256, 3, 3)   # stride on the 3x3
    assert m.layer3[0].conv2.stride == (2, 2) and m.layer3[0].conv1.stride == (1, 1)
    m.fc = nn.Linear(2048, 10)
    (out,) = forward_backward(m, (2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)


def test_zero_init_residual_starts_blocks_as_identity():
    m = models.resnet18(zero_init_residual=True)
    assert all(float(b.bn2.weight.abs().sum()) == 0 for layer in (m.layer1, m.layer2) for b in layer)


def test_densenet121():
    m = models.densenet121()
    assert n_params(m) == 7_978_856
    sd = m.state_dict()
    assert tuple(sd["features.denseblock1.denselayer1.conv1.weight"].shape) == (128, 64, 1, 1)
    assert tuple(sd["features.denseblock4.denselayer16.conv2.weight"].shape) == (32, 128, 3, 3)
    assert tuple(sd["features.transition3.conv.weight"].shape) == (512, 1024, 1, 1)
    assert tuple(sd["features.norm5.weight"].shape) == (1024,)
    m.classifier = nn.Linear(1024, 10)
    (out,) = forward_backward(m, (2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)


def test_mobilenet_v1_width_and_resolution_multipliers():
    m = models.mobilenet_v1()
    assert n_params(m) == 4_231_976                   # paper Table 8: 4.2 M
    dw = m.features[1].depthwise[0]
    assert dw.groups == dw.in_channels == dw.out_channels == 32
    res = dlcore.summary(m, (1, 3, 224, 224), print_table=False)
    assert conv_linear_mult_adds(res) == pytest.approx(569e6, rel=0.005)   # paper: 569 M
    # width multiplier: paper Table 6 parameters 2.6 M, 1.3 M, 0.5 M; ~alpha^2 cost
    for alpha, paper in ((0.75, 2.6), (0.5, 1.3), (0.25, 0.5)):
        assert round(n_params(models.mobilenet_v1(alpha=alpha)) / 1e6, 1) == paper
    # resolution multiplier: same parameters, mult-adds of MobileNet-128 (paper Table 7: 186 M)
    m128 = models.mobilenet_v1(rho=128 / 224)
    assert m128.input_size == 128 and n_params(m128) == n_params(m)
    res = dlcore.summary(m128, (1, 3, 128, 128), print_table=False)
    assert conv_linear_mult_adds(res) == pytest.approx(186e6, rel=0.01)
    with pytest.raises(ValueError, match="alpha"):
        models.mobilenet_v1(alpha=0)
    small = models.mobilenet_v1(num_classes=10, alpha=0.25)
    (out,) = forward_backward(small, (2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)


def test_unet_paper_shapes_count_and_padded_training():
    m = models.unet()
    assert n_params(m) == 31_030_658                  # 1 channel in, 2 classes, 64..1024 wide
    assert sum(isinstance(l, nn.ConvTranspose2d) for l in m.modules()) == 4
    thin = models.unet(base_channels=2)               # shapes do not depend on the widths
    thin.eval()
    with dlcore.no_grad():
        assert tuple(thin(dlcore.randn(1, 1, 572, 572)).shape) == (1, 2, 388, 388)   # Fig. 1
        with pytest.raises(ValueError, match="halved"):
            thin(dlcore.randn(1, 1, 570, 570))
    small = models.unet(in_channels=3, num_classes=4, base_channels=8, depth=3, padding=True)
    (out,) = forward_backward(small, (2, 3, 24, 24))
    assert tuple(out.shape) == (2, 4, 24, 24)
    dlcore.manual_seed(0)
    (out,) = forward_backward(models.unet(base_channels=8, depth=2), (2, 1, 44, 44))   # cropped skips
    assert tuple(out.shape) == (2, 2, 4, 4)


def test_segnet_unpooling_decoder():
    m = models.segnet()
    assert n_params(m) == 29_449_932                  # paper: 29.5 M
    enc = sum(n_params(e) for e in m.encoders)
    assert enc - 2 * sum(e[i].num_features for e in m.encoders for i in range(1, len(e), 3)) == 14_714_688
    assert sum(isinstance(l, nn.MaxUnpool2d) for l in m.modules()) == 1 and len(m.decoders) == 5
    small = models.segnet(in_channels=1, num_classes=3, widths=(8, 16), convs=(2, 2))
    (out,) = forward_backward(small, (2, 1, 12, 12))
    assert tuple(out.shape) == (2, 3, 12, 12)
    # the decoder's first map is non-zero exactly where the encoder's max was
    small.eval()
    with dlcore.no_grad():
        x = small.encoders[0](dlcore.randn(1, 1, 12, 12))
        pooled, idx = small.pool(x)
        up = small.unpool(pooled, idx, output_size=tuple(x.shape)).numpy()
    blocks = up.reshape(1, 8, 6, 2, 6, 2)
    assert ((blocks != 0).sum(axis=(3, 5)) <= 1).all()


def test_dcgan_pair():
    g, d = models.dcgan_generator(), models.dcgan_discriminator()
    assert n_params(g) == 3_576_704 and n_params(d) == 2_765_568   # nz 100, ngf = ndf = 64, RGB 64 x 64
    assert isinstance(list(g)[-1], nn.Tanh) and not any(isinstance(l, nn.MaxPool2d) for l in d.modules())
    z = dlcore.randn(2, 100, 1, 1)
    (img,) = forward_backward(g, (2, 100, 1, 1))
    assert tuple(img.shape) == (2, 3, 64, 64)
    assert float(img.abs().max()) <= 1.0
    (p,) = forward_backward(d, (2, 3, 64, 64))
    assert tuple(p.shape) == (2, 1, 1, 1) and 0 <= float(p.min()) and float(p.max()) <= 1
    for size in (8, 16, 32):
        g2 = models.dcgan_generator(nz=10, ngf=8, nc=1, image_size=size)
        d2 = models.dcgan_discriminator(ndf=8, nc=1, image_size=size, sigmoid=False)
        with dlcore.no_grad():
            out = g2(dlcore.randn(3, 10, 1, 1))
            assert tuple(out.shape) == (3, 1, size, size)
            assert tuple(d2(out).shape) == (3, 1, 1, 1)
    with pytest.raises(ValueError, match="power of two"):
        models.dcgan_generator(image_size=48)
    del z

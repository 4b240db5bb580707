"""dlcore.models: the architectures of the course, built from dlcore.nn, named as torchvision's.

    from dlcore import models
    net = models.resnet18(num_classes=10)
    dlcore.summary(net, (1, 3, 224, 224))

Where torchvision has the model, the parameter names, counts and output shapes are its own
(resnet18/34/50, vgg11/16 and their _bn variants, googlenet, densenet121), so its state_dict
loads; the others follow their papers (lenet5, alexnet in the paper's single-tower layout with
LRN, nin, mobilenet_v1, unet, segnet, dcgan_generator/dcgan_discriminator). Weights start
from each paper's or torchvision's initialisation; nothing is downloaded.
"""
from .classic import AlexNet, LeNet5, NiN, VGG, alexnet, lenet5, nin, vgg11, vgg11_bn, vgg16, vgg16_bn
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
from .googlenet import GoogLeNet, Inception, googlenet
from .densenet import DenseNet, densenet121
from .mobilenet import MobileNetV1, mobilenet_v1
from .segmentation import SegNet, UNet, segnet, unet
from .dcgan import dcgan_discriminator, dcgan_generator, dcgan_init_

__all__ = ["lenet5", "alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "nin", "googlenet",
           "resnet18", "resnet34", "resnet50", "densenet121", "mobilenet_v1", "unet", "segnet",
           "dcgan_generator", "dcgan_discriminator", "dcgan_init_", "LeNet5", "AlexNet", "VGG", "NiN",
           "GoogLeNet", "Inception", "ResNet", "BasicBlock", "Bottleneck", "DenseNet", "MobileNetV1",
           "UNet", "SegNet"]

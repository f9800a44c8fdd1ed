"""Model architectures with torchvision's builders and state_dict names."""

from chainrule.vision.models.lenet import LeNet
from chainrule.vision.models.resnet import ResNet, resnet18, resnet34
from chainrule.vision.models.vgg import VGG, vgg11, vgg11_bn

__all__ = ["LeNet", "ResNet", "VGG", "resnet18", "resnet34", "vgg11", "vgg11_bn"]

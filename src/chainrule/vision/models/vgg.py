"""VGG-11 (Simonyan & Zisserman, 2015, configuration A), with or without batch norm, with
torchvision's modules and state_dict names (``features.0``, ..., ``classifier.6``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.nn import init
from chainrule.nn.modules.activation import ReLU
from chainrule.nn.modules.batchnorm import BatchNorm2d
from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.conv import Conv2d
from chainrule.nn.modules.dropout import Dropout
from chainrule.nn.modules.linear import Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.pooling import AdaptiveAvgPool2d, MaxPool2d
from chainrule.tensor import Tensor
from chainrule.vision.models._weights import check_no_weights

CFG_A: list[int | str] = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class VGG(Module):
    """``features`` (3×3 convolutions and 2×2 max-pools), average pooling to 7×7, and a
    three-layer ``classifier`` 25088 → 4096 → 4096 → num_classes with ReLU and dropout.

    Args:
        features: the convolutional part, e.g. ``make_layers(CFG_A)``.
        num_classes: outputs of the last linear layer.
        init_weights: convolutions Kaiming-normal (fan_out, ReLU gain) with zero bias, BN γ = 1,
            β = 0, linear layers N(0, 0.01²) with zero bias (torchvision's init).
        dropout: the dropout probability in the classifier.

    Shape:
        (N, 3, H, W) → (N, num_classes); H and W ≥ 32.
    """

    def __init__(self, features: Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = AdaptiveAvgPool2d((7, 7))
        self.classifier = Sequential(
            Linear(512 * 7 * 7, 4096), ReLU(True), Dropout(p=dropout),
            Linear(4096, 4096), ReLU(True), Dropout(p=dropout),
            Linear(4096, num_classes))
        if init_weights:
            with no_grad():
                for m in self.modules():
                    if isinstance(m, Conv2d):
                        init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                        if m.bias is not None:
                            init.zeros_(m.bias)
                    elif isinstance(m, BatchNorm2d):
                        init.ones_(m.weight)
                        init.zeros_(m.bias)
                    elif isinstance(m, Linear):
                        init.normal_(m.weight, 0.0, 0.01)
                        init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def make_layers(cfg: Sequence[int | str], batch_norm: bool = False) -> Sequential:
    """The ``features`` stack of a VGG configuration: an int is a 3×3 convolution to that many
    channels (+ BN) + ReLU, ``"M"`` a 2×2 max-pool."""
    layers: list[Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(Conv2d(in_channels, int(v), kernel_size=3, padding=1))
        if batch_norm:
            layers.append(BatchNorm2d(int(v)))
        layers.append(ReLU(inplace=True))
        in_channels = int(v)
    return Sequential(*layers)


def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration A), 132.9M parameters at 1000 classes.

    Args:
        weights: must be None: pretrained weights cannot be downloaded (load a torchvision
            state_dict saved as safetensors with ``load_state_dict(chainrule.load(path))``).
        progress: accepted for torchvision compatibility.
        **kwargs: passed to :class:`VGG` (``num_classes``, ``dropout``, ``init_weights``).
    """
    check_no_weights("vgg11", weights)
    return VGG(make_layers(CFG_A), **kwargs)


def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with batch normalization after every convolution; see :func:`vgg11`."""
    check_no_weights("vgg11_bn", weights)
    return VGG(make_layers(CFG_A, batch_norm=True), **kwargs)

"""ResNet-18 and ResNet-34 (He et al., 2016) with torchvision's modules and state_dict names
(``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``, ..., ``fc``), so a
torchvision state_dict saved as safetensors loads into them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.nn.activation import ReLU
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm2d
from chainrule.nn.pooling import AdaptiveAvgPool2d, MaxPool2d
from chainrule.nn.resnet import BasicBlock, init_resnet_
from chainrule.tensor import Tensor
from chainrule.vision.models._weights import check_no_weights


class ResNet(Module):
    """torchvision's ImageNet ResNet of ``BasicBlock``s: a 7×7 stride-2 stem with 3×3
    max-pooling, four stages of 64, 128, 256, 512 channels (each after the first halving the
    resolution), global average pooling and ``fc``.

    Args:
        block: the residual block (``BasicBlock``).
        layers: blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18.
        num_classes: outputs of ``fc``.
        zero_init_residual: start each block's last BN at γ = 0 (the block is the identity).

    Init: convolutions Kaiming-normal (fan_out, ReLU gain); BN γ = 1, β = 0; ``fc`` as Linear.

    Shape:
        (N, 3, H, W) → (N, num_classes); H and W ≥ 32 (the stem and stages divide by 32).
    """

    def __init__(self, block: type[BasicBlock], layers: Sequence[int],
                 num_classes: int = 1000, zero_init_residual: bool = False) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must list the blocks of 4 stages, got {layers}")
        self.inplanes = 64
        self.conv1 = Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = BatchNorm2d(64)
        self.relu = ReLU(inplace=True)
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(512 * block.expansion, num_classes)
        init_resnet_(self, zero_init_residual)

    def _make_layer(self, block: type[BasicBlock], planes: int, blocks: int,
                    stride: int = 1) -> Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = Sequential(
                Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                BatchNorm2d(planes * block.expansion))
        mods = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        mods += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-18: [2, 2, 2, 2] basic blocks, 11.7M parameters at 1000 classes.

    Args:
        weights: must be None: pretrained weights cannot be downloaded (load a torchvision
            state_dict saved as safetensors with ``load_state_dict(chainrule.load(path))``).
        progress: accepted for torchvision compatibility.
        **kwargs: passed to :class:`ResNet` (``num_classes``, ``zero_init_residual``).
    """
    check_no_weights("resnet18", weights)
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet34(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-34: [3, 4, 6, 3] basic blocks, 21.8M parameters at 1000 classes; see
    :func:`resnet18` for the arguments."""
    check_no_weights("resnet34", weights)
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)

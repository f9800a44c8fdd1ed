"""ResNets (He et al., 2016): the CIFAR-style ``CifarResNet`` (``resnet_small``) and ResNet-18 and
ResNet-34 with torchvision's modules and state_dict names
(``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``, ..., ``fc``), so a
torchvision state_dict saved as safetensors loads into them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.nn.modules.activation import ReLU
from chainrule.nn.modules.batchnorm import BatchNorm2d
from chainrule.nn.modules.container import Sequential
from chainrule.nn.modules.conv import Conv2d
from chainrule.nn.modules.linear import Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.pooling import AdaptiveAvgPool2d, MaxPool2d
from chainrule.tensor import Tensor
from chainrule.vision.models._weights import check_no_weights


def _conv3x3(cin: int, cout: int, stride: int = 1) -> Module:
    from chainrule.nn.modules.conv import Conv2d

    return Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def init_resnet_(model: Module, zero_init_residual: bool = False) -> None:
    """torchvision's ResNet init: convolutions Kaiming-normal (fan_out, ReLU gain), BN γ = 1 and
    β = 0, and with ``zero_init_residual`` each block's last BN at γ = 0 (the block starts as
    the identity)."""
    from chainrule.nn import init
    from chainrule.nn.modules.batchnorm import BatchNorm2d
    from chainrule.nn.modules.conv import Conv2d

    with no_grad():
        for m in model.modules():
            if isinstance(m, Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:  # after the BN init above, which a block's modules come after
            for m in model.modules():
                if isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)


class BasicBlock(Module):
    """out = ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x)).

    The shortcut is the identity, or ``downsample`` (1×1 conv + BN) when the stride or the
    channel count changes.

    Shape:
        (N, inplanes, H, W) → (N, planes, ⌈H/stride⌉, ⌈W/stride⌉).
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Module | None = None) -> None:
        super().__init__()
        from chainrule.nn.modules.activation import ReLU
        from chainrule.nn.modules.batchnorm import BatchNorm2d

        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU()
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class CifarResNet(Module):
    """A ResNet of ``BasicBlock`` stages: conv3×3 stem (no max-pool, as for 32×32 inputs),
    one stage per entry of ``layers`` (the first at stride 1, the rest halving the resolution
    and doubling the width), global average pooling and a linear classifier.

    Args:
        layers: blocks per stage, e.g. (3, 3, 3) for ResNet-20.
        num_classes: outputs of ``fc``.
        in_channels: image channels.
        widths: channels per stage (default 16, 32, 64, ...).
        zero_init_residual: start each block's last BN at γ = 0 (the block is the identity).

    Init: convolutions Kaiming-normal (fan_out, ReLU gain); BN γ = 1, β = 0 (torchvision).

    Shape:
        (N, in_channels, H, W) → (N, num_classes).
    """

    def __init__(self, layers: Sequence[int] = (3, 3, 3), num_classes: int = 10,
                 in_channels: int = 3, widths: Sequence[int] | None = None,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        from chainrule.nn.modules.activation import ReLU
        from chainrule.nn.modules.batchnorm import BatchNorm2d
        from chainrule.nn.modules.linear import Linear
        from chainrule.nn.modules.pooling import AdaptiveAvgPool2d

        widths = list(widths) if widths is not None else [16 * 2 ** i for i in
                                                          range(len(layers))]
        if len(widths) != len(layers):
            raise ValueError(f"widths {widths} and layers {list(layers)} differ in length")
        self.inplanes = widths[0]
        self.conv1 = _conv3x3(in_channels, widths[0])
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU()
        for i, (n, w) in enumerate(zip(layers, widths)):
            setattr(self, f"layer{i + 1}", self._make_layer(w, n, 1 if i == 0 else 2))
        self.n_stages = len(layers)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc = Linear(widths[-1], num_classes)
        init_resnet_(self, zero_init_residual)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> Module:
        from chainrule.nn.modules.batchnorm import BatchNorm2d
        from chainrule.nn.modules.container import Sequential
        from chainrule.nn.modules.conv import Conv2d

        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = Sequential(Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                                    BatchNorm2d(planes))
        mods = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        mods += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(self.n_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def resnet_small(depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 **kwargs: object) -> CifarResNet:
    """The CIFAR ResNet of depth 6n + 2 (20, 32, 44, 56, ...): three stages of n blocks."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n >= 1, got {depth}")
    n = (depth - 2) // 6
    return CifarResNet((n, n, n), num_classes, in_channels, **kwargs)  # type: ignore[arg-type]


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

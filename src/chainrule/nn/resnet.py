"""Residual networks (He et al., 2016): the ``BasicBlock`` and a small CIFAR-style ResNet.

Module names follow torchvision (``conv1``, ``bn1``, ``layer1.0.conv2``,
``layer2.0.downsample.0``, ``fc``), so state_dicts line up with PyTorch twins.
"""

from __future__ import annotations

from collections.abc import Sequence

from chainrule.autograd.grad_mode import no_grad
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


def _conv3x3(cin: int, cout: int, stride: int = 1) -> Module:
    from chainrule.nn.conv import Conv2d

    return Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def init_resnet_(model: Module, zero_init_residual: bool = False) -> None:
    """torchvision's ResNet init: convolutions Kaiming-normal (fan_out, ReLU gain), BN γ = 1 and
    β = 0, and with ``zero_init_residual`` each block's last BN at γ = 0 (the block starts as
    the identity)."""
    from chainrule.nn import init
    from chainrule.nn.conv import Conv2d
    from chainrule.nn.normalization import BatchNorm2d

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
        from chainrule.nn.activation import ReLU
        from chainrule.nn.normalization import BatchNorm2d

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


class ResNet(Module):
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
        from chainrule.nn.activation import ReLU
        from chainrule.nn.linear import Linear
        from chainrule.nn.normalization import BatchNorm2d
        from chainrule.nn.pooling import AdaptiveAvgPool2d

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
        from chainrule.nn.containers import Sequential
        from chainrule.nn.conv import Conv2d
        from chainrule.nn.normalization import BatchNorm2d

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
                 **kwargs: object) -> ResNet:
    """The CIFAR ResNet of depth 6n + 2 (20, 32, 44, 56, ...): three stages of n blocks."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n >= 1, got {depth}")
    n = (depth - 2) // 6
    return ResNet((n, n, n), num_classes, in_channels, **kwargs)  # type: ignore[arg-type]

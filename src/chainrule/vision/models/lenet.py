"""LeNet-5 (LeCun et al., 1998) with ReLU and max-pooling, for 28×28 images such as MNIST."""

from __future__ import annotations

from chainrule.nn.modules.activation import ReLU
from chainrule.nn.modules.conv import Conv2d
from chainrule.nn.modules.linear import Linear
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.pooling import MaxPool2d
from chainrule.tensor import Tensor


class LeNet(Module):
    """conv 5×5 → 6 (padded to keep 28×28) → pool → conv 5×5 → 16 → pool → 120 → 84 →
    num_classes, with ReLU between the layers.

    Args:
        num_classes: outputs of ``fc3``.
        in_channels: image channels.

    Shape:
        (N, in_channels, 28, 28) → (N, num_classes).

    Example:
        >>> import chainrule as cr
        >>> LeNet()(cr.zeros(2, 1, 28, 28)).shape
        chainrule.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = Conv2d(in_channels, 6, kernel_size=5, padding=2)
        self.conv2 = Conv2d(6, 16, kernel_size=5)
        self.pool = MaxPool2d(2)
        self.relu = ReLU()
        self.fc1 = Linear(16 * 5 * 5, 120)
        self.fc2 = Linear(120, 84)
        self.fc3 = Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.relu(self.fc1(x.flatten(1)))
        return self.fc3(self.relu(self.fc2(x)))

"""chainrule.vision against PyTorch: torchvision-format ResNet-18 weights (a state_dict saved by
PyTorch as safetensors) load and give PyTorch's outputs; ResNet-34 / VGG-11 state_dict names
and shapes are torchvision's; LeNet matches its PyTorch twin; tensor resizes match
``F.interpolate``.

torchvision itself cannot be installed beside this torch build, so the reference networks are
written here with ``torch.nn`` layers in torchvision's exact architecture and module names.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import models
from chainrule.vision.transforms import InterpolationMode
from chainrule.vision.transforms import functional as VF

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")
nn = torch.nn


class TorchBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TorchResNet(nn.Module):
    """torchvision.models.ResNet with BasicBlock, written out."""

    def __init__(self, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], 2)
        self.layer3 = self._make_layer(256, layers[2], 2)
        self.layer4 = self._make_layer(512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes))
        mods = [TorchBasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        mods += [TorchBasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torch_vgg11(batch_norm=False, num_classes=1000):
    """torchvision.models.vgg11(_bn), written out."""
    layers, c = [], 3
    for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(c, v, 3, padding=1))
        layers += [nn.BatchNorm2d(v), nn.ReLU(True)] if batch_norm else [nn.ReLU(True)]
        c = v
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    model.avgpool = nn.AdaptiveAvgPool2d((7, 7))
    model.classifier = nn.Sequential(nn.Linear(25088, 4096), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(4096, num_classes))
    return model


def shapes(state):
    return {k: tuple(v.shape) for k, v in state.items()}


def randomise_batch_norm(model, gen):
    """Non-trivial BN statistics and affine parameters, so eval mode exercises them."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(7)


def test_resnet18_loads_torchvision_format_safetensors_and_matches_pytorch(tmp_path):
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    ref = TorchResNet([2, 2, 2, 2])
    randomise_batch_norm(ref, gen)
    path = tmp_path / "resnet18.safetensors"
    safetensors_torch.save_file(ref.state_dict(), str(path))

    model = models.resnet18()
    assert shapes(model.state_dict()) == shapes(ref.state_dict())
    model.load_state_dict(cr.load(path))
    x = np.random.default_rng(0).standard_normal((2, 3, 96, 96)).astype(np.float32)
    ref.eval()
    model.eval()
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    with cr.no_grad():
        got = model(cr.tensor(x)).numpy()
    assert got.shape == (2, 1000)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)

    ref.train()
    model.train()  # batch statistics and running-stat updates too
    got = model(cr.tensor(x)).detach().numpy()
    want = ref(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model.layer3[1].bn2.running_var.numpy(),
                               ref.layer3[1].bn2.running_var.numpy(), rtol=1e-5)
    assert int(model.bn1.num_batches_tracked.item()) == 8


def test_resnet34_state_dict_names_and_shapes_are_torchvisions():
    with torch.device("meta"):
        ref = TorchResNet([3, 4, 6, 3], num_classes=10)
    assert shapes(models.resnet34(num_classes=10).state_dict()) == shapes(ref.state_dict())


@pytest.mark.parametrize("builder,batch_norm", [(models.vgg11, False), (models.vgg11_bn, True)])
def test_vgg11_state_dict_names_and_shapes_are_torchvisions(builder, batch_norm):
    with torch.device("meta"):
        ref = torch_vgg11(batch_norm)
    mine = builder(init_weights=False)
    assert shapes(mine.state_dict()) == shapes(ref.state_dict())
    assert list(mine.state_dict()) == list(ref.state_dict())


def test_lenet_matches_its_pytorch_twin():
    ref = nn.Module()
    ref.conv1, ref.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
    ref.fc1, ref.fc2, ref.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)
    model = models.LeNet()
    model.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(1).random((3, 1, 28, 28)).astype(np.float32)
    t = torch.from_numpy(x)
    t = torch.max_pool2d(torch.relu(ref.conv1(t)), 2)
    t = torch.max_pool2d(torch.relu(ref.conv2(t)), 2)
    want = ref.fc3(torch.relu(ref.fc2(torch.relu(ref.fc1(t.flatten(1)))))).detach().numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), want, atol=1e-5)


@pytest.mark.parametrize("size", [(16, 20), (13, 53), (50, 70)])
@pytest.mark.parametrize("antialias", [True, False])
def test_tensor_resize_matches_interpolate(size, antialias):
    x = np.random.default_rng(2).random((2, 3, 37, 53)).astype(np.float32)
    got = VF.resize(cr.tensor(x), size, antialias=antialias).numpy()
    want = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="bilinear",
                                           align_corners=False, antialias=antialias).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)  # weights rounded differently
    near = VF.resize(cr.tensor(x), size, InterpolationMode.NEAREST).numpy()
    want = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="nearest")
    np.testing.assert_array_equal(near, want.numpy())

"""vision.models: torchvision's parameter counts, state_dict names and init; weights=None only."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import models
from chainrule.vision.models.vgg import CFG_A, make_layers


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_resnet_parameter_counts_match_torchvision():
    assert n_params(models.resnet18()) == 11_689_512  # torchvision's published figures
    assert n_params(models.resnet34()) == 21_797_672


def test_resnet18_names_shapes_and_forward():
    m = models.resnet18(num_classes=10)
    sd = m.state_dict()
    assert list(sd)[:6] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                            "bn1.running_var", "bn1.num_batches_tracked"]
    assert sd["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1)
    assert sd["layer4.1.conv2.weight"].shape == (512, 512, 3, 3)
    assert sd["fc.weight"].shape == (10, 512) and "layer1.0.downsample.0.weight" not in sd
    assert m(cr.randn(2, 3, 32, 32)).shape == (2, 10)


def test_resnet_init_follows_torchvision():
    cr.manual_seed(0)
    m = models.resnet18(zero_init_residual=True)
    w = m.layer3[0].conv1.weight.detach().numpy()  # (256, 128, 3, 3)
    expected = np.sqrt(2 / (256 * 9))  # Kaiming normal over fan_out = 256·3·3
    assert abs(w.std() - expected) < 0.05 * expected
    assert (m.layer2[1].bn2.weight.detach().numpy() == 0).all()
    assert (m.layer2[1].bn1.weight.detach().numpy() == 1).all()


def test_vgg11_features_and_classifier_names():
    features = make_layers(CFG_A, batch_norm=True)
    names = [k for k in features.state_dict() if k.endswith(".weight")]
    assert names[:3] == ["0.weight", "1.weight", "4.weight"]  # conv, BN, (ReLU, pool), conv
    assert sum(1 for v in CFG_A if v != "M") == 8
    assert features(cr.zeros(1, 3, 32, 32)).shape == (1, 512, 1, 1)


def test_weights_are_refused_with_the_way_to_load_torchvision_files():
    for builder in (models.resnet18, models.resnet34, models.vgg11, models.vgg11_bn):
        with pytest.raises(ValueError, match="cannot download pretrained weights.*safetensors"):
            builder(weights="IMAGENET1K_V1")


def test_lenet_shapes_and_a_training_step_lowers_the_loss():
    cr.manual_seed(0)
    net = models.LeNet()
    assert n_params(net) == 61_706  # 156 + 2416 + 48120 + 10164 + 850
    x, y = cr.randn(8, 1, 28, 28), cr.randint(0, 10, (8,))
    opt = cr.optim.SGD(net.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = cr.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]

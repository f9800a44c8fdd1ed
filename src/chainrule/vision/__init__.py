"""``chainrule.vision``: torchvision's datasets, transforms, models and image utilities.

Laid out as torchvision is, so ``import chainrule.vision as torchvision`` runs torchvision
programs: ``datasets.MNIST/FashionMNIST/CIFAR10``, ``transforms.Compose/ToTensor/Normalize/...``,
``models.resnet18/resnet34/vgg11/LeNet`` with torchvision's state_dict names, and
``utils.make_grid/save_image``. PIL images need Pillow (``pip install 'chainrule[vision]'``);
importing this package does not import it.
"""

from chainrule.vision import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]

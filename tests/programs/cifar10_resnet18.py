"""Train torchvision's ResNet-18 on CIFAR-10: a PyTorch program run on chainrule.

Everything below the imports is plain PyTorch + torchvision; only the import block differs
(each line names the PyTorch import it replaces). ``tests/programs/test_cifar10_program.py``
runs it for a few steps on generated CIFAR-10 files and checks that swapping the imports back
gives PyTorch's program.

Usage: ``python cifar10_resnet18.py ROOT [--steps N] [--batch-size B]``, with ROOT holding
``cifar-10-batches-py`` (or ``--download`` to fetch it).
"""

import argparse

import chainrule as torch  # import torch
import chainrule.nn as nn  # import torch.nn as nn
import chainrule.optim as optim  # import torch.optim as optim
import chainrule.vision as torchvision  # import torchvision
import chainrule.vision.transforms as transforms  # import torchvision.transforms as transforms


def main():
    parser = argparse.ArgumentParser(description="CIFAR-10 ResNet-18")
    parser.add_argument("root")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)

    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    transform_train = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])
    transform_test = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    trainset = torchvision.datasets.CIFAR10(root=args.root, train=True, download=args.download,
                                            transform=transform_train)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=args.batch_size,
                                              shuffle=True, num_workers=2)
    testset = torchvision.datasets.CIFAR10(root=args.root, train=False, download=args.download,
                                           transform=transform_test)
    testloader = torch.utils.data.DataLoader(testset, batch_size=args.batch_size,
                                             shuffle=False, num_workers=2)
    print(f"{len(trainset)} training images, classes: {', '.join(trainset.classes)}")

    model = torchvision.models.resnet18(num_classes=10)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    step = 0
    for epoch in range(args.epochs):
        model.train()
        for inputs, targets in trainloader:
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            _, predicted = outputs.max(1)
            accuracy = predicted.eq(targets).sum().item() / targets.size(0)
            print(f"epoch {epoch} step {step} loss {loss.item():.4f} acc {accuracy:.3f}")
            step += 1
            if args.steps is not None and step >= args.steps:
                break
        scheduler.step()

    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, targets in testloader:
            _, predicted = model(inputs).max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
    print(f"test accuracy {100.0 * correct / total:.2f}% ({correct}/{total})")
    if args.checkpoint:
        torch.save(model.state_dict(), args.checkpoint)


if __name__ == "__main__":
    main()

"""PyTorch's ``torch.nn.parallel`` package: data-parallel wrappers of a module."""

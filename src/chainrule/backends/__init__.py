"""PyTorch's ``torch.backends``: the switches of the GPU and Apple back ends, accepted and
reported as a CPU-only PyTorch build reports them (``cudnn.is_available()`` is False,
``cudnn.benchmark = True`` is kept but changes nothing), so training scripts that set them run
unchanged; ``mkl.is_available()`` says whether the CPU's products run through MKL."""

from chainrule.backends import cuda, cudnn, mkl, mps

__all__ = ["cuda", "cudnn", "mkl", "mps"]

"""``chainrule.onnx``, as ``torch.onnx``: ``export`` a traced model to an ONNX file (the optional
``onnx`` package is imported when ``export`` runs)."""

from chainrule.onnx.export import export

__all__ = ["export"]

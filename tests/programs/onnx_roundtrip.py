"""Export two small models to ONNX and run them in ONNX Runtime, in PyTorch's idiom: a CNN
classifier with a dynamic batch and an LSTM sequence tagger. Only the imports differ from the
PyTorch program.

    python tests/programs/onnx_roundtrip.py
"""

import argparse
import os
import tempfile

import numpy as np
import onnxruntime as ort

import chainrule as torch
from chainrule import nn


class ConvNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d((1, 1)))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.25),
                                        nn.Linear(16, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class Tagger(nn.Module):
    def __init__(self, vocab=50, dim=16, hidden=24, tags=5):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, tags)

    def forward(self, tokens):
        h, _ = self.lstm(self.embed(tokens))
        return torch.log_softmax(self.out(h), dim=-1)


def roundtrip(model, example, batch, path):
    """Export ``model`` with a dynamic batch; the largest difference from ONNX Runtime's
    output on ``batch``."""
    model.eval()
    torch.onnx.export(model, (example,), path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      opset_version=17, dynamo=False)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(batch).numpy()
    (got,) = session.run(None, {"input": batch.numpy()})
    assert got.shape == expected.shape, (got.shape, expected.shape)
    return float(np.abs(got - expected).max())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=None, help="directory for the .onnx files")
    args = p.parse_args(argv)
    out = args.out or tempfile.mkdtemp()
    torch.manual_seed(0)
    cnn = ConvNet()
    cnn.train()
    opt = torch.optim.SGD(cnn.parameters(), lr=0.1)
    for _ in range(3):  # a few steps, so batch norm has running statistics to export
        x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
        opt.zero_grad()
        nn.functional.cross_entropy(cnn(x), y).backward()
        opt.step()
    errors = {
        "convnet": roundtrip(cnn, torch.randn(1, 1, 28, 28), torch.randn(6, 1, 28, 28),
                             os.path.join(out, "convnet.onnx")),
        "tagger": roundtrip(Tagger(), torch.randint(0, 50, (3, 7)),
                            torch.randint(0, 50, (5, 7)), os.path.join(out, "tagger.onnx")),
    }
    for name, err in errors.items():
        print(f"{name}: max |onnxruntime - eager| = {err:.2e}")
    return errors


if __name__ == "__main__":
    main()

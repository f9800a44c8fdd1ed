"""Two small PyTorch programs of the kind tutorials teach, run twice with only the framework
module swapped: PyTorch's text-classification model (``EmbeddingBag`` over offsets built with
``cumsum``) and an LSTM classifier over variable-length sequences (``pad_sequence``,
``pack_padded_sequence(enforce_sorted=False)``, the last layer's ``h_n``). From the same
initial weights both frameworks give the same losses step for step (float64)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

STEPS = 6


def _text_classifier(fw: Any, batches: list, state: dict | None) -> tuple[list[float], dict]:
    nn = fw.nn

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size: int, embed_dim: int, num_class: int) -> None:
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)

        def forward(self, text: Any, offsets: Any) -> Any:
            return self.fc(self.embedding(text, offsets))

    model = TextClassificationModel(20, 8, 3).double()
    if state is not None:
        model.load_state_dict({k: fw.tensor(v) for k, v in state.items()})
    criterion = nn.CrossEntropyLoss()
    optimizer = fw.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for labels, texts in batches:
        offsets = fw.tensor([0] + [len(t) for t in texts[:-1]]).cumsum(dim=0)
        text = fw.tensor(np.concatenate(texts))
        optimizer.zero_grad()
        loss = criterion(model(text, offsets), fw.tensor(labels))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: np.array(v.detach().numpy() if hasattr(v, "detach") else v.array)
                    for k, v in model.state_dict().items()}


def _lstm_classifier(fw: Any, batches: list, state: dict | None) -> tuple[list[float], dict]:
    nn = fw.nn
    rnn_utils = fw.nn.utils.rnn

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True)
            self.head = nn.Linear(12, 2)

        def forward(self, seqs: list) -> Any:
            lengths = [len(s) for s in seqs]
            padded = rnn_utils.pad_sequence(seqs, batch_first=True)
            packed = rnn_utils.pack_padded_sequence(padded, lengths, batch_first=True,
                                                    enforce_sorted=False)
            _, (h_n, _) = self.lstm(packed)
            return self.head(fw.cat([h_n[-2], h_n[-1]], dim=1))

    model = Classifier().double()
    if state is not None:
        model.load_state_dict({k: fw.tensor(v) for k, v in state.items()})
    optimizer = fw.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for labels, seqs in batches:
        optimizer.zero_grad()
        logits = model([fw.tensor(s) for s in seqs])
        loss = nn.functional.cross_entropy(logits, fw.tensor(labels))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: np.array(v.detach().numpy() if hasattr(v, "detach") else v.array)
                    for k, v in model.state_dict().items()}


def _batches(kind: str) -> list:
    """One small batch, fed ``STEPS`` times (so the loss on it must fall)."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 7, 5)
    labels = rng.integers(0, 3 if kind == "text" else 2, 5)
    if kind == "text":
        batch = (labels, [rng.integers(0, 20, n) for n in lengths])
    else:
        batch = (labels, [rng.standard_normal((n, 4)) for n in lengths])
    return [batch] * STEPS


@pytest.mark.parametrize("program, kind", [(_text_classifier, "text"),
                                           (_lstm_classifier, "seq")])
def test_same_losses_and_weights_as_pytorch(program: Any, kind: str) -> None:
    chainrule.manual_seed(0)
    init = program(chainrule, [], None)[1]  # chainrule's initial weights, for both runs
    ours, ours_final = program(chainrule, _batches(kind), init)
    theirs, theirs_final = program(torch, _batches(kind), init)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    assert ours[-1] < ours[0]
    for k in theirs_final:
        np.testing.assert_allclose(ours_final[k], theirs_final[k], rtol=1e-8, atol=1e-10,
                                   err_msg=k)

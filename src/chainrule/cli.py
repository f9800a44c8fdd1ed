"""The ``chainrule`` command.

    chainrule train mnist-cnn [--epochs N] [--batch-size B] [--optimizer O] [--data-dir D]
    chainrule playground [--host H] [--port P] [--open] | --export-site DIR
    chainrule run -n N [--hostfile H] script.py [args...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import __version__


def _load_mnist(data_dir: str | None, download: bool) -> tuple[Any, Any, bool]:
    """(train, test, is_subset): the full MNIST, else — loudly — the shipped subset; an explicit
    ``--data-dir`` without the data ends the command with an error naming it."""
    from chainrule.datasets import DatasetNotFoundError, load_mnist_or_subset

    try:
        (train, test), subset = load_mnist_or_subset(data_dir, download)
    except NotADirectoryError:
        raise SystemExit(f"chainrule train: --data-dir {data_dir}: no such directory") from None
    except DatasetNotFoundError as e:
        raise SystemExit(f"chainrule train: --data-dir {data_dir} holds no MNIST data:\n"
                         f"{e}") from None
    return train, test, subset


def worksheet_model() -> Any:
    """The lecture worksheet's CNN (596,042 parameters)."""
    from chainrule.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
    from chainrule.keras.models import Sequential

    return Sequential([
        Conv2D(16, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
        Conv2D(32, (3, 3), activation="relu"),
        MaxPool2D(pool_size=(2, 2)),
        Dropout(0.25),
        Flatten(),
        Dense(128, activation="relu"),
        Dropout(0.5),
        Dense(10, activation="softmax"),
    ])


def train_mnist_cnn(args: argparse.Namespace) -> int:
    import chainrule as cr
    from chainrule.keras.utils import to_categorical

    if args.epochs < 1 or args.batch_size < 1:
        raise SystemExit("chainrule train: --epochs and --batch-size must be >= 1")
    cr.manual_seed(args.seed)
    (x, y), (xt, yt), subset = _load_mnist(args.data_dir, not args.no_download)
    if args.limit:
        x, y, xt, yt = x[:args.limit], y[:args.limit], xt[:args.limit], yt[:args.limit]
    x = x.reshape(-1, 28, 28, 1).astype(np.float32) / 255
    xt = xt.reshape(-1, 28, 28, 1).astype(np.float32) / 255
    y, yt = to_categorical(y, 10), to_categorical(yt, 10)
    print(f"MNIST{' (shipped subset)' if subset else ''}: {len(x)} training images "
          f"(the last 1/6 held out for validation), {len(xt)} test images")

    model = worksheet_model()
    model.summary()
    model.compile(optimizer=args.optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, validation_split=1 / 6,
              verbose=args.verbose)
    seconds = time.perf_counter() - start
    loss, acc = model.evaluate(xt, yt, batch_size=256, verbose=0)
    print(f"training: {seconds:.1f}s ({seconds / args.epochs:.1f}s per epoch)")
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {acc:.4f}{'  (on the shipped SUBSET)' if subset else ''}")
    return 0


def playground(argv: Sequence[str]) -> int:
    from chainrule.playground.options import build_parser, export

    args = build_parser().parse_args(argv)  # --help and bad options answered without the extra
    if args.export_site:
        return export(args)
    try:
        from chainrule.playground.server import main
    except ImportError as e:
        print(f"chainrule playground is not available: {e}\n"
              f"Install its extras with: pip install 'chainrule[playground]'", file=sys.stderr)
        return 1
    return int(main(list(argv)) or 0)


def build_parser() -> argparse.ArgumentParser:
    from chainrule.keras.optimizers import OPTIMIZERS

    p = argparse.ArgumentParser(prog="chainrule", description="chainrule: train the worksheet "
                                "model or open the playground.")
    p.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    t = sub.add_parser("train", help="train a built-in model (mnist-cnn: the worksheet CNN)",
                       description="Train the worksheet CNN on MNIST and print test accuracy.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("model", choices=["mnist-cnn"], help="the model to train")
    t.add_argument("--epochs", type=int, default=15, help="passes over the training set")
    t.add_argument("--batch-size", type=int, default=32, help="examples per optimizer step")
    t.add_argument("--optimizer", default="adam", choices=list(OPTIMIZERS),
                   help="the optimizer, with Keras's defaults")
    t.add_argument("--data-dir", default=None, help="directory holding the MNIST .gz files; "
                   "when not given, $CHAINRULE_DATA, then ~/.cache/chainrule (downloaded there "
                   "if absent)")
    t.add_argument("--no-download", action="store_true", help="never download the data")
    t.add_argument("--limit", type=int, default=0,
                   help="use only the first N training and test images (smoke runs)")
    t.add_argument("--seed", type=int, default=0, help="seed of the weights and batch order")
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2],
                   help="0: silent, 1: a progress bar per epoch, 2: one line per epoch")
    sub.add_parser("playground", help="serve the interactive web playground "
                   "([--host H] [--port P] [--open]), or write it as a static site "
                   "(--export-site DIR)", add_help=False)
    sub.add_parser("run", help="run a script on N processes with mpirun "
                   "(-n N [--hostfile H] script.py [args...])", add_help=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "playground":
        return playground(argv[1:])
    if argv and argv[0] == "run":
        from chainrule.launch import main as run

        return run(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return train_mnist_cnn(args)
    parser.print_help()
    return 0 if not argv else 2


if __name__ == "__main__":
    sys.exit(main())

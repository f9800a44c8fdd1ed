"""The ``chainrule playground`` command line, importable without the ``playground`` extra (so
``--help`` works before the server's dependencies are installed)."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    """``chainrule playground [--host 127.0.0.1] [--port 8000] [--open] [--allow-origin URL]``."""
    p = argparse.ArgumentParser(prog="chainrule playground",
                                description="Train a small network live in the browser "
                                "(needs the extra: pip install 'chainrule[playground]').")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.add_argument("--allow-origin", action="append", default=[], metavar="URL",
                   help="also accept sessions from pages of this origin, e.g. "
                        "https://course.example.org (repeatable; default: only the server's "
                        "own pages)")
    return p

"""The ``chainrule playground`` command line, importable without the ``playground`` extra (so
``--help`` works before the server's dependencies are installed)."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    """``chainrule playground [--host 127.0.0.1] [--port 8000] [--open] [--allow-origin URL]``
    or ``chainrule playground --export-site DIR [--pyodide PATH] [--numpy-wheel PATH]``."""
    p = argparse.ArgumentParser(prog="chainrule playground",
                                description="Train a small network live in the browser "
                                "(needs the extra: pip install 'chainrule[playground]'), or "
                                "write a static site that trains in the browser itself.")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.add_argument("--allow-origin", action="append", default=[], metavar="URL",
                   help="also accept sessions from pages of this origin, e.g. "
                        "https://course.example.org (repeatable; default: only the server's "
                        "own pages)")
    site = p.add_argument_group("static site (no server: Pyodide runs chainrule in the page)")
    site.add_argument("--export-site", metavar="DIR", default=None,
                      help="write the static playground into DIR and exit, instead of serving "
                           "(default: serve)")
    site.add_argument("--pyodide", metavar="PATH", default=None,
                      help="Pyodide distribution folder or npm .tgz to take Pyodide from "
                           "(default: npm pack pyodide@314.0.8)")
    site.add_argument("--numpy-wheel", metavar="PATH", default=None,
                      help="NumPy wheel built for that Pyodide (default: the distribution's, "
                           "else pip download for Pyodide's platform)")
    return p


def export(args: argparse.Namespace) -> int:
    """Write the static site the options ask for; 1 with the reason when a part is missing."""
    import sys

    from chainrule.playground.site import SiteError, export_site

    try:
        out = export_site(args.export_site, args.pyodide, args.numpy_wheel)
    except SiteError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"wrote the static playground to {out}; host the folder on any static web server, "
          f"e.g. python -m http.server --directory {out}")
    return 0

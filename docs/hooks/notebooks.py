"""MkDocs hook: each tutorial page offers its notebook for download.

mkdocs-jupyter renders and executes the jupytext ``.py`` tutorials and (``include_source``)
copies each source beside its page; this hook also writes the ``.ipynb`` form there and puts
download links for both at the top of the page.
"""

from __future__ import annotations

import os

import jupytext

_KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _is_tutorial(page) -> bool:
    path = page.file.src_uri
    return path.startswith("tutorials/") and path.endswith(".py")


def on_page_content(html: str, page, config, files) -> str:
    if not _is_tutorial(page):
        return html
    source = page.file.abs_src_path
    stem = os.path.splitext(os.path.basename(source))[0]
    notebook = jupytext.read(source)
    notebook.metadata.setdefault("kernelspec", _KERNEL)
    target = os.path.join(os.path.dirname(page.file.abs_dest_path), f"{stem}.ipynb")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    jupytext.write(notebook, target, fmt="ipynb")
    links = (
        '<p class="tutorial-downloads">'
        f'<a class="md-button" href="{stem}.ipynb" download>Download notebook (.ipynb)</a> '
        f'<a class="md-button" href="{stem}.py" download>Download source (.py)</a></p>'
    )
    return links + html

"""MkDocs hook: tutorials run beside their data, and each page offers its notebook.

mkdocs-jupyter renders and executes the jupytext ``.py`` tutorials and (``include_source``)
copies each source beside its page. This hook runs each tutorial's kernel in the tutorial's own
folder, as Jupyter does (so ``data/...`` paths work), writes the ``.ipynb`` form beside the page
and puts download links for both at the top of it. The notebooks' maths is typeset by the
MathJax that ``jupyter-server-mathjax`` ships, copied into the site, so pages need no network.
"""

from __future__ import annotations

import os
import shutil
from importlib.resources import files

import jupytext

_KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _is_tutorial(page) -> bool:
    path = page.file.src_uri
    return path.startswith("tutorials/") and path.endswith(".py")


_cwd: list[str] = []


def on_config(config):
    # The notebook cache stays at the project root while a tutorial runs in its own folder.
    plugin = config.plugins["mkdocs-jupyter"].config
    plugin["cache_dir"] = os.path.join(os.path.dirname(config.config_file_path),
                                       plugin["cache_dir"])
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    # mkdocs-jupyter executes the notebook when the page renders, right after this event.
    if _is_tutorial(page):
        _cwd.append(os.getcwd())
        os.chdir(os.path.dirname(page.file.abs_src_path))
    return markdown


def on_page_content(html: str, page, config, files) -> str:
    if not _is_tutorial(page):
        return html
    os.chdir(_cwd.pop())
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


# The package ships only the STIX-Web fonts: MathJax's default (TeX) would 404 and fall back.
_FONTS = """MathJax.Hub.Config({"HTML-CSS": {availableFonts: ["STIX-Web"],
    preferredFont: "STIX-Web", webFont: "STIX-Web", imageFont: null}});
MathJax.Ajax.loadComplete("[MathJax]/config/local/stix.js");
"""


def on_post_build(config) -> None:
    mathjax = files("jupyter_server_mathjax") / "static"
    target = os.path.join(config["site_dir"], "assets", "mathjax")
    shutil.copytree(str(mathjax), target, dirs_exist_ok=True)
    os.makedirs(os.path.join(target, "config", "local"), exist_ok=True)
    with open(os.path.join(target, "config", "local", "stix.js"), "w") as f:
        f.write(_FONTS)

"""Griffe extension: a Google-style ``Example:`` section is read as ``Examples:``.

The project's docstrings (see STYLE.md) head their doctests ``Example:``, which griffe would
otherwise render as an admonition of plain Markdown, where ``>>>`` lines become block quotes.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)

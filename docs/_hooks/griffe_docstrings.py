"""Griffe extension: read the library's docstrings the way their authors meant.

- A Google-style ``Example:`` section is read as ``Examples:``. Griffe renders the
  singular as a note, so its ``>>>`` lines would be read as Markdown.
- Sphinx roles (``:class:`~scratchnn.losses.Loss```, ``:func:`gradcheck```, ...)
  become inline code (the last dotted component when written with ``~``), since
  Markdown would otherwise print the role's colons literally.
"""

from __future__ import annotations

import re

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`"
)


def _role(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class DocstringStyle(griffe.Extension):
    def on_object(self, *, obj, **kwargs) -> None:
        doc = obj.docstring
        if doc is None:
            return
        value = _SINGULAR.sub(r"\1Examples:", doc.value)
        doc.value = _ROLE.sub(_role, value)

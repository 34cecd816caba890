"""The API reference covers every public module of the package.

Each page under ``docs/api/`` renders modules with mkdocstrings directives
(``::: scratchnn.losses``). A directive for a module renders every public class
and function defined in it, so requiring a directive per public module means no
public name can be left out of the reference. When this test fails, add
``::: <module>`` to the fitting page under docs/api/ (and, for a new page, to
``nav`` in mkdocs.yml).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import scratchnn

REPO = Path(__file__).resolve().parents[2]
API_DIR = REPO / "docs" / "api"

#: Modules deliberately not rendered, with the reason.
NOT_RENDERED = {
    "scratchnn.__main__": "runs the CLI; documented by the `scratchnn` command's --help",
    "scratchnn._version": "holds __version__ only",
}


def _public_modules() -> list[str]:
    names = ["scratchnn"]
    for info in pkgutil.walk_packages(scratchnn.__path__, "scratchnn."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return sorted(n for n in names if n not in NOT_RENDERED)


def _defines_public_names(module_name: str) -> bool:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return True  # optional dependency missing here: still must be documented
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if (
            inspect.isclass(obj) or inspect.isfunction(obj)
        ) and obj.__module__ == module_name:
            return True
    return False


def _rendered() -> set[str]:
    targets = set()
    for page in API_DIR.glob("*.md"):
        targets.update(
            re.findall(
                r"^:::\s*([\w.]+)", page.read_text(encoding="utf-8"), re.MULTILINE
            )
        )
    return targets


def test_api_pages_exist():
    assert (API_DIR / "index.md").is_file()
    assert _rendered(), "no mkdocstrings directives found under docs/api/"


@pytest.mark.parametrize(
    "module_name", [m for m in _public_modules() if _defines_public_names(m)]
)
def test_public_module_is_in_api_reference(module_name):
    rendered = _rendered()
    assert module_name in rendered, (
        f"{module_name} defines public classes or functions but no page under docs/api/ renders it. "
        f"Add '::: {module_name}' to the fitting page (see docs/api/index.md)."
    )


def test_every_rendered_module_exists():
    # A directive naming a module or object that does not exist fails the docs build;
    # this says which one without building the site.
    for target in sorted(_rendered()):
        try:
            importlib.import_module(target)
        except ModuleNotFoundError:
            module, _, attr = target.rpartition(".")
            assert module and hasattr(importlib.import_module(module), attr), (
                f"docs/api renders {target}, which does not exist"
            )

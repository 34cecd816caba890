"""Run the examples in the library's docstrings as doctests.

Every module of the package is imported and its ``>>>`` examples are run, so an
example in the API reference cannot drift from what the code does. Modules that
need an optional package (onnx) are skipped where it is absent.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import scratchnn

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _module_names() -> list[str]:
    names = ["scratchnn"]
    for info in pkgutil.walk_packages(scratchnn.__path__, "scratchnn."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


def _doctests(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    # DocTestFinder only looks at objects defined in the module itself, so
    # re-exports are not run twice.
    return [t for t in finder.find(module, module_name) if t.examples]


def _modules_with_examples() -> list[str]:
    found = []
    for name in _module_names():
        try:
            if _doctests(name):
                found.append(name)
        except ImportError:  # an optional dependency (e.g. onnx) is missing
            found.append(name)
    return found


MODULES = _modules_with_examples()


def test_docstring_examples_are_collected():
    # Guards the collection itself: the core modules have examples, so an empty
    # list would mean this file stopped finding them, not that there are none.
    for required in (
        "scratchnn.layers.dense",
        "scratchnn.model",
        "scratchnn.article",
        "scratchnn.gradcheck",
    ):
        assert required in MODULES


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    try:
        tests = _doctests(module_name)
    except ImportError as exc:
        pytest.skip(f"{module_name} needs an optional package: {exc}")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    failures = []
    for test in tests:
        # As doctest.testmod: the examples see the module's own globals (a copy).
        out: list[str] = []
        result = runner.run(test, out=out.append, clear_globs=True)
        if result.failed:
            failures.append("".join(out))
    assert not failures, "\n".join(failures)

"""No import cycle between the model, the model-file code and the ONNX export (issue 12):
model -> savefile, io -> model + savefile, onnx -> neither."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _imports(module: str) -> set[str]:
    path = SRC / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = SRC / module.replace(".", "/") / "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = module.split(".") if path.name != "__init__.py" else module.split(".") + ["__init__"]
            base = ".".join(parts[:len(parts) - node.level])
            found.add(f"{base}.{node.module}" if node.module else base)
    return found


def _reaches(start: str, goal: str, within: set[str]) -> bool:
    seen, stack = set(), [start]
    while stack:
        m = stack.pop()
        for d in _imports(m):
            if d == goal:
                return True
            if d in within and d not in seen:
                seen.add(d)
                stack.append(d)
    return False


def test_no_cycle_between_model_io_and_onnx_export():
    core = {"scratchnn.model", "scratchnn.io", "scratchnn.savefile", "scratchnn.onnx.export", "scratchnn.onnx"}
    assert not _reaches("scratchnn.savefile", "scratchnn.model", core)
    assert not _reaches("scratchnn.model", "scratchnn.io", core)
    assert not _reaches("scratchnn.onnx.export", "scratchnn.io", core)
    assert not _reaches("scratchnn.onnx.export", "scratchnn.model", core)
    assert _reaches("scratchnn.io", "scratchnn.model", core)          # the one direction that exists

"""``import scratchnn`` stays light: sn.onnx is there, the onnx package is imported only on export."""
from __future__ import annotations

import subprocess
import sys


def test_import_scratchnn_does_not_import_onnx():
    code = ("import sys, scratchnn as sn; assert callable(sn.onnx.export); "
            "assert callable(sn.Sequential.export_onnx); "
            "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

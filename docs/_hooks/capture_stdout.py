"""MkDocs hook: show on the page what library code prints, as a terminal would.

(It also limits BLAS to one thread for the build; see ``on_config``.)

markdown-exec captures only the ``print`` calls written in a code block (it
swaps ``print`` in the block's globals). Output that the library itself prints
-- ``NeuralNetwork.train``'s progress lines, ``model.summary()``, ``fit(verbose=2)``
-- goes to ``sys.stdout`` and would be lost. This hook wraps markdown-exec's
executor so that, while a block runs, ``sys.stdout`` writes into the same
buffer as the block's own ``print``.

It patches one private name of markdown-exec (pinned in pyproject's ``docs``
extra) and fails loudly if that name moves, rather than silently dropping output.
"""

from __future__ import annotations

import contextlib
import os

import threadpoolctl
from markdown_exec._internal.formatters import python as _python


class _BlockStdout:
    def __init__(self, block_print):
        self._print = block_print

    def write(self, text: str) -> int:
        self._print(text, end="")
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


_original = getattr(_python, "exec_python", None)
if _original is None:  # pragma: no cover - only if markdown-exec changes
    raise RuntimeError(
        "markdown-exec has no formatters.python.exec_python: update docs/_hooks/capture_stdout.py"
    )


def _exec_python_capturing(code, filename, exec_globals):
    with contextlib.redirect_stdout(_BlockStdout(exec_globals["print"])):
        return _original(code, filename, exec_globals)


_limits = None


def on_config(config, **kwargs):
    global _limits
    _python.exec_python = _exec_python_capturing
    # The pages train small networks on small batches, where one BLAS thread is
    # faster than two (and the build runs on a 2-core CI machine).
    # Commands the pages run (scratchnn train ...) inherit the same setting.
    _limits = threadpoolctl.threadpool_limits(1)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    return config

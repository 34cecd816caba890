"""One example instance and input shape for every registered layer.

``tests/unit/test_gradcheck_registry.py`` fails when a class in
``scratchnn.registry.LAYERS`` has no entry here, so no new layer can skip the
gradient check, the config round trip or the save/load test. Add one line per
new layer: ``"ClassName": [(factory, per-sample input shape, kwargs for the
check), ...]`` (several cases allowed). ``kwargs`` may hold ``training=True``,
``input="positive"``/``"int"``/``"labels:V"`` (integer inputs in [0, V)).
"""
from __future__ import annotations

import scratchnn as sn

L = sn.layers

LAYER_CASES: dict[str, list[tuple]] = {
    "Dense": [(lambda: L.Dense(5, 3), (5,), {}), (lambda: L.Dense(4, 2, use_bias=False), (3, 4), {})],
    "Identity": [(lambda: L.Identity(), (4,), {})],
    "Sigmoid": [(lambda: L.Sigmoid(), (4,), {})],
    "Tanh": [(lambda: L.Tanh(), (4,), {})],
    "ReLU": [(lambda: L.ReLU(), (4,), {})],
    "LeakyReLU": [(lambda: L.LeakyReLU(0.1), (4,), {})],
    "ELU": [(lambda: L.ELU(0.7), (4,), {})],
    "GELU": [(lambda: L.GELU(), (4,), {}), (lambda: L.GELU("none"), (4,), {})],
    "Softplus": [(lambda: L.Softplus(), (4,), {})],
    "Softmax": [(lambda: L.Softmax(), (5,), {})],
    "Dropout": [(lambda: L.Dropout(0.3), (6,), {"training": True})],
}

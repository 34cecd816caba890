"""Every case of every registered layer against its PyTorch twin (tests/torch_twins.py).

Each entry of ``tests/layer_cases.py`` is built in float64, run forward and backward with a
random upstream gradient, and compared with torch autograd on the twin: the output, the
input gradient(s) and every parameter gradient, within 1e-8. No layer is exempt: a registered
layer needs a twin or a stated reason in ``NO_TWIN``.
"""
from __future__ import annotations

import numpy as np
import pytest

from scratchnn.registry import LAYERS
from tests.layer_cases import LAYER_CASES  # noqa: E402
from tests.reference.torch_helpers import compare, float64_torch, tt
from tests.torch_twins import NO_TWIN, TORCH_TWINS  # noqa: E402

torch = pytest.importorskip("torch")

CASES = [pytest.param(name, i, id=f"{name}-{i}") for name in sorted(LAYER_CASES)
         for i in range(len(LAYER_CASES[name])) if name in TORCH_TWINS]


def test_every_registered_layer_has_a_torch_twin_or_a_reason():
    missing = sorted(set(LAYERS) - set(TORCH_TWINS) - set(NO_TWIN))
    assert not missing, f"registered layers without a PyTorch twin in tests/torch_twins.py: {missing}"


def _inputs(shape, kwargs, rng, batch=3):
    shapes = shape if isinstance(shape, list) else [shape]
    kind = kwargs.get("input", "normal")
    out = []
    for s in shapes:
        full = (batch,) + tuple(s)
        if isinstance(kind, str) and kind.startswith("labels:"):
            out.append(rng.integers(0, int(kind.split(":", 1)[1]), full))
        elif kind == "positive":
            out.append(rng.uniform(0.5, 2.0, full))
        else:
            out.append(rng.standard_normal(full))
    return out


@pytest.mark.parametrize("name,i", CASES)
def test_layer_case_matches_its_torch_twin(name, i, rng):
    factory, shape, kwargs = LAYER_CASES[name][i]
    layer = factory()
    multi = isinstance(shape, list)
    layer.build(shape, np.random.default_rng(7), "float64")
    for buf in layer.all_buffers().values():  # running statistics away from their 0/1 start
        buf[...] = rng.uniform(0.5, 1.5, buf.shape)
    # Random-mask layers are compared in inference mode (their twin is the identity).
    training = kwargs.get("training", False) and name not in ("Dropout", "SpatialDropout")
    xs = _inputs(shape, kwargs, rng)
    y = layer.forward(xs if multi else xs[0], training=training)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    dxs = dx if multi else [dx]
    with float64_torch():
        forward, grads = TORCH_TWINS[name](layer)
        txs = [tt(x, requires_grad=x.dtype.kind == "f") for x in xs]
        yt = forward(*txs, training=training) if training else forward(*txs)
        (yt * tt(dy)).sum().backward()
        theirs = grads()
    compare(f"{name} forward", y, yt)
    for k, (ours_dx, tx) in enumerate(zip(dxs, txs)):
        if tx.requires_grad:
            compare(f"{name} dx[{k}]", ours_dx, tx.grad)
    ours = layer.all_grads()
    assert set(theirs) == set(ours), f"{name}: twin maps {sorted(theirs)}, layer has {sorted(ours)}"
    for key in ours:
        compare(f"{name} d{key}", ours[key], theirs[key])

"""Helpers shared by the reference tests that compare scratchnn with PyTorch.

Every comparison goes through :func:`compare`, which checks shape, then dtype,
then values (in that order, as tinygrad's helper does) and fails with a one-line
report: ``name: shape (3, 4) ok, dtype float64 ok, max abs diff 2.2e-16 (tol 1e-08)``.

Typical use in a layer test::

    torch = pytest.importorskip("torch")
    from tests.reference.torch_helpers import compare, run_layer, run_torch

    x = rng.standard_normal((4, 5)); dy = rng.standard_normal((4, 3))
    ours = run_layer(layer, x, dy)                      # forward, dx, grads (float64)
    theirs = run_torch(module, x, dy)                   # same, from torch
    compare("Dense forward", ours.y, theirs.y)
    compare("Dense dx", ours.dx, theirs.dx)
    compare("Dense dW", ours.grads["W"], theirs.grads["weight"].T)

Run torch code inside ``with float64_torch():`` (sets and restores torch's default
dtype) and build torch tensors with :func:`tt` (float64 copies).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

#: The default tolerance of the reference tests (float64, weights copied across).
ATOL = 1e-8


def to_numpy(a) -> np.ndarray:
    """A NumPy array from a NumPy array, a torch tensor (detached) or a number."""
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def describe(name: str, ours, theirs, atol: float = ATOL, check_dtype: bool = True) -> tuple[bool, str]:
    """``(ok, report)`` comparing ``ours`` with ``theirs``: shape, dtype, max abs diff."""
    a, b = to_numpy(ours), to_numpy(theirs)
    parts = []
    if a.shape != b.shape:
        return False, f"{name}: shape {a.shape} (ours) != {b.shape} (torch)"
    parts.append(f"shape {a.shape} ok")
    if check_dtype:
        if a.dtype != b.dtype:
            return False, f"{name}: " + ", ".join(parts) + f", dtype {a.dtype} (ours) != {b.dtype} (torch)"
        parts.append(f"dtype {a.dtype} ok")
    if a.size == 0:
        return True, f"{name}: " + ", ".join(parts) + ", empty"
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if not (np.isfinite(a64).all() and np.isfinite(b64).all()):
        same = np.array_equal(a64, b64, equal_nan=True)
        return same, f"{name}: " + ", ".join(parts) + (", non-finite values " + ("equal" if same else "DIFFER"))
    diff = float(np.max(np.abs(a64 - b64)))
    ok = diff < atol
    parts.append(f"max abs diff {diff:.3g} (tol {atol:g})")
    return ok, f"{name}: " + ", ".join(parts)


def compare(name: str, ours, theirs, atol: float = ATOL, check_dtype: bool = True) -> float:
    """Assert that ``ours`` matches ``theirs`` (shape, dtype, values within ``atol``).

    Returns the max abs difference, so a test can print or collect it.
    """
    ok, report = describe(name, ours, theirs, atol, check_dtype)
    if not ok:
        raise AssertionError(report)
    a, b = to_numpy(ours).astype(np.float64), to_numpy(theirs).astype(np.float64)
    return float(np.max(np.abs(a - b), initial=0.0))


@contextlib.contextmanager
def float64_torch():
    """Run the block with torch's default dtype set to float64, restoring it afterwards."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield torch
    finally:
        torch.set_default_dtype(old)


def tt(a, requires_grad: bool = False):
    """A float64 torch tensor copy of ``a`` (integer arrays stay int64)."""
    import torch

    arr = np.asarray(a)
    if arr.dtype.kind in "biu":
        return torch.tensor(arr.astype(np.int64))
    t = torch.tensor(arr.astype(np.float64))
    return t.requires_grad_(requires_grad)


@dataclass
class Result:
    """Forward output, input gradient and parameter gradients of one pass."""

    y: np.ndarray
    dx: np.ndarray | None
    grads: dict[str, np.ndarray] = field(default_factory=dict)


def run_layer(layer, x: np.ndarray, dy: np.ndarray | None = None, training: bool = False) -> Result:
    """Forward ``x`` through a built scratchnn layer, then backward ``dy`` (default: ones)."""
    y = layer.forward(np.asarray(x), training=training)
    dy = np.ones_like(y) if dy is None else np.asarray(dy, dtype=y.dtype)
    dx = layer.backward(dy)
    return Result(np.array(y, copy=True), np.array(dx, copy=True),
                  {k: np.array(g, copy=True) for k, g in layer.grads.items()})


def run_torch(module, x: np.ndarray, dy: np.ndarray | None = None, input_grad: bool = True) -> Result:
    """Forward ``x`` through a torch module (or callable) in float64, backward ``dy``.

    ``grads`` is keyed by the module's ``named_parameters`` names (``"weight"``, ``"bias"``).
    Integer inputs (token ids) get no gradient.
    """
    xt = tt(x)
    if input_grad and xt.is_floating_point():
        xt.requires_grad_(True)
    out = module(xt)
    dyt = tt(np.ones(tuple(out.shape)) if dy is None else dy)
    params = dict(module.named_parameters()) if hasattr(module, "named_parameters") else {}
    for p in params.values():
        p.grad = None
    out.backward(dyt)
    dx = to_numpy(xt.grad) if xt.grad is not None else None
    return Result(to_numpy(out), dx, {k: to_numpy(p.grad) for k, p in params.items() if p.grad is not None})


def copy_param(torch_param, value: np.ndarray) -> None:
    """Copy a NumPy array into a torch parameter in place (no autograd history)."""
    import torch

    with torch.no_grad():
        torch_param.copy_(torch.tensor(np.asarray(value, dtype=np.float64)))

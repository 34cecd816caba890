"""Gradient checking: compare backpropagated gradients with finite differences.

For a layer (or a whole model) f with a random upstream gradient u, the scalar
S(x, theta) = sum(f(x; theta) * u) has dS/dx = backward(u) and dS/dtheta = grads.
The numerical estimate is the central difference

    dS/dz_i ~ (S(z + eps e_i) - S(z - eps e_i)) / (2 eps),

computed in float64 for the input and every parameter. For a loss L(y_pred, y)
the checked quantity is dL/dy_pred. An element passes when
|analytic - numeric| <= atol + rtol * |numeric|.

Example:
    >>> import numpy as np, scratchnn as sn
    >>> report = sn.gradcheck(sn.layers.Tanh(), np.random.default_rng(0).normal(size=(3, 4)))
    >>> report.ok
    True
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .layers.base import Layer
from .losses import Loss


@dataclass
class GradcheckRow:
    """One checked tensor: its name, shape, largest absolute and relative differences."""

    name: str
    shape: tuple
    max_abs_diff: float
    max_rel_diff: float
    checked: int
    ok: bool


@dataclass
class GradcheckReport:
    """Per-tensor results; ``report.ok`` is True when every tensor passed (and at least one
    was checked: an empty report is not a pass). ``str(report)`` is a table."""

    target: str
    rows: list[GradcheckRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(r.ok for r in self.rows)

    def __str__(self) -> str:
        head = f"gradcheck {self.target}: {'OK' if self.ok else 'FAILED'}"
        lines = [head, f"{'tensor':<14}{'shape':<18}{'checked':>8}{'max abs diff':>14}{'max rel diff':>14}  ok"]
        for r in self.rows:
            lines.append(f"{r.name:<14}{r.shape!s:<18}{r.checked:>8}{r.max_abs_diff:>14.2e}"
                         f"{r.max_rel_diff:>14.2e}  {'yes' if r.ok else 'NO'}")
        return "\n".join(lines)

    __repr__ = __str__


def _compare(name, analytic, numeric, idx, atol, rtol) -> GradcheckRow:
    a = analytic.reshape(-1)[idx]
    n = numeric
    diff = np.abs(a - n)
    rel = diff / np.maximum(np.abs(a) + np.abs(n), 1e-12)
    ok = bool(np.all(diff <= atol + rtol * np.abs(n)))
    return GradcheckRow(name, tuple(analytic.shape), float(diff.max(initial=0.0)),
                        float(rel.max(initial=0.0)), len(idx), ok)


def _positions(size: int, max_checks: int, rng) -> np.ndarray:
    if size <= max_checks:
        return np.arange(size)
    return np.sort(rng.choice(size, max_checks, replace=False))


def numerical_gradient(f, z: np.ndarray, eps: float = 1e-6, positions=None) -> np.ndarray:
    """Central differences (f() at z + eps e_i minus f() at z - eps e_i) / (2 eps).

    ``f`` takes no argument and reads ``z``, which is changed in place element by element
    and restored. Returns an array shaped like ``z``, or, with ``positions`` (indices into
    the flattened ``z``), a 1-D array of those elements' estimates.

    Example:
        >>> import numpy as np
        >>> z = np.array([1.0, 2.0])
        >>> numerical_gradient(lambda: float(np.sum(z ** 2)), z).round(6).tolist()
        [2.0, 4.0]
    """
    flat = z.reshape(-1)
    idx = range(flat.size) if positions is None else positions
    out = np.empty(len(idx))
    for j, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        out[j] = (plus - minus) / (2 * eps)
    return out.reshape(z.shape) if positions is None else out


def _to_float64(obj):
    """A float64 deep copy of a layer or model, with the same weights and buffers."""
    from .backend import CPU, device_of
    from .model import Model

    def host64(a):
        return np.asarray(device_of(a).get(a)).astype(np.float64)

    twin = copy.deepcopy(obj)
    layers = twin.layers if isinstance(twin, Model) else [twin]
    for layer in layers:
        for _, sub in layer.walk():
            sub.dtype = np.dtype(np.float64)
            sub.params = {k: host64(v) for k, v in sub.params.items()}
            sub.grads = {k: np.zeros_like(v) for k, v in sub.params.items()}
            sub.buffers = {k: host64(v) for k, v in sub.buffers.items()}
            sub._last_checked_shape = None
            sub.cache = None
            for attr, value in vars(sub).items():  # derived constants (e.g. gate scales)
                if hasattr(value, "dtype") and hasattr(value, "shape") and value.dtype == np.float32:
                    setattr(sub, attr, host64(value))
            sub.input_grad_required = True
    if isinstance(twin, Model):  # checked on the CPU in float64, whatever the model's device
        twin.dtype = np.dtype(np.float64)
        twin.device = CPU
        twin._flatten()
    return twin


def _inputs(x) -> tuple[list[np.ndarray], bool]:
    xs = [np.array(a) for a in (x if isinstance(x, (list, tuple)) else [x])]
    integer = xs[0].dtype.kind in "iu"
    return [a.astype(np.int64) if integer else a.astype(np.float64) for a in xs], integer


def gradcheck(target, x, y=None, *, eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-4,
              seed: int = 0, max_checks: int = 400, training: bool = False,
              check_params: bool = True, check_input: bool | None = None) -> GradcheckReport:
    """Check ``target``'s backward pass against float64 central differences.

    Args:
        target: a :class:`~scratchnn.layers.Layer` (composites included), a
            :class:`~scratchnn.Model` or :class:`~scratchnn.Sequential`, or a
            :class:`~scratchnn.losses.Loss` (then ``x`` is ``y_pred`` and ``y`` the targets).
        x: an input batch (a list of batches for a multi-input layer or model). Float (or bool)
            inputs are converted to float64; integer
            inputs (token ids for an embedding) are kept as int64 and get no input row.
        y: targets, for a loss.
        eps, atol, rtol: step of the central difference and the pass tolerances.
        seed: seed of the random upstream gradient and of the layers' generator
            (reset before every forward, so dropout masks repeat).
        max_checks: at most this many randomly chosen elements per tensor are checked.
        training: run the forward pass in training mode.
        check_params: check the parameter gradients too.
        check_input: check dL/dx. ``None`` (default): yes for float inputs, no for
            integer inputs, which have no gradient (only the parameters are checked).

    Returns:
        A :class:`GradcheckReport`; print it for a per-tensor table.
    """
    from .model import Model

    rng = np.random.default_rng(seed)
    if isinstance(target, Loss):
        x = np.array(x)
        if x.dtype.kind in "iu":
            raise TypeError("gradcheck: a loss needs float predictions y_pred; got integers")
        x = x.astype(np.float64)
        y_arr = np.asarray(y)
        if y_arr.dtype.kind == "f":
            y_arr = y_arr.astype(np.float64)
        report = GradcheckReport(type(target).__name__)
        target.forward(x, y_arr)
        analytic = np.array(target.backward(), dtype=np.float64)
        idx = _positions(x.size, max_checks, rng)
        numeric = numerical_gradient(lambda: target.forward(x, y_arr), x, eps, idx)
        report.rows.append(_compare("y_pred", analytic, numeric, idx, atol, rtol))
        return report

    if not isinstance(target, (Layer, Model)):
        raise TypeError(f"gradcheck takes a Layer, a Model (or Sequential) or a Loss; got {type(target).__name__}")
    xs, integer_input = _inputs(x)
    if check_input is None:
        check_input = not integer_input
    elif check_input and integer_input:
        raise TypeError("gradcheck: integer inputs (token ids) have no gradient; "
                        "pass check_input=False or float inputs")
    multi = isinstance(x, (list, tuple))
    if isinstance(target, Model):
        if not target.built:
            target.build(xs[0].shape[1:])
        twin = _to_float64(target)
        subs = [sub for layer in twin.layers for _, sub in layer.walk()]
        multi = len(twin.inputs) > 1
    else:
        if target.built:
            twin = _to_float64(target)
        else:
            twin = copy.deepcopy(target)
            shapes = [a.shape[1:] for a in xs]
            twin.build(shapes if multi else shapes[0], np.random.default_rng(seed), np.float64)
        subs = [sub for _, sub in twin.walk()]

    def forward():
        for sub in subs:
            sub.rng = np.random.default_rng(seed + 1)
        arg = xs if multi else xs[0]
        if isinstance(twin, Model):
            return twin.forward(arg, training=training)
        return twin.forward(arg, training=training)

    out = forward()
    outs = out if isinstance(out, list) else [out]
    upstream = [rng.standard_normal(o.shape) for o in outs]

    def scalar():
        got = forward()
        got = got if isinstance(got, list) else [got]
        return float(sum(np.sum(g * u) for g, u in zip(got, upstream)))

    forward()
    dx = twin.backward(upstream if isinstance(out, list) else upstream[0])
    dxs = dx if isinstance(dx, list) else [dx]
    if isinstance(twin, Model):
        grads = {key: (p, g.copy()) for key, p, g in twin.parameters()}
        name = type(target).__name__
    else:
        all_g = twin.all_grads()
        grads = {k: (p, all_g[k].copy()) for k, p in twin.all_params().items()}
        name = type(target).__name__

    report = GradcheckReport(name)
    if check_input:
        for k, (a, d) in enumerate(zip(xs, dxs)):
            idx = _positions(a.size, max_checks, rng)
            label = f"x[{k}]" if multi else "x"
            report.rows.append(_compare(label, np.asarray(d), numerical_gradient(scalar, a, eps, idx), idx, atol, rtol))
    if check_params:
        for key, (p, g) in grads.items():
            idx = _positions(p.size, max_checks, rng)
            report.rows.append(_compare(key, g, numerical_gradient(scalar, p, eps, idx), idx, atol, rtol))
    return report

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


def _numeric(f, z: np.ndarray, idx, eps: float) -> np.ndarray:
    flat = z.reshape(-1)
    out = np.empty(len(idx))
    for j, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        out[j] = (plus - minus) / (2 * eps)
    return out


def _float64_layers(target):
    """Float64 copies of the target's layers, with the same weights."""
    from .model import Sequential

    layers = target.layers if isinstance(target, Sequential) else [target]
    copies = []
    for layer in layers:
        twin = type(layer).from_config(layer.get_config())
        copies.append((layer, twin))
    return copies


def gradcheck(target, x, y=None, *, eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-4,
              seed: int = 0, max_checks: int = 400, training: bool = False,
              check_params: bool = True, check_input: bool | None = None) -> GradcheckReport:
    """Check ``target``'s backward pass against float64 central differences.

    Args:
        target: a :class:`~scratchnn.layers.Layer`, a :class:`~scratchnn.Sequential`,
            or a :class:`~scratchnn.losses.Loss` (then ``x`` is ``y_pred`` and ``y`` the targets).
        x: an input batch. Float (or bool) inputs are converted to float64; integer
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
    from .model import Sequential

    rng = np.random.default_rng(seed)
    x = np.array(x)
    integer_input = x.dtype.kind in "iu"
    x = x.astype(np.int64) if integer_input else x.astype(np.float64)
    if check_input is None:
        check_input = not integer_input
    elif check_input and integer_input:
        raise TypeError("gradcheck: integer inputs (token ids) have no gradient; "
                        "pass check_input=False or float inputs")

    if isinstance(target, Loss):
        if integer_input:
            raise TypeError("gradcheck: a loss needs float predictions y_pred; got integers")
        y_arr = np.asarray(y)
        if y_arr.dtype.kind == "f":
            y_arr = y_arr.astype(np.float64)
        report = GradcheckReport(type(target).__name__)
        target.forward(x, y_arr)
        analytic = np.array(target.backward(), dtype=np.float64)
        idx = _positions(x.size, max_checks, rng)
        numeric = _numeric(lambda: target.forward(x, y_arr), x, idx, eps)
        report.rows.append(_compare("y_pred", analytic, numeric, idx, atol, rtol))
        return report

    if not isinstance(target, (Layer, Sequential)):
        raise TypeError(f"gradcheck takes a Layer, a Sequential or a Loss; got {type(target).__name__}")
    pairs = _float64_layers(target)
    shape = x.shape[1:]
    for i, (orig, twin) in enumerate(pairs):
        twin.position = (i + 1, len(pairs))
        twin.build(shape, np.random.default_rng(seed), np.float64)
        if orig.built:
            for k, v in orig.params.items():
                twin.params[k][...] = v
            for k, v in orig.buffers.items():
                twin.buffers[k][...] = v
        shape = twin.compute_output_shape(shape)
    layers = [twin for _, twin in pairs]

    def forward(inp):
        for layer in layers:
            layer.rng = np.random.default_rng(seed + 1)
            inp = layer.forward(inp, training=training)
        return inp

    out = forward(x)
    upstream = rng.standard_normal(out.shape)

    def scalar():
        return float(np.sum(forward(x) * upstream))

    forward(x)
    dx = upstream
    for layer in reversed(layers):
        dx = layer.backward(dx)
    grads = {f"{i}/{k}": (layer.params[k], g.copy()) for i, layer in enumerate(layers)
             for k, g in layer.grads.items()}

    name = type(target).__name__ if isinstance(target, Layer) else "Sequential"
    report = GradcheckReport(name)
    if check_input:
        idx = _positions(x.size, max_checks, rng)
        report.rows.append(_compare("x", np.asarray(dx), _numeric(scalar, x, idx, eps), idx, atol, rtol))
    if check_params:
        for key, (p, g) in grads.items():
            label = key.split("/", 1)[1] if isinstance(target, Layer) else key
            idx = _positions(p.size, max_checks, rng)
            report.rows.append(_compare(label, g, _numeric(scalar, p, idx, eps), idx, atol, rtol))
    return report

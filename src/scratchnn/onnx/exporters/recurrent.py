"""Exporters for SimpleRNN, LSTM, GRU and Bidirectional: ONNX's RNN, LSTM and GRU operators.

ONNX's recurrent operators are time-major (``layout=0``; onnxruntime does not run
``layout=1``), so the graph is ``Transpose(x, [1, 0, 2])`` -> op -> outputs back to
batch first:

- ``return_sequences=True``: ``Y`` (T, dirs, N, H) -> Transpose [2, 0, 1, 3] ->
  Reshape [0, 0, -1] = (N, T, dirs H) (forward then backward, as the layer concatenates);
- otherwise ``Y_h`` (dirs, N, H) -> Transpose [1, 0, 2] -> Reshape [0, -1] = (N, dirs H).
  For the reverse direction ``Y_h`` is the state after reading x_0, as in the layer.
- ``merge_mode="sum"``: ReduceSum over the direction axis instead of the Reshape.

Weights: ours are ``W`` (D, G H), ``U`` (H, G H) with gate blocks along the columns;
ONNX wants ``W`` (dirs, G H, D), ``R`` (dirs, G H, H) and ``B`` (dirs, 2 G H) =
[input-side biases, recurrent-side biases], with its own gate orders:

======== ============ ============= ===============================================
layer    our order    ONNX order    biases (ours -> ONNX [Wb | Rb])
======== ============ ============= ===============================================
SimpleRNN one block    one block    [b | 0]
LSTM     i, f, g, o   i, o, f, c    [b reordered | 0]
GRU      r, z, n      z, r, h       [b_z, b_r, b_n | 0, 0, b_hn], linear_before_reset=1
======== ============ ============= ===============================================

``linear_before_reset=1`` is what puts the reset gate around ``h U_n + b_hn``, as in
the layer (and PyTorch). Initial states are zeros (the ONNX default); a layer whose
``initial_state`` is set cannot be exported, since a fixed (N, H) array does not fit
a dynamic batch.
"""
from __future__ import annotations

import numpy as np

from ...errors import ScratchnnError
from ..registry import register_exporter

#: ONNX op, and our gate-block index for each ONNX gate position.
_SPECS = {
    "SimpleRNN": ("RNN", (0,)),
    "LSTM": ("LSTM", (0, 3, 1, 2)),   # ONNX i, o, f, c  <-  ours i(0), f(1), g(2), o(3)
    "GRU": ("GRU", (1, 0, 2)),        # ONNX z, r, h     <-  ours r(0), z(1), n(2)
}


def _blocks(a: np.ndarray, order, H: int) -> np.ndarray:
    """Reorder the gate blocks along the last axis of ``a`` (..., G H) into ``order``."""
    return np.concatenate([a[..., k * H:(k + 1) * H] for k in order], axis=-1)


def _direction_weights(layer, order) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ONNX (W, R, B) of one direction: (G H, D), (G H, H), (2 G H,)."""
    if layer.initial_state is not None:
        raise ScratchnnError("its initial_state is set, and the ONNX graph starts from zeros "
                             "(a fixed (N, H) state does not fit a dynamic batch). "
                             "Set layer.initial_state = None before exporting.")
    H = layer.hidden_size
    p = layer.params
    W = _blocks(p["W"], order, H).T
    R = _blocks(p["U"], order, H).T
    wb = _blocks(p["b"], order, H)
    rb = np.zeros_like(wb)
    if "b_hn" in p:  # GRU: the recurrent bias of the candidate, inside the reset product
        rb[2 * H:] = p["b_hn"]
    return W, R, np.concatenate([wb, rb])


def _recurrent(g, x, cells, merge_mode: str = "concat"):
    first = cells[0]
    op, order = _SPECS[type(first).__name__]
    H = first.hidden_size
    parts = [_direction_weights(cell, order) for cell in cells]
    W, R, B = (np.stack([p[i] for p in parts]) for i in range(3))
    attrs = {"hidden_size": H, "direction": "bidirectional" if len(cells) == 2 else "forward"}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    xt = g.op("Transpose", [x], perm=[1, 0, 2])
    y, y_h = g.op(op, [xt, g.const(W, "W"), g.const(R, "R"), g.const(B, "B")], outputs=2, **attrs)
    if first.return_sequences:
        if merge_mode == "sum":
            y = g.op("ReduceSum", [y, g.ints([1], "dir_axis")], keepdims=0)      # (T, N, H)
            return g.op("Transpose", [y], perm=[1, 0, 2])
        y = g.op("Transpose", [y], perm=[2, 0, 1, 3])                             # (N, T, dirs, H)
        return g.op("Reshape", [y, g.ints([0, 0, -1], "shape")])
    if merge_mode == "sum":
        return g.op("ReduceSum", [y_h, g.ints([0], "dir_axis")], keepdims=0)      # (N, H)
    y_h = g.op("Transpose", [y_h], perm=[1, 0, 2])                                # (N, dirs, H)
    return g.op("Reshape", [y_h, g.ints([0, -1], "shape")])


@register_exporter("SimpleRNN", "LSTM", "GRU")
def recurrent(layer, g, x, input_shape):
    return _recurrent(g, x, [layer])


@register_exporter("Bidirectional")
def bidirectional(layer, g, x, input_shape):
    return _recurrent(g, x, [layer.forward_layer, layer.backward_layer], layer.merge_mode)

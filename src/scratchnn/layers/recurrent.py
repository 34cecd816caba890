"""Recurrent layers: their shared machinery (RecurrentBase) and SimpleRNN (tanh); the LSTM
and GRU cells are in ``lstm.py`` and ``gru.py``, stacks by name in ``recurrent_stack.py``.

All three take sequences ``(N, T, D)`` (batch first) and return the last hidden
state ``(N, H)`` or, with ``return_sequences=True``, every hidden state ``(N, T, H)``.
Stack them by giving every layer but the last ``return_sequences=True``.

How the work is laid out (the same for the three cells):

1. the input projection of *every* time step is one matrix product before the
   loop: ``Z = x W + b``, shape (T, N, G H) (time-major, G gates);
2. the loop over time adds ``h_{t-1} U`` (one (N, H) x (H, G H) product per step,
   all gates at once) and applies the cell's elementwise maths;
3. backward (BPTT) loops over time in reverse with one (N, G H) x (G H, H) product
   per step; the weight gradients are then single large products over all steps:
   ``dU = H_prev^T dZ_h``, ``dW = X^T dZ_x``, ``dx = dZ_x W^T``.

There is no loop over samples or over gates. Sigmoids are computed as
``0.5 tanh(0.5 z) + 0.5`` (exact, never overflows), which lets one ``tanh`` call
activate all gates of a step.

Weight layout and the mapping to PyTorch (``torch.nn.RNN/LSTM/GRU``, one layer, one
direction, ``batch_first=True``):

=========  ==============  =====================================================
ours       shape           from torch
=========  ==============  =====================================================
``W``      (D, G H)        ``weight_ih_l0.T``
``U``      (H, G H)        ``weight_hh_l0.T``
``b``      (G H,)          ``bias_ih_l0 + bias_hh_l0`` (RNN, LSTM);
                           GRU: ``bias_ih_l0 + [bias_hh_l0[:2H], 0]``
``b_hn``   (H,)            GRU only: ``bias_hh_l0[2H:]``
=========  ==============  =====================================================

Gate order along the G H axis is torch's: LSTM ``i, f, g, o`` (G = 4); GRU
``r, z, n`` (G = 3); SimpleRNN has one block (G = 1). PyTorch keeps two biases
where one suffices, so it counts G H more parameters (H more for the GRU's
separate ``b_hn``, which is kept here because it sits inside the reset product).

Initial state: set ``layer.initial_state`` (an (N, H) array, or ``(h0, c0)`` for the
LSTM; ``None`` means zeros) before the forward pass, or pass ``initial_state=`` to
``layer.forward``. After a forward pass ``layer.final_state`` holds h_T (or
``(h_T, c_T)``), and after backward ``layer.initial_state_grad`` holds dL/dh0 (or
``(dL/dh0, dL/dc0)``). Feeding ``final_state`` back as ``initial_state`` runs a long
sequence in pieces (used for text sampling).

Training tip: BPTT multiplies by ``U`` once per step, so gradients can explode on long
sequences; clip them with the optimizer's ``clip_norm`` (e.g.
``sn.optimizers.Adam(lr=2e-3, clip_norm=5.0)``), as ``scratchnn textgen`` and
``scratchnn forecast`` do by default.
"""
from __future__ import annotations

import numpy as np

from .. import threads
from ..backend import contiguous, device_of
from ..errors import ConfigError, ShapeError
from ..registry import register_layer
from .base import Layer
from .dense import _positive_int


class RecurrentBase(Layer):
    """Shared machinery of SimpleRNN, LSTM and GRU (see the module docstring)."""

    #: Number of gate blocks G stacked along the last axis of W, U and b.
    gates: int = 1
    #: Number of state arrays (1: h; 2: h and c for the LSTM).
    n_states: int = 1
    uses_thread_pool = True

    def __init__(self, input_size: int, hidden_size: int, return_sequences: bool = False,
                 *, name: str | None = None) -> None:
        super().__init__(name=name)
        cls = type(self).__name__
        self.input_size = _positive_int(cls, "input_size", input_size)
        self.hidden_size = _positive_int(cls, "hidden_size", hidden_size)
        if not isinstance(return_sequences, (bool, np.bool_)):
            raise ConfigError(f"{cls}: return_sequences must be True or False. "
                              f"Received: return_sequences={return_sequences!r}")
        self.return_sequences = bool(return_sequences)
        self.initial_state = None
        self.final_state = None
        self.initial_state_grad = None

    # ------------------------------------------------------------- contract
    def expected_shape(self):
        return ("N", "T", self.input_size)

    def input_hint(self, shape):
        if len(shape) == 2:
            return ("Recurrent layers take sequences (N, T, D); for one feature per time step "
                    "use x[..., None].")
        return f"The last axis must hold the {self.input_size} features of each time step."

    def _build(self, input_shape, rng):
        D, H, G = self.input_size, self.hidden_size, self.gates
        self.add_weight("W", (D, G * H), self._uniform_init)
        self.add_weight("U", (H, G * H), self._uniform_init)
        self.add_weight("b", (G * H,), self._bias_init)

    def _uniform_init(self, shape, fan_in, fan_out, rng, dtype):
        """PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every recurrent weight."""
        k = 1.0 / np.sqrt(self.hidden_size)
        return rng.uniform(-k, k, size=shape).astype(dtype)

    def _bias_init(self, shape, fan_in, fan_out, rng, dtype):
        return np.zeros(shape, dtype)

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], self.hidden_size)
        return (self.hidden_size,)

    def get_config(self):
        return {**super().get_config(), "input_size": self.input_size,
                "hidden_size": self.hidden_size, "return_sequences": self.return_sequences}

    # ------------------------------------------------------------- helpers
    def _time_loop(self, loop, N: int) -> None:
        """Run ``loop(lo, hi)``, the loop over time for samples ``lo:hi``, on all threads.

        Samples never interact through time, so the batch is split among the threads of
        :func:`scratchnn.threads.batch_parallel` and each runs the whole loop on its own
        rows, with no synchronisation per step. Each step's small product then runs on a
        one-thread BLAS (:func:`scratchnn.threads.small_products`): waking BLAS threads
        100 times per sequence costs more than the product.
        """
        H = self.hidden_size
        with threads.small_products(N * H * self.gates * H):
            threads.batch_parallel(loop, N, min_rows=16)

    def _empty(self, shape) -> np.ndarray:
        """An uninitialised work array on the weights' device (CPU or GPU)."""
        return np.empty(shape, self.dtype, like=self.params["U"])

    def _zeros(self, shape) -> np.ndarray:
        """Zeros on the weights' device."""
        return np.zeros(shape, self.dtype, like=self.params["U"])

    def _initial(self, N: int, initial_state) -> tuple[np.ndarray, ...]:
        state = self.initial_state if initial_state is None else initial_state
        if state is None:
            return tuple(self._zeros((N, self.hidden_size)) for _ in range(self.n_states))
        parts = tuple(state) if isinstance(state, (tuple, list)) else (state,)
        if len(parts) != self.n_states:
            raise ShapeError(f"{self.describe()}: initial_state must be "
                             f"{'(h0, c0)' if self.n_states == 2 else 'h0'}; got {len(parts)} arrays.")
        out = []
        device = device_of(self.params["U"])
        for p in parts:
            if hasattr(p, "shape") and device_of(p) is device:
                p = p.astype(self.dtype, copy=False)
            else:  # a host array (or a list) for a model on another device: one copy over
                p = device.put(np.asarray(device_of(p).get(p) if hasattr(p, "shape") else p, dtype=self.dtype))
            if p.shape != (N, self.hidden_size):
                raise ShapeError(f"{self.describe()} expected initial state (N, H) = "
                                 f"({N}, {self.hidden_size}), got {p.shape}.")
            out.append(p)
        return tuple(out)

    def _project(self, x: np.ndarray, W: np.ndarray | None = None,
                 b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Time-major input (T, N, D) and its projection Z = x W + b, (T, N, G H)."""
        N, T, D = x.shape
        xt = contiguous(x.transpose(1, 0, 2), self.dtype)
        Z = threads.matmul(xt.reshape(T * N, D), self.params["W"] if W is None else W)
        Z += self.params["b"] if b is None else b
        return xt, Z.reshape(T, N, -1)

    def _output(self, hs: np.ndarray) -> np.ndarray:
        if self.return_sequences:
            return contiguous(hs[1:].transpose(1, 0, 2))
        return hs[-1].copy()

    def _upstream(self, dy: np.ndarray, N: int):
        """(dh for the last step, time-major dy or None)."""
        if self.return_sequences:
            return self._zeros((N, self.hidden_size)), dy.transpose(1, 0, 2)
        return dy.astype(self.dtype, copy=True), None

    def _input_grads(self, xt: np.ndarray, dZx: np.ndarray, hs: np.ndarray, dZh: np.ndarray) -> np.ndarray:
        """dW = X^T dZx, db = sum dZx, dU = H_prev^T dZh (one product each); returns dx (N, T, D)."""
        T, N, D = xt.shape
        flat = dZx.reshape(T * N, -1)
        threads.matmul(xt.reshape(T * N, D).T, flat, out=self.grads["W"])
        np.sum(flat, axis=0, out=self.grads["b"])
        threads.matmul(hs[:-1].reshape(T * N, -1).T, dZh.reshape(T * N, -1), out=self.grads["U"])
        dx = threads.matmul(flat, self.params["W"].T).reshape(T, N, D)
        return contiguous(dx.transpose(1, 0, 2))


@register_layer
class SimpleRNN(RecurrentBase):
    """Elman RNN: h_t = tanh(x_t W + h_{t-1} U + b).

    Args:
        input_size: features D per time step (> 0).
        hidden_size: size H of the hidden state (> 0).
        return_sequences: return every h_t (N, T, H) instead of h_T (N, H).

    Shape:
        - input: (N, T, D); output: (N, H), or (N, T, H) with ``return_sequences``
        - W: (D, H), U: (H, H), b: (H,) -- torch ``nn.RNN``: W = weight_ih_l0.T,
          U = weight_hh_l0.T, b = bias_ih_l0 + bias_hh_l0.

    Backward (BPTT), with dh_t = dy_t + dh carried from step t+1:
        dz_t = dh_t (1 - h_t^2);  dh_{t-1} = dz_t U^T;
        dU = sum_t h_{t-1}^T dz_t;  dW = sum_t x_t^T dz_t;  db = sum_t dz_t.

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> rnn = sn.layers.SimpleRNN(3, 5, return_sequences=True)
        >>> rnn.build((7, 3), np.random.default_rng(0))
        >>> rnn(np.zeros((2, 7, 3), dtype=np.float32)).shape
        (2, 7, 5)
    """

    gates = 1

    def forward(self, x, training=False, initial_state=None):
        N, T, _ = x.shape
        (h0,) = self._initial(N, initial_state)
        xt, Z = self._project(x)
        U = self.params["U"]
        hs = self._empty((T + 1, N, self.hidden_size))
        hs[0] = h0
        def loop(lo, hi):
            for t in range(T):
                a = Z[t, lo:hi]
                a += hs[t, lo:hi] @ U
                np.tanh(a, out=hs[t + 1, lo:hi])

        self._time_loop(loop, N)
        self.cache = (xt, hs)
        self.final_state = hs[-1].copy()
        return self._output(hs)

    def backward(self, dy):
        xt, hs = self.cache
        T, N, _ = xt.shape
        UT = contiguous(self.params["U"].T)  # contiguous: the per-step product runs ~25 % faster
        dh, dY = self._upstream(dy, N)
        dZ = 1.0 - hs[1:] * hs[1:]  # tanh'; multiplied by dh_t in the loop

        def loop(lo, hi):
            g = dh[lo:hi]
            for t in range(T - 1, -1, -1):
                if dY is not None:
                    g += dY[t, lo:hi]
                d = dZ[t, lo:hi]
                d *= g
                np.matmul(d, UT, out=g)

        self._time_loop(loop, N)
        self.initial_state_grad = dh
        return self._input_grads(xt, dZ, hs, dZ)

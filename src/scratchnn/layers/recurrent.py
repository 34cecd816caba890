"""Recurrent layers: SimpleRNN (tanh), LSTM and GRU, with backpropagation through time.

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


@register_layer
class LSTM(RecurrentBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's formulation.

        [i, f, g, o] = x_t W + h_{t-1} U + b,  then  i, f, o <- sigmoid(.),  g <- tanh(.)
        c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t)

    Args:
        input_size: features D per time step (> 0).
        hidden_size: size H of h and c (> 0).
        return_sequences: return every h_t (N, T, H) instead of h_T (N, H).
        unit_forget_bias: start the forget-gate bias at 1 (default True, as Keras),
            so that the cell remembers by default; other biases start at 0.

    Shape:
        - input: (N, T, D); output: (N, H), or (N, T, H) with ``return_sequences``
        - W: (D, 4H), U: (H, 4H), b: (4H,), gates in torch's order i, f, g, o:
          W = weight_ih_l0.T, U = weight_hh_l0.T, b = bias_ih_l0 + bias_hh_l0.

    Backward at step t (dh_t = dy_t + dh from step t+1; dc carried from step t+1):
        do = dh tanh(c_t);  dc += dh o (1 - tanh(c_t)^2)
        di = dc g;  df = dc c_{t-1};  dg = dc i;  dc_{t-1} = dc f
        dz = [di, df, dg, do] * activation'(.);  dh_{t-1} = dz U^T;  dU = sum_t h_{t-1}^T dz_t.

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> model = sn.Sequential([sn.layers.LSTM(1, 16), sn.layers.Dense(16, 1)], seed=0)
        >>> model.predict(np.zeros((4, 30, 1))).shape
        (4, 1)
    """

    gates = 4
    n_states = 2

    def __init__(self, input_size: int, hidden_size: int, return_sequences: bool = False,
                 unit_forget_bias: bool = True, *, name: str | None = None) -> None:
        super().__init__(input_size, hidden_size, return_sequences, name=name)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self, shape, fan_in, fan_out, rng, dtype):
        b = np.zeros(shape, dtype)
        if self.unit_forget_bias:
            b[self.hidden_size:2 * self.hidden_size] = 1.0  # forget gate open at the start
        return b

    def build(self, input_shape, rng=None, dtype=None):
        super().build(input_shape, rng, self.dtype if dtype is None else dtype)
        H = self.hidden_size
        # sigmoid(z) = 0.5 tanh(0.5 z) + 0.5: per-column scale s and offset for one tanh call
        self._scale = np.full(4 * H, 0.5, self.dtype)
        self._scale[2 * H:3 * H] = 1.0
        self._offset = (1.0 - self._scale).astype(self.dtype)
        # activation'(z) = (a - lo) (1 - a): a(1 - a) for sigmoid, (1 + a)(1 - a) for tanh
        self._lo = (1.0 - 2.0 * self._scale).astype(self.dtype)

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}

    def forward(self, x, training=False, initial_state=None):
        N, T, _ = x.shape
        H = self.hidden_size
        h0, c0 = self._initial(N, initial_state)
        s = self._scale
        # sigmoid(z) = s tanh(s z) + off, s = 0.5 (s = 1, off = 0 for the g block). The inner
        # s is folded into the weights once per batch (exact: s is a power of two), so each
        # step applies one tanh to x W + h U + b with no scaling pass before it.
        Ws, Us, bs = self.params["W"] * s, self.params["U"] * s, self.params["b"] * s
        # Inference keeps nothing for a backward pass: the pre-activations are projected a
        # block of steps at a time, and c, tanh(c) (and h, unless every h_t is returned) live
        # in two rolling rows instead of T + 1 (N = 1024, T = 100, H = 256: about 40 MB
        # instead of 730 MB). A backward pass after it runs the forward pass again.
        keep = training
        block = T if keep else min(T, 8)
        if keep:
            xt, A = self._project(x, Ws, bs)
        else:
            xt = contiguous(x.transpose(1, 0, 2), self.dtype)
        full_h = keep or self.return_sequences
        hs = self._empty((T + 1 if full_h else 2, N, H))
        cs = self._empty((T + 1 if keep else 2, N, H))
        tcs = self._empty((T if keep else 1, N, H))
        hs[0], cs[0] = h0, c0
        ih = (lambda t: t) if full_h else (lambda t: t % 2)
        ic = (lambda t: t) if keep else (lambda t: t % 2)

        def loop(lo, hi):
            r = slice(lo, hi)
            hU = self._empty((hi - lo, 4 * H))
            ig = self._empty((hi - lo, H))
            for t in range(T):
                if keep:
                    a = A[t, r]
                else:
                    if t % block == 0:
                        Z = xt[t:t + block, r] @ Ws
                        Z += bs
                    a = Z[t % block]
                self._step(a, hs[ih(t), r], cs[ic(t), r], hs[ih(t + 1), r], cs[ic(t + 1), r],
                           tcs[t if keep else 0, r], Us, hU, ig)

        self._time_loop(loop, N)
        self.cache = (xt, A, hs, cs, tcs) if keep else ("inference", x, h0, c0)
        self.final_state = (hs[ih(T)].copy(), cs[ic(T)].copy())
        return self._output(hs) if full_h else hs[ih(T)].copy()

    def _step(self, a, h_prev, c_prev, h, c, tc, Us, hU, ig) -> None:
        """One time step, in place: ``a`` (rows, 4H) holds the scaled x W + b of the step and
        becomes the gates [i, f, g, o]; ``c``, ``tc`` = tanh(c) and ``h`` are written."""
        H = self.hidden_size
        np.matmul(h_prev, Us, out=hU)
        a += hU
        np.tanh(a, out=a)
        a *= self._scale
        a += self._offset                                              # a = [i, f, g, o]
        np.multiply(a[:, H:2 * H], c_prev, out=c)                      # f * c_{t-1}
        np.multiply(a[:, :H], a[:, 2 * H:3 * H], out=ig)               # i * g
        c += ig
        np.tanh(c, out=tc)
        np.multiply(a[:, 3 * H:], tc, out=h)                           # o * tanh(c)

    def backward(self, dy):
        if isinstance(self.cache[0], str):  # an inference forward pass kept nothing: run it again
            _, x, h0, c0 = self.cache
            self.forward(x, training=True, initial_state=(h0, c0))
        xt, A, hs, cs, tcs = self.cache
        T, N, _ = xt.shape
        H = self.hidden_size
        UT = contiguous(self.params["U"].T)  # contiguous: the per-step product runs ~25 % faster
        lo_act = self._lo
        dh, dY = self._upstream(dy, N)
        dc = self._zeros((N, H))
        dZ = np.empty_like(A)

        # Every step's elementwise work is done inside the loop, on (rows, 4H) blocks that
        # stay in cache, rather than as passes over the whole (T, N, 4H) arrays before it.
        def loop(lo, hi):
            tmp = self._empty((hi - lo, H))
            u = self._empty((hi - lo, 4 * H))
            v = self._empty((hi - lo, 4 * H))
            g, dcr = dh[lo:hi], dc[lo:hi]
            for t in range(T - 1, -1, -1):
                if dY is not None:
                    g += dY[t, lo:hi]
                a, d, tc = A[t, lo:hi], dZ[t, lo:hi], tcs[t, lo:hi]
                np.multiply(g, tc, out=d[:, 3 * H:])                       # do = dh tanh(c)
                np.multiply(tc, tc, out=tmp)
                np.subtract(1, tmp, out=tmp)
                tmp *= a[:, 3 * H:]
                tmp *= g
                dcr += tmp                                                 # dc += dh o (1 - tanh(c)^2)
                np.multiply(dcr, a[:, 2 * H:3 * H], out=d[:, :H])          # di = dc g
                np.multiply(dcr, cs[t, lo:hi], out=d[:, H:2 * H])          # df = dc c_{t-1}
                np.multiply(dcr, a[:, :H], out=d[:, 2 * H:3 * H])          # dg = dc i
                dcr *= a[:, H:2 * H]                                       # dc_{t-1} = dc f
                np.subtract(a, lo_act, out=u)
                np.subtract(1, a, out=v)
                u *= v                                                     # activation'(z)
                d *= u
                np.matmul(d, UT, out=g)

        self._time_loop(loop, N)
        self.initial_state_grad = (dh, dc)
        return self._input_grads(xt, dZ, hs, dZ)


@register_layer
class GRU(RecurrentBase):
    """Gated recurrent unit (Cho et al., 2014), exactly PyTorch's formulation.

        r = sigmoid(x_t W_r + h U_r + b_r),   z = sigmoid(x_t W_z + h U_z + b_z)
        n = tanh(x_t W_n + b_n + r * (h U_n + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Note the reset gate multiplies ``h U_n + b_hn`` (PyTorch, Keras ``reset_after=True``),
    not ``h`` itself (the original paper).

    Args:
        input_size: features D per time step (> 0).
        hidden_size: size H of the hidden state (> 0).
        return_sequences: return every h_t (N, T, H) instead of h_T (N, H).

    Shape:
        - input: (N, T, D); output: (N, H), or (N, T, H) with ``return_sequences``
        - W: (D, 3H), U: (H, 3H), b: (3H,), b_hn: (H,), gates in torch's order r, z, n:
          W = weight_ih_l0.T, U = weight_hh_l0.T,
          b = bias_ih_l0 + [bias_hh_l0[:2H], 0], b_hn = bias_hh_l0[2H:].

    Backward at step t (dh_t = dy_t + dh from step t+1), with hn = h U_n + b_hn:
        dn = dh (1 - z) (1 - n^2);   dz = dh (h_{t-1} - n) z (1 - z)
        dr = dn hn r (1 - r);        d(hn) = dn r
        dh_{t-1} = dh z + [dr, dz, d(hn)] U^T;   dU = sum_t h_{t-1}^T [dr, dz, d(hn)].

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> gru = sn.layers.GRU(4, 8)
        >>> gru.build((5, 4), np.random.default_rng(0))
        >>> gru(np.ones((3, 5, 4), dtype=np.float32)).shape
        (3, 8)
    """

    gates = 3

    def _build(self, input_shape, rng):
        super()._build(input_shape, rng)
        self.add_weight("b_hn", (self.hidden_size,), "zeros")

    def forward(self, x, training=False, initial_state=None):
        N, T, _ = x.shape
        H = self.hidden_size
        (h0,) = self._initial(N, initial_state)
        xt, A = self._project(x)
        U, bhn = self.params["U"], self.params["b_hn"]
        hs = self._empty((T + 1, N, H))
        HN = self._empty((T, N, H))  # h U_n + b_hn
        hs[0] = h0

        def loop(lo, hi):
            hU = self._empty((hi - lo, 3 * H))
            tmp = self._empty((hi - lo, H))
            for t in range(T):
                a, h, hn = A[t, lo:hi], hs[t, lo:hi], HN[t, lo:hi]
                np.matmul(h, U, out=hU)
                np.add(hU[:, 2 * H:], bhn, out=hn)
                rz = a[:, :2 * H]
                rz += hU[:, :2 * H]
                rz *= 0.5
                np.tanh(rz, out=rz)
                rz *= 0.5
                rz += 0.5                                                  # r, z = sigmoid
                n = a[:, 2 * H:]
                np.multiply(a[:, :H], hn, out=tmp)
                n += tmp
                np.tanh(n, out=n)
                np.subtract(h, n, out=tmp)
                tmp *= a[:, H:2 * H]
                np.add(n, tmp, out=hs[t + 1, lo:hi])                       # n + z (h - n)

        self._time_loop(loop, N)
        self.cache = (xt, A, hs, HN)
        self.final_state = hs[-1].copy()
        return self._output(hs)

    def backward(self, dy):
        xt, A, hs, HN = self.cache
        T, N, _ = xt.shape
        H = self.hidden_size
        UT = contiguous(self.params["U"].T)  # contiguous: the per-step product runs ~25 % faster
        dh, dY = self._upstream(dy, N)
        r, z, n = A[:, :, :H], A[:, :, H:2 * H], A[:, :, 2 * H:]
        Qn = (1.0 - z) * (1.0 - n * n)                # dn_pre = dh Qn
        Qr = HN * r * (1.0 - r)                       # dr_pre = dn_pre Qr
        Dz = z * (1.0 - z)
        dG = np.empty_like(A)                         # grads of the h-side products [r, z, hn]
        dNx = self._empty((T, N, H))         # grad of the n pre-activation

        def loop(lo, hi):
            tmp = self._empty((hi - lo, H))
            g = dh[lo:hi]
            for t in range(T - 1, -1, -1):
                if dY is not None:
                    g += dY[t, lo:hi]
                d, dn, rows = dG[t, lo:hi], dNx[t, lo:hi], slice(lo, hi)
                np.subtract(hs[t, rows], n[t, rows], out=tmp)
                tmp *= g
                np.multiply(tmp, Dz[t, rows], out=d[:, H:2 * H])          # dz
                np.multiply(g, Qn[t, rows], out=dn)                      # dn
                np.multiply(dn, r[t, rows], out=d[:, 2 * H:])            # d(hn)
                np.multiply(dn, Qr[t, rows], out=d[:, :H])               # dr
                np.multiply(g, z[t, rows], out=tmp)
                np.matmul(d, UT, out=g)
                g += tmp

        self._time_loop(loop, N)
        self.initial_state_grad = dh
        np.sum(dG[:, :, 2 * H:], axis=(0, 1), out=self.grads["b_hn"])
        dZx = dG.copy()
        dZx[:, :, 2 * H:] = dNx
        return self._input_grads(xt, dZx, hs, dG)


#: Recurrent cells by their command-line names.
CELLS: dict[str, type] = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}


def recurrent_stack(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                    return_sequences: bool = False) -> list[Layer]:
    """``num_layers`` cells of kind ``cell`` ("lstm", "gru", "rnn") stacked on (N, T, input_size):
    every cell but the last returns its whole sequence (the next one reads it); the last one
    returns the sequence only with ``return_sequences``. The one builder of recurrent stacks
    (text models, forecasters).

    Example:
        >>> [type(c).__name__ for c in recurrent_stack("gru", 3, 8, num_layers=2)]
        ['GRU', 'GRU']
    """
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {sorted(CELLS)}. Received: cell={cell!r}")
    num_layers = _positive_int("recurrent_stack", "num_layers", num_layers)
    stack, size = [], input_size
    for i in range(num_layers):
        stack.append(CELLS[cell](size, hidden_size, return_sequences=return_sequences or i < num_layers - 1))
        size = hidden_size
    return stack


"""The LSTM cell (see :mod:`scratchnn.layers.recurrent` for the shared machinery and layout)."""
from __future__ import annotations

import numpy as np

from ..backend import contiguous
from ..registry import register_layer
from .recurrent import RecurrentBase


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

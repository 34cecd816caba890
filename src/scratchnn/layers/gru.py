"""The GRU cell (see :mod:`scratchnn.layers.recurrent` for the shared machinery and layout)."""
from __future__ import annotations

import numpy as np

from ..backend import contiguous
from ..registry import register_layer
from .recurrent import RecurrentBase


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

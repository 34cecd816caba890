"""Convolution and pooling maths: pure functions over NumPy arrays, no state.

Layout. The public functions take and return **NCHW** arrays, as PyTorch does.
Internally they compute in **NHWC** (channels last), where a convolution is one
large matrix product with contiguous operands:

    cols[n·Ho·Wo + p, (i, j, c)] = x_pad[n, c, p_h·s + i·d, p_w·s + j·d]      (im2col)
    y   = cols · Wm + b,           Wm[(i, j, c), o] = W[o, c, i, j]
    dWm = colsᵀ · dy,   db = Σ_rows dy,   dcols = dy · Wmᵀ,   dx = col2im(dcols)

``im2col`` is one copy out of a strided view of the padded input (no Python loop
over samples or pixels); ``col2im`` adds each kernel offset's slab back in one
slice-add per offset (kh·kw additions, no ``np.add.at``). The NCHW outputs are
transposed *views* of NHWC buffers, so the next layer (ReLU, pooling, another
convolution) finds its data already channels-last and copies nothing. Results
never depend on the memory layout of an input, only the speed does.

Output size along one axis, for input size H, kernel k, stride s, padding p_lo +
p_hi and dilation d (floor division, as PyTorch)::

    H_out = (H + p_lo + p_hi - d·(k - 1) - 1) // s + 1
"""
from __future__ import annotations

import numpy as np

from .. import threads as _threads
from ..backend import as_strided, contiguous
from ..errors import ShapeError

Pads = tuple[tuple[int, int], tuple[int, int]]


# --------------------------------------------------------------- threads
# The thread policy lives in scratchnn.threads; these names stay importable from here.
set_num_threads = _threads.set_num_threads
get_num_threads = _threads.get_num_threads
batch_parallel = _threads.batch_parallel


# ------------------------------------------------------------------ sizes
def conv_output_size(size: int, kernel: int, stride: int = 1, pad: tuple[int, int] = (0, 0),
                     dilation: int = 1) -> int:
    """H_out = (H + p_lo + p_hi - d (k - 1) - 1) // s + 1; may be <= 0 for too small inputs."""
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """Padding (lo, hi) keeping the size at stride 1: total d (k - 1), the odd one at the end (as PyTorch)."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def check_window_fits(op: str, spatial: tuple[int, ...], kernel: tuple[int, ...],
                      pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...]) -> None:
    """Raise :class:`ShapeError` when the (dilated) kernel is larger than the padded input."""
    for axis, (n, k, p, d) in enumerate(zip(spatial, kernel, pads, dilation)):
        span = d * (k - 1) + 1
        if n + p[0] + p[1] < span:
            name = "HW"[axis] if len(spatial) == 2 else "L"
            raise ShapeError(
                f"{op}: the kernel spans {span} along {name} (kernel {k}, dilation {d}) but the padded "
                f"input has only {n + p[0] + p[1]} (size {n} + padding {p[0]}+{p[1]}). Use a smaller "
                "kernel, more padding, or padding='same', or remove a pooling layer before it.")


# ----------------------------------------------------------- layout helpers
def to_nhwc(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, H, W, C); a view, contiguous when ``x`` is a view of NHWC memory."""
    return x.transpose(0, 2, 3, 1)


def to_nchw(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, C, H, W) as a view (no copy)."""
    return x.transpose(0, 3, 1, 2)


def pad_nhwc(xh: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad H and W of an NHWC array; returns ``xh`` itself when no padding is asked for."""
    (t, b), (left, r) = pads
    if t == b == left == r == 0:
        return xh
    n, h, w, c = xh.shape
    out = np.empty((n, h + t + b, w + left + r, c), dtype=xh.dtype, like=xh)
    if value == 0.0:
        out[:, :t] = 0
        out[:, h + t:] = 0
        out[:, t:h + t, :left] = 0
        out[:, t:h + t, w + left:] = 0
    else:
        out.fill(value)
    out[:, t:h + t, left:w + left] = xh
    return out


def window_view(xp: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """Read-only strided view (N, Ho, Wo, kh, kw, C) of the windows of padded NHWC ``xp``."""
    sn, sh, sw, sc = xp.strides
    n, _, _, c = xp.shape
    return as_strided(xp, shape=(n, out_hw[0], out_hw[1], kernel[0], kernel[1], c),
                      strides=(sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc),
                      writeable=False)


# ---------------------------------------------------------------- im2col
#: Samples per slice of the batch are chosen so that a slice's ``cols`` holds about this
#: many bytes: small enough to stay in the CPU's cache between being written by im2col
#: and read by the matrix product (or, backward, between the product and col2im), large
#: enough for the BLAS to run near its peak. Measured on the benchmark CNN (1 thread): 64 KiB
#: to 4 MiB all within about 10 % of each other, whole-batch products 20 % (forward) and
#: 35 % (backward) slower; on 2 threads, a whole training step with 2 MiB slices took 8 %
#: less time than with 512 KiB (median of 10 x 10 steps, 52.9 vs 57.4 ms; 256 KiB and
#: 4 MiB slower). Fewer, larger slices also mean fewer hand-overs between the threads.
CHUNK_BYTES = 1 << 21


def _samples_per_chunk(rows_per_sample: int, row_bytes: int) -> int:
    return max(1, CHUNK_BYTES // max(1, rows_per_sample * row_bytes))


def _unfold_into(out: np.ndarray, xh: np.ndarray, kernel, stride, pads, dilation, out_hw,
                 ones_column: bool) -> None:
    """im2col of the samples of NHWC ``xh`` into ``out`` (len(xh)·Ho·Wo, kh·kw·C [+ 1])."""
    n, c = xh.shape[0], xh.shape[3]
    k = kernel[0] * kernel[1] * c
    six = out.reshape(n, out_hw[0], out_hw[1], out.shape[1])
    np.copyto(six[..., :k].reshape(n, out_hw[0], out_hw[1], kernel[0], kernel[1], c),
              window_view(pad_nhwc(xh, pads), kernel, stride, dilation, out_hw))
    if ones_column:
        six[..., k] = 1


def im2col(xh: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], pads: Pads,
           dilation: tuple[int, int], ones_column: bool = False) -> tuple[np.ndarray, tuple[int, int]]:
    """Unfold NHWC ``xh`` into ``cols`` of shape (N·Ho·Wo, kh·kw·C), rows in (n, h, w) order.

    Column order is (i, j, c): kernel row, kernel column, channel. One copy. With
    ``ones_column`` a last column of ones is appended (then ``cols · [Wm; b]`` adds the
    bias inside the matrix product, and ``colsᵀ · dy`` yields db as its last row).
    """
    n, h, w, c = xh.shape
    ho = conv_output_size(h, kernel[0], stride[0], pads[0], dilation[0])
    wo = conv_output_size(w, kernel[1], stride[1], pads[1], dilation[1])
    rows = ho * wo
    cols = np.empty((n * rows, kernel[0] * kernel[1] * c + int(ones_column)), dtype=xh.dtype, like=xh)

    def work(lo, hi):
        _unfold_into(cols[lo * rows:hi * rows], xh[lo:hi], kernel, stride, pads, dilation, (ho, wo),
                     ones_column)

    batch_parallel(work, n)
    return cols, (ho, wo)


def _fold_into(dxp: np.ndarray, d6: np.ndarray, stride, dilation) -> None:
    """Add the (n, Ho, Wo, kh, kw, C) columns ``d6`` onto the padded NHWC ``dxp`` (overwritten).

    One slice-add per kernel offset (i, j), no ``np.add.at``.
    """
    _, ho, wo, kh, kw, _ = d6.shape
    sh, sw = stride
    dh, dw = dilation
    dxp.fill(0)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            dxp[:, rows, cols] += d6[:, :, :, i, j]


def col2im(dcols: np.ndarray, x_shape: tuple[int, int, int, int], kernel: tuple[int, int],
           stride: tuple[int, int], pads: Pads, dilation: tuple[int, int],
           out_hw: tuple[int, int]) -> np.ndarray:
    """The adjoint of :func:`im2col`: sum every column back onto the NHWC input it came from.

    ``x_shape`` is the unpadded NHWC shape. One slice-add per kernel offset (i, j).
    """
    n, h, w, c = x_shape
    (t, b), (left, r) = pads
    d6 = dcols.reshape(n, out_hw[0], out_hw[1], kernel[0], kernel[1], c)
    dxp = np.empty((n, h + t + b, w + left + r, c), dtype=dcols.dtype, like=dcols)
    batch_parallel(lambda lo, hi: _fold_into(dxp[lo:hi], d6[lo:hi], stride, dilation), n)
    return dxp[:, t:t + h, left:left + w]


# ------------------------------------------------------------- convolution
# Both passes walk the batch in slices of a few samples (CHUNK_BYTES), each slice doing
# all of its steps while its data is still in the CPU's cache, instead of one pass over
# the whole batch per step (im2col, product, bias; product, product, col2im). The slices
# are shared among threads (scratchnn.threads.batch_parallel), each running its products
# on a one-thread BLAS, so both cores work on every step, memory-bound ones included.
# Measured on the benchmark CNN's 32 -> 64 convolution (batch 128, one thread): forward
# 13.6 ms sliced vs 16.5 ms whole-batch, backward 32.0 vs 43.4 ms. The slices are fixed by
# the batch shape, never by the thread count, so results do not depend on the number of
# threads.
def conv2d_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: tuple[int, int] = (1, 1),
                   pads: Pads = ((0, 0), (0, 0)), dilation: tuple[int, int] = (1, 1),
                   keep_cols: bool = True) -> tuple[np.ndarray, tuple]:
    """y[n, o] = b[o] + Σ_c Σ_ij W[o, c, i, j] · x_pad[n, c, h·s + i·d, w·s + j·d].

    Args:
        x: (N, C_in, H, W). W: (C_out, C_in, kh, kw) (PyTorch's layout). b: (C_out,) or None.
        stride, dilation: per axis. pads: ((top, bottom), (left, right)).
        keep_cols: keep the unfolded input for :func:`conv2d_backward` (training). Without
            it (inference) only a small per-slice buffer is used and backward unfolds again.

    Returns:
        ``(y, cache)``: y (N, C_out, Ho, Wo) — a view of an NHWC buffer — and what
        :func:`conv2d_backward` needs.
    """
    c_out, c_in, kh, kw = W.shape
    xh = to_nhwc(x)
    n, h, w, _ = xh.shape
    ho = conv_output_size(h, kh, stride[0], pads[0], dilation[0])
    wo = conv_output_size(w, kw, stride[1], pads[1], dilation[1])
    rows, k = ho * wo, kh * kw * c_in
    # With few columns (the first layer of an image model) the bias rides in the matrix
    # product on a column of ones: cheaper than separate passes for y += b and db = sum(dy).
    bias_in_cols = b is not None and k < 32
    kc = k + int(bias_in_cols)
    wm = W.transpose(2, 3, 1, 0).reshape(k, c_out)
    wmb = np.concatenate([wm, b[None, :]]) if bias_in_cols else contiguous(wm)
    cols = np.empty((n * rows, kc), dtype=x.dtype, like=x) if keep_cols else None
    y2 = np.empty((n * rows, c_out), dtype=x.dtype, like=x)
    per = _samples_per_chunk(rows, kc * x.dtype.itemsize)
    geometry = ((kh, kw), stride, pads, dilation, (ho, wo))

    def work(lo, hi):
        scratch = None if keep_cols else np.empty((per * rows, kc), dtype=x.dtype, like=x)
        for s in range(lo * per, min(n, hi * per), per):
            e = min(n, s + per)
            c = cols[s * rows:e * rows] if keep_cols else scratch[:(e - s) * rows]
            _unfold_into(c, xh[s:e], *geometry, bias_in_cols)
            out = y2[s * rows:e * rows]
            np.matmul(c, wmb, out=out)
            if b is not None and not bias_in_cols:
                out += b  # while the slice is in cache: no separate pass over y

    batch_parallel(work, -(-n // per), min_rows=1, grain=1)
    y = to_nchw(y2.reshape(n, ho, wo, c_out))
    bias = "cols" if bias_in_cols else ("sum" if b is not None else None)
    return y, (cols, xh, wmb, W.shape, geometry, bias)


def conv2d_backward(dy: np.ndarray, cache: tuple, need_dx: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv2d_forward` for upstream ``dy`` (N, C_out, Ho, Wo).

    dWm = colsᵀ · dy,  db = Σ_{n,h,w} dy,  dx = col2im(dy · Wmᵀ). Returns (dx, dW, db);
    dx is None when ``need_dx`` is False, db is None without a bias.
    """
    cols, xh, wmb, w_shape, geometry, bias = cache
    c_out, c_in, kh, kw = w_shape
    _, stride, pads, dilation, (ho, wo) = geometry
    n, h, w, _ = xh.shape
    rows, k, kc = ho * wo, kh * kw * c_in, wmb.shape[0]
    (t, b), (left, r) = pads
    dyh = to_nhwc(dy)
    wmT = contiguous(wmb[:k].T)
    per = _samples_per_chunk(rows, kc * dy.dtype.itemsize)
    chunks = -(-n // per)
    # One partial dWm (and db) per slice, summed in slice order afterwards: the same sum
    # whatever thread computed which slice.
    dwm_parts = np.empty((chunks, kc, c_out), dtype=dy.dtype, like=dy)
    db_parts = np.empty((chunks, c_out), dtype=dy.dtype, like=dy) if bias == "sum" else None
    dxp = np.empty((n, h + t + b, w + left + r, c_in), dtype=dy.dtype, like=dy) if need_dx else None

    def work(lo, hi):
        scratch = None if cols is not None else np.empty((per * rows, kc), dtype=dy.dtype, like=dy)
        dcols = np.empty((per * rows, k), dtype=dy.dtype, like=dy) if need_dx else None
        for j in range(lo, hi):
            s, e = j * per, min(n, (j + 1) * per)
            m = (e - s) * rows
            if cols is not None:
                c = cols[s * rows:e * rows]
            else:  # the forward pass ran in inference mode: unfold this slice again
                c = scratch[:m]
                _unfold_into(c, xh[s:e], *geometry, bias == "cols")
            g = dyh[s:e].reshape(m, c_out)  # a view when dy is NHWC memory (as the layers pass it)
            np.matmul(c.T, g, out=dwm_parts[j])
            if db_parts is not None:
                np.sum(g, axis=0, out=db_parts[j])
            if need_dx:
                np.matmul(g, wmT, out=dcols[:m])
                _fold_into(dxp[s:e], dcols[:m].reshape(e - s, ho, wo, kh, kw, c_in), stride, dilation)

    batch_parallel(work, chunks, min_rows=1, grain=1)
    dwm = dwm_parts.sum(axis=0)
    dW = dwm[:k].reshape(kh, kw, c_in, c_out).transpose(3, 2, 0, 1)
    db = dwm[k] if bias == "cols" else (db_parts.sum(axis=0) if bias == "sum" else None)
    if not need_dx:
        return None, dW, db
    return to_nchw(dxp[:, t:t + h, left:left + w]), dW, db


# ----------------------------------------------------------------- pooling
def _pool_windows(x: np.ndarray, kernel, stride, pads, fill: float):
    xh = to_nhwc(x)
    _n, h, w, _c = xh.shape
    ho = conv_output_size(h, kernel[0], stride[0], pads[0])
    wo = conv_output_size(w, kernel[1], stride[1], pads[1])
    xp = pad_nhwc(xh, pads, fill)
    return window_view(xp, kernel, stride, (1, 1), (ho, wo)), xh.shape, (ho, wo)


def _fast_2x2(x: np.ndarray, kernel, stride, pads) -> bool:
    return (tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and pads == ((0, 0), (0, 0))
            and x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0)


def maxpool2d_forward(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                      pads: Pads = ((0, 0), (0, 0)), need_grad: bool = True) -> tuple[np.ndarray, tuple]:
    """y[n, c, h, w] = max over the window at (h·s, w·s) of x padded with -inf.

    Ties: the gradient goes to the **first** maximum of each window in row-major
    order, exactly as PyTorch, so it is never counted twice. The common 2x2,
    stride-2 case uses a reshape (N, H/2, 2, W/2, 2, C) instead of a window copy.
    Returns ``(y, cache)``; y is (N, C, Ho, Wo). With ``need_grad=False`` (inference) the
    fast path skips what only the backward pass needs.
    """
    xh = to_nhwc(x)
    if _fast_2x2(x, kernel, stride, pads):
        n, h, w, c = xh.shape
        r = xh.reshape(n, h // 2, 2, w // 2, 2, c)
        yh = np.empty((n, h // 2, w // 2, c), dtype=x.dtype, like=x)
        # The backward pass needs only which element of each window won: kept as a
        # boolean mask in x's own layout, so that backward is one multiplication
        # (dx = mask * dy broadcast over each window) instead of recombining the three
        # comparisons into four masks at every step.
        wins = np.empty(r.shape if need_grad else (0,), dtype=bool, like=x)
        per = _samples_per_chunk(h * w, c * x.dtype.itemsize)

        def work(lo, hi):  # slices of a few samples: the temporaries stay in cache
            for s_ in range(lo * per, min(n, hi * per), per):
                q = r[s_:s_ + per]
                a, b_, c_, d_ = q[:, :, 0, :, 0], q[:, :, 0, :, 1], q[:, :, 1, :, 0], q[:, :, 1, :, 1]
                top = np.maximum(a, b_)
                bottom = np.maximum(c_, d_)
                np.maximum(top, bottom, out=yh[s_:s_ + per])
                if not need_grad:
                    continue
                # The first maximum in (a, b, c, d) order wins: b only if b > a, d only
                # if d > c, the bottom pair only if it is strictly larger than the top pair.
                m = wins[s_:s_ + per]
                b_beats_a, d_beats_c, bottom_wins = b_ > a, d_ > c_, bottom > top
                np.logical_or(b_beats_a, bottom_wins, out=m[:, :, 0, :, 0])
                np.logical_not(m[:, :, 0, :, 0], out=m[:, :, 0, :, 0])           # a
                np.greater(b_beats_a, bottom_wins, out=m[:, :, 0, :, 1])          # b and not bottom
                np.greater(bottom_wins, d_beats_c, out=m[:, :, 1, :, 0])          # bottom and not d
                np.logical_and(bottom_wins, d_beats_c, out=m[:, :, 1, :, 1])      # d

        batch_parallel(work, -(-n // per), min_rows=1, grain=1)
        return to_nchw(yh), ("fast", wins, xh.shape)
    win, x_shape, (ho, wo) = _pool_windows(x, kernel, stride, pads, -np.inf)
    n, _, _, kh, kw, c = win.shape
    flat = win.transpose(0, 1, 2, 5, 3, 4).reshape(n, ho, wo, c, kh * kw)
    idx = np.argmax(flat, axis=-1)  # the first maximum on ties
    yh = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    return to_nchw(yh), ("general", idx, x_shape, kernel, stride, pads, (ho, wo))


def maxpool2d_backward(dy: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dy routed to the (first) argmax of each window, summed where windows overlap."""
    dyh = to_nhwc(dy)
    if cache[0] == "fast":
        _, wins, (n, h, w, c) = cache
        dxh = np.empty(wins.shape, dtype=dy.dtype, like=dy)
        g = dyh.reshape(n, h // 2, 1, w // 2, 1, c)

        def work(lo, hi):
            np.multiply(wins[lo:hi], g[lo:hi], out=dxh[lo:hi])

        batch_parallel(work, n)
        return to_nchw(dxh.reshape(n, h, w, c))
    _, idx, x_shape, kernel, stride, pads, out_hw = cache
    kh, kw = kernel
    cols = np.zeros(dyh.shape + (kh * kw,), dtype=dy.dtype, like=dy)
    np.put_along_axis(cols, idx[..., None], dyh[..., None], axis=-1)
    cols = cols.reshape(dyh.shape + (kh, kw)).transpose(0, 1, 2, 4, 5, 3)
    return to_nchw(col2im(cols, x_shape, kernel, stride, pads, (1, 1), out_hw))


def avgpool2d_forward(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                      pads: Pads = ((0, 0), (0, 0))) -> tuple[np.ndarray, tuple]:
    """y = mean of each window, zero padding counted in the divisor (PyTorch's default,
    ``count_include_pad=True``). Returns ``(y, cache)``."""
    kh, kw = kernel
    if _fast_2x2(x, kernel, stride, pads):
        xh = to_nhwc(x)
        n, h, w, c = xh.shape
        yh = xh.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4), dtype=x.dtype)
        return to_nchw(yh), (xh.shape, kernel, stride, pads, (h // 2, w // 2))
    win, x_shape, out_hw = _pool_windows(x, kernel, stride, pads, 0.0)
    yh = win.sum(axis=(3, 4), dtype=x.dtype)
    yh *= x.dtype.type(1.0 / (kh * kw))
    return to_nchw(yh), (x_shape, kernel, stride, pads, out_hw)


def avgpool2d_backward(dy: np.ndarray, cache: tuple) -> np.ndarray:
    """dx: each window's dy / (kh·kw) spread evenly over the window (summed on overlaps)."""
    x_shape, kernel, stride, pads, out_hw = cache
    kh, kw = kernel
    g = to_nhwc(dy) * dy.dtype.type(1.0 / (kh * kw))
    n, ho, wo, c = g.shape
    cols = np.broadcast_to(g[:, :, :, None, None, :], (n, ho, wo, kh, kw, c))
    return to_nchw(col2im(cols, x_shape, kernel, stride, pads, (1, 1), out_hw))

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

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import ConfigError, ShapeError

Pads = tuple[tuple[int, int], tuple[int, int]]


# --------------------------------------------------------------- threads
# NumPy's element-wise work (copies, additions, comparisons) runs on one core while
# its matrix products use every BLAS thread. The memory-bound steps below are
# therefore split over the batch axis and run in a small thread pool (NumPy
# releases the GIL inside these loops), by default with as many threads as the
# BLAS (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, else the CPU count, at most 8).
_threads: dict = {"n": None, "pool": None}


def set_num_threads(n: int | None) -> None:
    """Threads for the element-wise parts of convolution and pooling (None: the default)."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ConfigError(f"set_num_threads: n must be a positive integer or None. Received: n={n!r}")
    _threads["n"] = n


def get_num_threads() -> int:
    """The number of threads :func:`batch_parallel` uses."""
    if _threads["n"] is not None:
        return _threads["n"]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return min(int(value), 8)
    return max(1, min(os.cpu_count() or 1, 8))


def batch_parallel(fn: Callable[[int, int], None], n: int, min_rows: int = 8) -> None:
    """Call ``fn(lo, hi)`` on consecutive slices of ``range(n)``, in parallel threads.

    ``fn`` must only write to its own slice. Small batches run in the calling thread.
    """
    parts = min(get_num_threads(), n // min_rows)
    if parts <= 1:
        fn(0, n)
        return
    pool, pid, size = _threads["pool"] or (None, None, 0)
    if pool is None or pid != os.getpid() or size < parts - 1:  # (a forked child has no workers)
        pool = ThreadPoolExecutor(max_workers=parts - 1, thread_name_prefix="scratchnn")
        _threads["pool"] = (pool, os.getpid(), parts - 1)
    bounds = [n * i // parts for i in range(parts + 1)]
    futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    fn(bounds[0], bounds[1])
    for f in futures:
        f.result()


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
    out = np.empty((n, h + t + b, w + left + r, c), dtype=xh.dtype)
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
    k = kernel[0] * kernel[1] * c
    buf = np.empty((n, ho, wo, k + int(ones_column)), dtype=xh.dtype)
    cols = buf[..., :k].reshape(n, ho, wo, kernel[0], kernel[1], c)

    def work(lo, hi):
        xp = pad_nhwc(xh[lo:hi], pads)
        np.copyto(cols[lo:hi], window_view(xp, kernel, stride, dilation, (ho, wo)))
        if ones_column:
            buf[lo:hi, ..., k] = 1

    batch_parallel(work, n)
    return buf.reshape(n * ho * wo, buf.shape[-1]), (ho, wo)


def col2im(dcols: np.ndarray, x_shape: tuple[int, int, int, int], kernel: tuple[int, int],
           stride: tuple[int, int], pads: Pads, dilation: tuple[int, int],
           out_hw: tuple[int, int]) -> np.ndarray:
    """The adjoint of :func:`im2col`: sum every column back onto the NHWC input it came from.

    ``x_shape`` is the unpadded NHWC shape. One slice-add per kernel offset (i, j).
    """
    n, h, w, c = x_shape
    (t, b), (left, r) = pads
    ho, wo = out_hw
    kh, kw = kernel
    d6 = dcols.reshape(n, ho, wo, kh, kw, c)
    dxp = np.zeros((n, h + t + b, w + left + r, c), dtype=dcols.dtype)
    sh, sw = stride
    dh, dw = dilation

    def work(lo, hi):
        for i in range(kh):
            for j in range(kw):
                hs, ws = i * dh, j * dw
                rows, cols = slice(hs, hs + sh * (ho - 1) + 1, sh), slice(ws, ws + sw * (wo - 1) + 1, sw)
                dxp[lo:hi, rows, cols] += d6[lo:hi, :, :, i, j]

    batch_parallel(work, n)
    return dxp[:, t:t + h, left:left + w]


# ------------------------------------------------------------- convolution
def conv2d_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: tuple[int, int] = (1, 1),
                   pads: Pads = ((0, 0), (0, 0)), dilation: tuple[int, int] = (1, 1)
                   ) -> tuple[np.ndarray, tuple]:
    """y[n, o] = b[o] + Σ_c Σ_ij W[o, c, i, j] · x_pad[n, c, h·s + i·d, w·s + j·d].

    Args:
        x: (N, C_in, H, W). W: (C_out, C_in, kh, kw) (PyTorch's layout). b: (C_out,) or None.
        stride, dilation: per axis. pads: ((top, bottom), (left, right)).

    Returns:
        ``(y, cache)``: y (N, C_out, Ho, Wo) — a view of an NHWC buffer — and what
        :func:`conv2d_backward` needs.
    """
    c_out, c_in, kh, kw = W.shape
    xh = to_nhwc(x)
    k = kh * kw * c_in
    # With few columns (the first layer of an image model) the bias rides in the matrix
    # product on a column of ones: cheaper than separate passes for y += b and db = sum(dy).
    bias_in_cols = b is not None and k < 32
    cols, (ho, wo) = im2col(xh, (kh, kw), stride, pads, dilation, ones_column=bias_in_cols)
    wm = W.transpose(2, 3, 1, 0).reshape(k, c_out)
    if bias_in_cols:
        y2 = cols @ np.concatenate([wm, b[None, :]])
    else:
        y2 = cols @ wm
    if b is not None and not bias_in_cols:
        rows = ho * wo

        def add_bias(lo, hi):
            y2[lo * rows:hi * rows] += b

        batch_parallel(add_bias, x.shape[0])
    y = to_nchw(y2.reshape(x.shape[0], ho, wo, c_out))
    bias = "cols" if bias_in_cols else ("sum" if b is not None else None)
    return y, (cols, wm, xh.shape, W.shape, stride, pads, dilation, (ho, wo), bias)


def conv2d_backward(dy: np.ndarray, cache: tuple, need_dx: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv2d_forward` for upstream ``dy`` (N, C_out, Ho, Wo).

    dWm = colsᵀ · dy,  db = Σ_{n,h,w} dy,  dx = col2im(dy · Wmᵀ). Returns (dx, dW, db);
    dx is None when ``need_dx`` is False, db is None without a bias.
    """
    cols, wm, x_shape, w_shape, stride, pads, dilation, out_hw, bias = cache
    c_out, c_in, kh, kw = w_shape
    k = kh * kw * c_in
    dy2 = to_nhwc(dy).reshape(-1, c_out)  # a view when dy is NHWC memory, else one copy
    dwm = cols.T @ dy2
    dW = dwm[:k].reshape(kh, kw, c_in, c_out).transpose(3, 2, 0, 1)
    db = dwm[k] if bias == "cols" else (dy2.sum(axis=0) if bias == "sum" else None)
    if not need_dx:
        return None, dW, db
    dcols = dy2 @ wm.T
    dxh = col2im(dcols, x_shape, (kh, kw), stride, pads, dilation, out_hw)
    return to_nchw(dxh), dW, db


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
        a, b_, c_, d_ = r[:, :, 0, :, 0], r[:, :, 0, :, 1], r[:, :, 1, :, 0], r[:, :, 1, :, 1]
        yh = np.empty((n, h // 2, w // 2, c), dtype=x.dtype)
        # The first maximum in (a, b, c, d) order wins: b only if b > a, d only if d > c,
        # the bottom pair only if it is strictly larger than the top pair.
        choice = tuple(np.empty(yh.shape if need_grad else (0,), dtype=bool) for _ in range(3))

        def work(lo, hi):
            s_ = slice(lo, hi)
            top = np.maximum(a[s_], b_[s_])
            bottom = np.maximum(c_[s_], d_[s_])
            np.maximum(top, bottom, out=yh[s_])
            if not need_grad:
                return
            np.greater(b_[s_], a[s_], out=choice[0][s_])
            np.greater(d_[s_], c_[s_], out=choice[1][s_])
            np.greater(bottom, top, out=choice[2][s_])

        batch_parallel(work, n)
        return to_nchw(yh), ("fast", choice, xh.shape)
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
        _, (b_wins, d_wins, bottom_wins), (n, h, w, c) = cache
        dxh = np.empty((n, h // 2, 2, w // 2, 2, c), dtype=dy.dtype)

        def work(lo, hi):
            s_ = slice(lo, hi)
            g, out, top = dyh[s_], dxh[s_], ~bottom_wins[s_]
            # a wins if the top pair wins and b does not beat a; and so on
            np.multiply(g, np.greater(top, b_wins[s_]), out=out[:, :, 0, :, 0])
            np.multiply(g, top & b_wins[s_], out=out[:, :, 0, :, 1])
            np.multiply(g, np.greater(bottom_wins[s_], d_wins[s_]), out=out[:, :, 1, :, 0])
            np.multiply(g, bottom_wins[s_] & d_wins[s_], out=out[:, :, 1, :, 1])

        batch_parallel(work, n)
        return to_nchw(dxh.reshape(n, h, w, c))
    _, idx, x_shape, kernel, stride, pads, out_hw = cache
    kh, kw = kernel
    cols = np.zeros(dyh.shape + (kh * kw,), dtype=dy.dtype)
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

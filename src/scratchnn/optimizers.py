"""Optimizers: update parameters in place from their gradients.

An optimizer sees only ``(key, param, grad)`` triples, where ``key`` names the
parameter uniquely in the model (``"3/W"``: parameter ``W`` of layer 3). Its
per-parameter state (momentum buffers, moment estimates) lives in
``optimizer.state[key]`` and is saved with the model.

Common arguments of every optimizer:

- ``lr``: a learning rate (> 0) or a :class:`~scratchnn.schedules.Schedule`
  called with the number of steps taken so far.
- ``weight_decay``: L2 regularisation coefficient lambda (adds lambda * p to the
  gradient, i.e. lambda/2 ||p||^2 to the loss), as PyTorch's ``weight_decay``.
  :class:`AdamW` applies it decoupled instead.
- ``l1``: L1 regularisation coefficient (adds l1 * sign(p) to the gradient).
- ``clip_norm``: if set, all gradients are scaled together so that their global
  L2 norm is at most ``clip_norm`` (before regularisation), as
  ``torch.nn.utils.clip_grad_norm_``.

Each update rule below matches PyTorch's ``torch.optim`` class of the same name
with the same defaults (checked in ``tests/reference``).

**Fused updates.** Every rule is element-wise, so a model that keeps all its parameters in
one flat buffer (:class:`~scratchnn.Model` does) is updated by :meth:`Optimizer.step_flat`
with the same ``_update`` code applied once to the whole buffer: a handful of vectorised
passes over all the weights instead of a Python loop over tensors, each pass paying its
overhead once. The state lives in flat buffers too; ``optimizer.state[key]`` holds views into
them, so saving and loading see the same per-parameter arrays as before.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable

import numpy as np

from . import checks
from .errors import ConfigError
from .registry import register_optimizer
from .schedules import Schedule, schedule_from_config, schedule_to_config
from .threads import batch_parallel

#: Fused updates of flat buffers with at least twice this many elements are split among
#: the threads (:func:`~scratchnn.threads.batch_parallel`); smaller ones are not worth waking them.
SPLIT_MIN_SIZE = 1 << 17

ParamTriple = tuple[str, np.ndarray, np.ndarray]


def _number(cls: str, name: str, value, low: float = 0.0, high: float = math.inf,
            low_open: bool = False, high_open: bool = False) -> float:
    lo, hi = "(" if low_open else "[", ")" if high_open else "]"
    return checks.number(cls, name, value, low, high, low_open, high_open,
                         what=f"a finite number in {lo}{low}, {high}{hi}")


class Optimizer:
    """Base class. Subclasses implement :meth:`_update` for one parameter."""

    #: Names of the per-parameter state arrays, in order.
    slots: tuple[str, ...] = ()

    def __init__(self, lr: float | Schedule = 0.01, *, weight_decay: float = 0.0,
                 l1: float = 0.0, clip_norm: float | None = None) -> None:
        name = type(self).__name__
        self.lr: float | Schedule
        if isinstance(lr, Schedule):
            self.lr = lr
        else:
            self.lr = _number(name, "lr", lr, low_open=True)
        self.weight_decay = _number(name, "weight_decay", weight_decay)
        self.l1 = _number(name, "l1", l1)
        self.clip_norm = None if clip_norm is None else _number(name, "clip_norm", clip_norm, low_open=True)
        self.iterations = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}
        #: Flat state buffers (slot -> array) for :meth:`step_flat`, and the layout they follow.
        self._flat_state: dict[str, np.ndarray] | None = None
        self._flat_layout: tuple | None = None
        #: The global gradient norm measured at the last step (when clipping).
        self.last_grad_norm: float | None = None

    # -------------------------------------------------------------------- lr
    @property
    def current_lr(self) -> float:
        """The learning rate the next step will use."""
        return float(self.lr(self.iterations)) if isinstance(self.lr, Schedule) else self.lr

    def set_lr(self, lr: float) -> None:
        """Replace the learning rate (used by callbacks such as ReduceLROnPlateau)."""
        self.lr = _number(type(self).__name__, "lr", lr, low_open=True)

    # ------------------------------------------------------------------ step
    def step(self, params: Iterable[ParamTriple]) -> None:
        """Apply one update to every ``(key, param, grad)``; params change in place."""
        params = list(params)
        if self.clip_norm is not None:
            clip_grad_norm([g for _, _, g in params], self.clip_norm, self)
        lr = self.current_lr
        self.iterations += 1
        for key, p, g in params:
            state = self.state.get(key)
            if state is None:
                state = self.state[key] = self._init_state(p)
            if self.l1:
                g = g + p.dtype.type(self.l1) * np.sign(p)
            self._update(p, g, lr, state)

    def step_flat(self, flat_params: np.ndarray, flat_grads: np.ndarray,
                  layout: list[tuple[str, int, tuple[int, ...]]]) -> None:
        """One fused update of a whole model kept in one flat buffer.

        ``layout`` lists ``(key, offset, shape)`` of every parameter inside ``flat_params``
        (and ``flat_grads``), as :class:`~scratchnn.Model` builds it. The result equals
        :meth:`step` on the per-parameter views, element for element.
        """
        if self.clip_norm is not None:
            clip_grad_norm([flat_grads], self.clip_norm, self)
        lr = self.current_lr
        self.iterations += 1
        state = self._flat_state_for(flat_params, layout)
        g = flat_grads
        if self.l1:
            g = g + flat_params.dtype.type(self.l1) * np.sign(flat_params)
        before = set(state)
        self._update_split(flat_params, g, lr, state)
        if set(state) != before:  # a slot created lazily (SGD's momentum buffer): expose its views
            self._expose(state, layout)

    def _update_split(self, p: np.ndarray, g: np.ndarray, lr: float, state: dict[str, np.ndarray]) -> None:
        """:meth:`_update` on consecutive slices of the flat buffers, in parallel threads.

        The update is element-wise, so each slice is updated exactly as the whole would be
        (bit for bit); NumPy releases the GIL inside its loops, so two slices take about half
        the time of one pass when the model is larger than :data:`SPLIT_MIN_SIZE` elements.
        A slot that :meth:`_update` creates lazily inside the slices (SGD's momentum buffer)
        is put together from them afterwards.
        """
        if type(p) is not np.ndarray or p.size < 2 * SPLIT_MIN_SIZE:
            # a device's arrays (CuPy: the device runs it in parallel already), or a model
            # too small to share: one update, without the slicing below on every step
            self._update(p, g, lr, state)
            return
        parts: list[tuple[int, dict[str, np.ndarray]]] = []

        def update(lo: int, hi: int) -> None:
            piece = {slot: buf[lo:hi] for slot, buf in state.items()}
            parts.append((lo, piece))
            self._update(p[lo:hi], g[lo:hi], lr, piece)

        batch_parallel(update, p.size, min_rows=SPLIT_MIN_SIZE)
        parts.sort(key=lambda part: part[0])
        for slot in set(parts[0][1]) - set(state):
            state[slot] = np.concatenate([piece[slot] for _, piece in parts])

    def _flat_state_for(self, flat: np.ndarray, layout) -> dict[str, np.ndarray]:
        """The flat state buffers for ``layout``, made on first use from any per-key state
        (a loaded model's) or from :meth:`_init_state`."""
        if self._flat_state is not None and self._flat_layout is not None \
                and self._flat_layout[0] is layout and self._flat_layout[1] is flat:
            return self._flat_state  # the common case: the same model's buffers, step after step
        slots = set(self._init_state(flat[:0]))
        for k, _, _ in layout:
            slots |= set(self.state.get(k, {}))
        state = {}
        for slot in sorted(slots):
            buf = np.zeros_like(flat)
            for k, off, shape in layout:
                size = math.prod(shape)
                if slot in self.state.get(k, {}):
                    buf[off:off + size] = self.state[k][slot].reshape(-1)
            state[slot] = buf
        self._expose(state, layout)
        self._flat_state, self._flat_layout = state, (layout, flat)
        return state

    def _expose(self, state: dict[str, np.ndarray], layout) -> None:
        for k, off, shape in layout:
            size = math.prod(shape)
            self.state[k] = {slot: buf[off:off + size].reshape(shape) for slot, buf in state.items()}

    def _init_state(self, p: np.ndarray) -> dict[str, np.ndarray]:
        return {slot: np.zeros_like(p) for slot in self.slots}

    def _scratch(self, p: np.ndarray) -> np.ndarray:
        """A work buffer shaped like ``p`` (shared by parameters of one shape; not state)."""
        buffers = self.__dict__.setdefault("_scratch_buffers", {})
        key = (p.shape, p.dtype.str, threading.get_ident())  # one per thread: slices update in parallel
        buf = buffers.get(key)
        if buf is None:
            buf = buffers[key] = np.empty_like(p)
        return buf

    def _decayed(self, p, g):
        """g + weight_decay * p (coupled L2), without touching g in place."""
        return g + p.dtype.type(self.weight_decay) * p if self.weight_decay else g

    def _update(self, p: np.ndarray, g: np.ndarray, lr: float, state: dict) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict:
        lr = schedule_to_config(self.lr) if isinstance(self.lr, Schedule) else self.lr
        return {"lr": lr, "weight_decay": self.weight_decay, "l1": self.l1, "clip_norm": self.clip_norm}

    @classmethod
    def from_config(cls, config: dict) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("lr"), dict):
            config["lr"] = schedule_from_config(config["lr"])
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def clip_grad_norm(grads: list[np.ndarray], max_norm: float, optimizer: Optimizer | None = None) -> float:
    """Scale ``grads`` in place so their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping: ||g|| = sqrt(sum_i sum(g_i^2)). Every g_i is
    multiplied by min(1, max_norm / (||g|| + 1e-6)), exactly as
    ``torch.nn.utils.clip_grad_norm_`` (so a norm within 1e-6 of max_norm is scaled too).
    """
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if optimizer is not None:
        optimizer.last_grad_norm = total
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for g in grads:
            g *= g.dtype.type(scale)
    return total


@register_optimizer
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and Nesterov momentum.

    Without momentum: p <- p - lr g.
    With momentum mu: b <- mu b + g (b = g at the first step), then
    p <- p - lr b, or with ``nesterov=True`` p <- p - lr (g + mu b).

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> opt = sn.optimizers.SGD(lr=0.1, momentum=0.9)
        >>> p = np.array([1.0])
        >>> for _ in range(2):
        ...     opt.step([("0/w", p, np.array([1.0]))])   # b = 1, then b = 1.9
        >>> p.round(6).tolist()
        [0.71]
    """

    slots = ("momentum_buffer",)

    def __init__(self, lr: float | Schedule = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.momentum = _number("SGD", "momentum", momentum, high=1.0, high_open=True)
        if nesterov and self.momentum == 0:
            raise ConfigError("SGD: nesterov=True needs momentum > 0. Received: momentum=0")
        self.nesterov = bool(nesterov)

    def _init_state(self, p):
        return {}  # the momentum buffer starts as the first gradient, as in PyTorch

    def _update(self, p, g, lr, state):
        g = self._decayed(p, g)
        if self.momentum:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = g.copy()
            else:
                b *= p.dtype.type(self.momentum)
                b += g
            g = g + p.dtype.type(self.momentum) * b if self.nesterov else b
        p -= p.dtype.type(lr) * g

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


@register_optimizer
class AdaGrad(Optimizer):
    """s <- s + g^2;  p <- p - lr g / (sqrt(s) + eps)."""

    slots = ("sum_squares",)

    def __init__(self, lr: float | Schedule = 0.01, eps: float = 1e-10, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.eps = _number("AdaGrad", "eps", eps, low_open=True)

    def _update(self, p, g, lr, state):
        g = self._decayed(p, g)
        s = state["sum_squares"]
        s += g * g
        p -= p.dtype.type(lr) * g / (np.sqrt(s) + p.dtype.type(self.eps))

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}


@register_optimizer
class RMSProp(Optimizer):
    """v <- rho v + (1 - rho) g^2;  p <- p - lr g / (sqrt(v) + eps).

    With ``momentum`` mu: b <- mu b + g / (sqrt(v) + eps); p <- p - lr b.
    ``rho`` is PyTorch's ``alpha`` (default 0.99).
    """

    slots = ("square_avg", "momentum_buffer")

    def __init__(self, lr: float | Schedule = 0.01, rho: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.rho = _number("RMSProp", "rho", rho, high=1.0, high_open=True)
        self.eps = _number("RMSProp", "eps", eps, low_open=True)
        self.momentum = _number("RMSProp", "momentum", momentum, high=1.0, high_open=True)

    def _init_state(self, p):
        state = {"square_avg": np.zeros_like(p)}
        if self.momentum:
            state["momentum_buffer"] = np.zeros_like(p)
        return state

    def _update(self, p, g, lr, state):
        g = self._decayed(p, g)
        t = p.dtype.type
        v = state["square_avg"]
        v *= t(self.rho)
        v += t(1.0 - self.rho) * g * g
        step = g / (np.sqrt(v) + t(self.eps))
        if self.momentum:
            b = state["momentum_buffer"]
            b *= t(self.momentum)
            b += step
            step = b
        p -= t(lr) * step

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "eps": self.eps, "momentum": self.momentum}


@register_optimizer
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias correction.

    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
    p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    ``weight_decay`` here is coupled L2 (PyTorch's ``Adam``); see :class:`AdamW`.
    """

    slots = ("m", "v")
    decoupled_weight_decay = False

    def __init__(self, lr: float | Schedule = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.beta1 = _number(type(self).__name__, "beta1", beta1, high=1.0, high_open=True)
        self.beta2 = _number(type(self).__name__, "beta2", beta2, high=1.0, high_open=True)
        self.eps = _number(type(self).__name__, "eps", eps, low_open=True)

    def _update(self, p, g, lr, state):
        t = p.dtype.type
        if self.decoupled_weight_decay:
            if self.weight_decay:
                p *= t(1.0 - lr * self.weight_decay)
        else:
            g = self._decayed(p, g)
        m, v = state["m"], state["v"]
        tmp = self._scratch(p)  # one reused buffer instead of a fresh temporary per operation
        m *= t(self.beta1)
        np.multiply(g, t(1.0 - self.beta1), out=tmp)
        m += tmp
        v *= t(self.beta2)
        np.multiply(g, g, out=tmp)
        tmp *= t(1.0 - self.beta2)
        v += tmp
        bias1 = 1.0 - self.beta1 ** self.iterations
        root2 = math.sqrt(1.0 - self.beta2 ** self.iterations)
        # (lr / bias1) m / (sqrt(v) / root2 + eps) = (lr root2 / bias1) m / (sqrt(v) + eps root2):
        # the right side saves one pass over the parameters (equal to rounding).
        np.sqrt(v, out=tmp)
        tmp += t(self.eps * root2)
        np.divide(m, tmp, out=tmp)
        tmp *= t(lr * root2 / bias1)
        p -= tmp

    def get_config(self):
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


@register_optimizer
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019):
    p <- p (1 - lr lambda) before the Adam step. Default ``weight_decay=0.01``, as PyTorch."""

    decoupled_weight_decay = True

    def __init__(self, lr: float | Schedule = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01, **kwargs) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay, **kwargs)


OPTIMIZER_ALIASES = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW}


def get(optimizer) -> Optimizer:
    """An optimizer from an instance or a name (``"adam"`` -> ``Adam()``)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZER_ALIASES:
        return OPTIMIZER_ALIASES[optimizer.lower()]()
    raise ConfigError(f"unknown optimizer. Expected an Optimizer or one of {sorted(OPTIMIZER_ALIASES)}. "
                      f"Received: {optimizer!r}")

"""The one place that names the array module, and the devices a model can live on.

scratchnn's layers are written with NumPy functions (``np.matmul``, ``np.exp``, ...). Those
functions dispatch on their arguments (NumPy's ``__array_function__`` and ``__array_ufunc__``
protocols): given CuPy arrays they run CuPy's GPU kernels, given NumPy arrays NumPy's. So
the same readable code runs on the CPU and on a GPU, provided that

- arrays are *created* next to the data they will meet -- ``np.zeros_like(x)``,
  ``np.empty(shape, dtype, like=x)``, :func:`zeros`, :func:`empty` -- never with a bare
  ``np.zeros(shape)`` in a forward or backward pass, and
- host data crosses to the device in one place per batch (:meth:`Device.put`) and comes back
  only for logs, checkpoints and ``predict`` results (:meth:`Device.get`).

A :class:`Device` names the array module of the device; ``"cpu"`` is NumPy, ``"gpu"``
(``"cuda"``) is CuPy, which ``pip install 'scratchnn[gpu]'`` brings. Tests exercise the same
seam on the CPU with a device whose arrays refuse to mix with plain NumPy arrays
(``tests/device_seam.py``).

Dtypes: scratchnn computes in float32 unless a model asks for float64. Use
:func:`as_dtype` to turn a user's ``"float32"``/``np.float64`` into a NumPy dtype.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .errors import ConfigError, ScratchnnError

xp = np

#: The default floating-point dtype of models and layers.
DEFAULT_DTYPE = np.dtype(np.float32)

_ALLOWED = {np.dtype(np.float32), np.dtype(np.float64)}


def as_dtype(dtype: Any) -> np.dtype:
    """Return ``dtype`` as a NumPy float dtype (float32 or float64).

    Raises:
        ValueError: for anything but float32 or float64.
    """
    try:
        dt = np.dtype(dtype) if dtype is not None else DEFAULT_DTYPE
    except TypeError as exc:
        raise ValueError(f"dtype must be 'float32' or 'float64'. Received: dtype={dtype!r}") from exc
    if dt not in _ALLOWED:
        raise ValueError(f"dtype must be 'float32' or 'float64'. Received: dtype={dtype!r}")
    return dt


class DeviceError(ScratchnnError, RuntimeError):
    """The requested device cannot be used here (no GPU, no CuPy...)."""


@dataclass(frozen=True)
class Device:
    """Where a model's arrays live: a name, the array module, and the two copies.

    ``put(host_array)`` copies a NumPy array to the device (a no-op on the CPU);
    ``get(array)`` copies a device array back to a NumPy array.
    """

    name: str
    xp: ModuleType
    put: Callable[[Any], Any]
    get: Callable[[Any], np.ndarray]
    #: The class of this device's arrays (how :func:`device_of` recognises them).
    array_type: type = np.ndarray
    #: ``random(rng, shape, dtype)``: uniform [0, 1) numbers on the device, drawn from the
    #: host generator ``rng`` (so a seed gives the same masks on every run on this device).
    random: Callable[[np.random.Generator, tuple, Any], Any] | None = None

    def uniform(self, rng: np.random.Generator, shape, dtype) -> Any:
        """Uniform [0, 1) numbers of ``shape`` on this device, reproducible from ``rng``."""
        if self.random is not None:
            return self.random(rng, tuple(shape), dtype)
        return self.put(rng.random(shape, dtype=dtype))  # the CPU's numbers, copied over

    @property
    def is_cpu(self) -> bool:
        return self.name == "cpu"

    def __repr__(self) -> str:
        return f"Device({self.name!r})"

    def __deepcopy__(self, memo) -> Device:
        return self  # a device is a place, not data: copies of a model share it

    def __copy__(self) -> Device:
        return self


CPU = Device("cpu", np, lambda a: a, np.asarray, np.ndarray,
             lambda rng, shape, dtype: rng.random(shape, dtype=dtype))

_FACTORIES: dict[str, Callable[[], Device]] = {}
_DEVICES: dict[str, Device] = {"cpu": CPU}


def register_device(name: str, factory: Callable[[], Device]) -> None:
    """Make ``get_device(name)`` build a :class:`Device` with ``factory`` (on first use)."""
    _FACTORIES[name] = factory
    _DEVICES.pop(name, None)


def _cupy_device() -> Device:
    try:
        import cupy
    except ImportError as exc:
        raise DeviceError(f"no CUDA device found: CuPy is not installed ({exc}). "
                          "Install it with pip install 'scratchnn[gpu]', or use the CPU.") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - any CUDA runtime failure means "no usable GPU"
        raise DeviceError(f"no CUDA device found: {str(exc).strip() or type(exc).__name__}. "
                          "Use the CPU (--device cpu).") from None
    if count < 1:
        raise DeviceError("no CUDA device found: the CUDA runtime reports 0 devices. Use the CPU (--device cpu).")

    def random(rng, shape, dtype):
        # One device generator per call, seeded from the host generator: reproducible on the
        # GPU without copying a host mask the size of the activations.
        gen = cupy.random.default_rng(int(rng.integers(2**63)))
        return gen.random(shape, dtype=np.float64).astype(dtype, copy=False)

    return Device("gpu", cupy, cupy.asarray, cupy.asnumpy, cupy.ndarray, random)


register_device("gpu", _cupy_device)


def get_device(device: str | Device | None = "cpu") -> Device:
    """The :class:`Device` named ``device`` (``"cpu"``, ``"gpu"``/``"cuda"``), or ``device`` itself.

    Raises:
        DeviceError: a GPU was asked for but none can be used (the message says why).
        ConfigError: an unknown name.
    """
    if isinstance(device, Device):
        return device
    if device is None:
        return CPU
    name = "gpu" if device in ("cuda", "cuda:0", "gpu:0") else device
    if not isinstance(name, str) or (name not in _DEVICES and name not in _FACTORIES):
        known = sorted({"cpu", "gpu", *_FACTORIES})
        raise ConfigError(f"unknown device. Expected one of {known}. Received: device={device!r}")
    if name not in _DEVICES:
        _DEVICES[name] = _FACTORIES[name]()
    return _DEVICES[name]


def device_of(array: Any) -> Device:
    """The :class:`Device` whose memory holds ``array`` (the CPU for NumPy arrays and scalars)."""
    if type(array) is np.ndarray or not hasattr(array, "shape"):
        return CPU
    for device in _DEVICES.values():
        if device is not CPU and isinstance(array, device.array_type):
            return device
    return CPU


def contiguous(a: Any, dtype=None) -> Any:
    """``a`` in C order (and ``dtype``), copied only if it is not already: NumPy's
    ``ascontiguousarray`` for an array on any device."""
    return a.astype(a.dtype if dtype is None else dtype, order="C", copy=False)


def as_strided(x: Any, shape, strides, writeable: bool = True) -> Any:
    """A strided view of ``x`` on its own device (NumPy's ``as_strided``, or CuPy's for a GPU array).

    Used for the im2col window view; the view is read-only where the array module supports it."""
    device = device_of(x)
    if device.name == "gpu":
        return device.xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)
    return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=writeable, subok=True)


def zeros(shape, dtype, like) -> Any:
    """Zeros of ``shape`` on the device of array ``like``."""
    return np.zeros(shape, dtype=dtype, like=like)


def empty(shape, dtype, like) -> Any:
    """An uninitialised array of ``shape`` on the device of array ``like``."""
    return np.empty(shape, dtype=dtype, like=like)

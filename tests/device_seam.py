"""A pretend GPU for the CPU: arrays that refuse to mix with plain NumPy arrays.

CI has no GPU. The GPU path differs from the CPU path in one way only: arrays live in
another memory, so code that creates a host array in the middle of a forward or backward
pass (``np.zeros(shape)``) and combines it with device data breaks there -- CuPy raises. The
``"strict"`` device registered here makes the CPU break the same way: its arrays are a NumPy
subclass whose operations raise :class:`DeviceMixError` when any operand is a plain
``numpy.ndarray`` (0-d arrays and Python scalars are allowed, as CuPy allows them), and whose
conversion back to the host is explicit. Running the layer harness, ``fit``, ``predict`` and
save/load on it proves that every hot path takes its arrays from the data's device.
"""
from __future__ import annotations

import numpy as np

from scratchnn import backend


class DeviceMixError(TypeError):
    """A device array met a host array."""


class StrictArray(np.ndarray):
    """A 'device' array: operations with plain host arrays raise."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _check(ufunc.__name__, inputs, kwargs.get("out", ()))
        args = [_host(a) for a in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_host(o) for o in kwargs["out"])
        result = getattr(ufunc, method)(*args, **kwargs)
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        _check(func.__name__, args, kwargs.values())
        result = func(*_host_tree(args), **{k: _host_tree(v) for k, v in kwargs.items()})
        return _wrap(result)


def _is_host(a) -> bool:
    return type(a) is np.ndarray and a.ndim > 0


def _flatten(items):
    for a in items:
        if isinstance(a, (list, tuple)):
            yield from _flatten(a)
        else:
            yield a


def _check(name, inputs, outs):
    items = list(_flatten(list(inputs) + list(outs or ())))
    if any(isinstance(a, StrictArray) for a in items) and any(_is_host(a) for a in items):
        shapes = [(type(a).__name__, getattr(a, "shape", None)) for a in items]
        raise DeviceMixError(f"{name} mixes device and host arrays: {shapes}")


def _host(a):
    return a.view(np.ndarray) if isinstance(a, StrictArray) else a


def _host_tree(a):
    if isinstance(a, (list, tuple)):
        return type(a)(_host_tree(v) for v in a)
    return _host(a)


def _wrap(result):
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, list):
        return [_wrap(r) for r in result]
    if type(result) is np.ndarray:
        return result.view(StrictArray)
    return result


def put(a):
    """Host -> 'device': a copy, as a real transfer would be."""
    return np.array(a, copy=True).view(StrictArray)


def get(a):
    """'Device' -> host: an explicit copy."""
    if isinstance(a, StrictArray):
        return np.array(a.view(np.ndarray), copy=True)
    if type(a) is np.ndarray and a.ndim > 0:
        raise DeviceMixError("get() was handed a host array: a result that should be on the device was not")
    return np.asarray(a)


STRICT = backend.Device("strict", np, put, get, StrictArray)
backend.register_device("strict", lambda: STRICT)

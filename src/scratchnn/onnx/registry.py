"""Which layer exports how: every registered layer maps to an exporter or to a reason why not.

An *exporter* is a function ``fn(layer, g, x, input_shape) -> y`` where ``g`` is a
:class:`~scratchnn.onnx.graph.GraphBuilder`, ``x`` the name of the layer's input
tensor (batch first, batch size dynamic), ``input_shape`` the layer's per-sample
input shape (batch excluded) and ``y`` the name of the output tensor it created.

Keys are class names, as in :data:`scratchnn.registry.LAYERS`; export looks up
``type(layer).__name__`` and also checks the class is the registered one, so an
unregistered subclass (whose ``forward`` may differ) is never exported by accident.

A layer that cannot be exported is marked with :func:`mark_not_exportable` and a
reason; ``tests/onnx/test_registry.py`` fails when a class in
:data:`scratchnn.registry.LAYERS` has neither, so a new layer's export is decided
when the layer is added.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Exporter = Callable[..., str]


@dataclass(frozen=True)
class NotExportable:
    """An explicit mark: this layer has no ONNX form, and why."""

    reason: str


#: class name -> exporter function, or :class:`NotExportable`.
EXPORTERS: dict[str, Exporter | NotExportable] = {}


def register_exporter(*class_names: str) -> Callable[[Exporter], Exporter]:
    """Decorator: ``@register_exporter("Dense")`` registers ``fn`` for the named layer classes."""
    if not class_names:
        raise TypeError("register_exporter needs at least one layer class name")

    def decorator(fn: Exporter) -> Exporter:
        for name in class_names:
            if name in EXPORTERS and EXPORTERS[name] is not fn:
                raise RuntimeError(f"two ONNX exporters registered for {name!r}")
            EXPORTERS[name] = fn
        return fn

    return decorator


def mark_not_exportable(class_name: str, reason: str) -> None:
    """Record that layer class ``class_name`` cannot be exported, and why (shown to users)."""
    if not reason:
        raise ValueError("mark_not_exportable needs a reason")
    EXPORTERS[class_name] = NotExportable(reason)

"""Exporters, one module per layer family; importing this package registers them all."""
from . import attention, basic, conv, merge, recurrent, shapes  # noqa: F401

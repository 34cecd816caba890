"""Exporters, one module per layer family; importing this package registers them all."""
from . import basic  # noqa: F401

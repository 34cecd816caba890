"""The exception hierarchy of scratchnn.

Every error scratchnn raises on purpose derives from :class:`ScratchnnError`
and from the built-in type a Python user would expect, so ``except ValueError``
keeps working:

- :class:`ShapeError` (``ValueError``): an array of the wrong shape or rank.
- :class:`DataError` (``ValueError``): bad values: NaN/inf, empty arrays, wrong
  dtype, labels out of range, X and y of different lengths.
- :class:`ConfigError` (``ValueError``): an invalid hyperparameter.
- :class:`NotBuiltError` (``RuntimeError``): a model used before it has weights.
- :class:`TrainingDivergedError` (``FloatingPointError``): the loss or a gradient
  became NaN or infinite during ``fit``.
- :class:`ModelFileError` (``ValueError``): a model file that is not a valid
  scratchnn file (corrupt, truncated, hostile or of an unknown version).
"""
from __future__ import annotations


class ScratchnnError(Exception):
    """Base class of every error raised on purpose by scratchnn."""


class ShapeError(ScratchnnError, ValueError):
    """An input has the wrong number of dimensions or the wrong size."""


class DataError(ScratchnnError, ValueError):
    """Input values are unusable: NaN/inf, empty, wrong dtype, bad labels."""


class ConfigError(ScratchnnError, ValueError):
    """A hyperparameter or configuration value is invalid."""


class NotBuiltError(ScratchnnError, RuntimeError):
    """A model or layer was used before its weights were created."""


class TrainingDivergedError(ScratchnnError, FloatingPointError):
    """Training produced a non-finite loss or gradient and was stopped."""


class ModelFileError(ScratchnnError, ValueError):
    """A model file could not be read safely or is not a scratchnn model."""

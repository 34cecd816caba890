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
- :class:`DistributedError` (``RuntimeError``): data-parallel training over MPI
  failed: ranks that disagree at the start, an MPI error, or ranks that stopped
  answering (:mod:`scratchnn.distributed`).

Where they come from, and what the messages hold:

- layers check every input against their expected shape: the message names the
  layer and its position (``Dense (layer 1 of 3)``), the expected shape in symbols
  with the known sizes filled in (``(N, ..., 4)``), the received shape and a hint;
- ``fit``/``evaluate``/``predict`` check the data once, before any work
  (:mod:`scratchnn.validation`): arrays of real numbers (lists are converted), no
  NaN/inf, not empty, X and y of the same length, targets that suit the loss and the
  model's output (labels in ``[0, C)``, one-hot rows, the output's shape);
- constructors check hyperparameters and say ``Received: name=value``;
- ``fit`` raises :class:`TrainingDivergedError` naming the epoch, the batch and the
  first layer (in forward order) with a non-finite gradient, with a hint, before
  the optimizer step, so the weights are those of the last good step;
- :func:`scratchnn.load_model` raises :class:`ModelFileError` for every problem
  with a file's contents and never runs code from it (see :mod:`scratchnn.io`); a
  missing file is the usual ``FileNotFoundError``.

The command line prints any of these as one line ``scratchnn: error: ...`` with
exit status 1; ``scratchnn --debug ...`` shows the traceback instead.
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


class DistributedError(ScratchnnError, RuntimeError):
    """Data-parallel training failed: mismatched ranks, an MPI error or a lost rank."""

"""scratchnn: neural networks from scratch in NumPy -- readable, verified and fast.

Quick start::

    import scratchnn as sn
    model = sn.Sequential([sn.layers.Dense(784, 128), sn.layers.ReLU(), sn.layers.Dense(128, 10)])
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=1e-3),
                  metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=10, batch_size=128, validation_split=0.1)
"""
from . import callbacks, errors, functional, initializers, layers, losses, metrics, onnx, optimizers, schedules
from ._version import __version__
from .article import NeuralNetwork
from .errors import (
               ConfigError,
               DataError,
               ModelFileError,
               NotBuiltError,
               ScratchnnError,
               ShapeError,
               TrainingDivergedError,
)
from .gradcheck import GradcheckReport, gradcheck
from .graph import Input
from .io import load_model, save_model
from .model import Model
from .sequential import Sequential

__all__ = [
    "__version__", "Model", "Input", "Sequential", "NeuralNetwork", "load_model", "save_model", "gradcheck",
    "GradcheckReport", "layers", "losses", "optimizers", "schedules", "callbacks", "metrics",
    "initializers", "functional", "errors", "onnx", "ScratchnnError", "ShapeError", "DataError",
    "ConfigError", "NotBuiltError", "TrainingDivergedError", "ModelFileError",
]

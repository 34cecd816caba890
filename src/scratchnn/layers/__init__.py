"""Layers. Every class here follows the contract in :mod:`scratchnn.layers.base`."""
from .activations import (ELU, GELU, Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax,
                          Softplus, Tanh, get_activation)
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .recurrent import GRU, LSTM, Bidirectional, RecurrentBase, SimpleRNN

__all__ = [
    "Layer", "Activation", "Dense", "Dropout", "Identity", "Sigmoid", "Tanh", "ReLU",
    "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax", "get_activation",
    "Embedding", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "RecurrentBase",
]

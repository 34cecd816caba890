"""Layers. Every class here follows the contract in :mod:`scratchnn.layers.base`."""
from .activations import (
                          ELU,
                          GELU,
                          Activation,
                          Identity,
                          LeakyReLU,
                          ReLU,
                          Sigmoid,
                          Softmax,
                          Softplus,
                          Tanh,
                          get_activation,
)
from .attention import MultiHeadAttention
from .base import Layer
from .bidirectional import Bidirectional
from .conv import Conv1D, Conv2D
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .layer_norm import LayerNorm
from .lstm import LSTM
from .merge import Add, Concatenate, Multiply
from .normalization import BatchNorm
from .pooling import AvgPool2D, GlobalAvgPool2D, MaxPool1D, MaxPool2D
from .positional_embedding import PositionalEmbedding
from .recurrent import RecurrentBase, SimpleRNN
from .recurrent_stack import CELLS, recurrent_stack
from .reshape import Flatten, Reshape
from .residual import ResidualBlock
from .sinusoidal import SinusoidalPositionalEncoding
from .spatial_dropout import Dropout2D, SpatialDropout
from .transformer import TransformerBlock

__all__ = [
    "Layer", "Activation", "Dense", "Dropout", "Identity", "Sigmoid", "Tanh", "ReLU",
    "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax", "get_activation",
    "Embedding", "SimpleRNN", "LSTM", "GRU", "CELLS", "recurrent_stack", "Bidirectional", "RecurrentBase",
    "Conv2D", "Conv1D", "MaxPool2D", "MaxPool1D", "AvgPool2D", "GlobalAvgPool2D", "BatchNorm",
    "Flatten", "Reshape", "SpatialDropout", "Dropout2D", "Add", "Concatenate", "Multiply",
    "ResidualBlock", "LayerNorm", "MultiHeadAttention", "PositionalEmbedding",
    "SinusoidalPositionalEncoding", "TransformerBlock",
]

"""Pure maths: functions of arrays, no state. Layers are thin wrappers around these."""
from .activations import (
                          elu,
                          elu_grad,
                          gelu,
                          gelu_grad,
                          identity,
                          leaky_relu,
                          leaky_relu_grad,
                          log_softmax,
                          relu,
                          relu_grad,
                          sigmoid,
                          sigmoid_grad,
                          softmax,
                          softmax_grad,
                          softplus,
                          softplus_grad,
                          tanh,
                          tanh_grad,
)

__all__ = [
    "elu", "elu_grad", "gelu", "gelu_grad", "identity", "leaky_relu", "leaky_relu_grad",
    "log_softmax", "relu", "relu_grad", "sigmoid", "sigmoid_grad", "softmax", "softmax_grad",
    "softplus", "softplus_grad", "tanh", "tanh_grad",
]

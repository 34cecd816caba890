"""The article's ``NeuralNetwork``, rebuilt on the general layers, with its bugs fixed.

"Building a Neural Network from Scratch in Python" defines a two-layer sigmoid
network trained on XOR. Its API is kept as written -- ``NeuralNetwork(input_size,
hidden_size, output_size)`` with ``feedforward``, ``backpropagation`` and
``train`` -- but here it is a :class:`~scratchnn.Sequential` of
``Dense -> Sigmoid -> Dense -> Sigmoid`` trained by plain gradient descent, so
the maths lives in one place. What is fixed:

- the progress line prints numbers (the article's f-string lacked braces and
  printed ``Epoch epoch + 1, Loss: loss``), every ``print_every`` epochs;
- the weights come from a seeded generator (``seed=``), so runs repeat;
- the sigmoid is computed stably (the article's ``1 / (1 + exp(-x))`` overflows
  for large negative x);
- the loss is the mean squared error and the update its exact gradient,
  dL/da2 = 2 (a2 - y) / (N * outputs). The article's update used (a2 - y) without
  the mean, so its learning rate meant something different for every data size.
- the weights start from Glorot-uniform instead of N(0, 1): with N(0, 1) a few
  hidden sigmoids start saturated and training stalls for some seeds.

With 5000 epochs at learning rate 1.0 it solves XOR for every seed from 0 to 99;
the article's own settings (1000 epochs, learning rate 0.1) are far too few
steps for sigmoid units, whose gradient is at most 1/4 per layer.
"""
from __future__ import annotations

import numpy as np

from .layers import Dense, Sigmoid
from .losses import MeanSquaredError
from .optimizers import SGD
from .sequential import Sequential
from .validation import as_float_array, as_target_array, check_same_length


class NeuralNetwork:
    """The article's network: input -> sigmoid hidden layer -> sigmoid output.

    Args:
        input_size: number of inputs per sample.
        hidden_size: number of hidden units.
        output_size: number of outputs per sample.
        seed: seed of the weight initialisation (``None``: a fresh one).

    Shape:
        X: (N, input_size) -> output (N, output_size); weights_1 (input_size, hidden_size),
        bias_1 (hidden_size,), weights_2 (hidden_size, output_size), bias_2 (output_size,).

    Example:
        >>> import numpy as np, scratchnn as sn
        >>> nn = sn.NeuralNetwork(2, 4, 1, seed=0)
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y = np.array([[0], [1], [1], [0]])
        >>> losses = nn.train(X, y, epochs=5000, learning_rate=1.0, verbose=False)
        >>> np.round(nn.feedforward(X)).ravel().tolist()
        [0.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, seed: int | None = None,
                 dtype: object = "float64") -> None:
        self.model = Sequential([Dense(input_size, hidden_size), Sigmoid(),
                                 Dense(hidden_size, output_size), Sigmoid()], seed=seed, dtype=dtype)
        self.model.build((input_size,))
        self.model.compile(loss=MeanSquaredError(), optimizer=SGD(lr=0.1))
        self.a_2: np.ndarray | None = None

    # The article's attribute names, as views of the layers' parameters.
    @property
    def weights_1(self) -> np.ndarray:
        return self.model.layers[0].params["W"]

    @property
    def bias_1(self) -> np.ndarray:
        return self.model.layers[0].params["b"]

    @property
    def weights_2(self) -> np.ndarray:
        return self.model.layers[2].params["W"]

    @property
    def bias_2(self) -> np.ndarray:
        return self.model.layers[2].params["b"]

    def feedforward(self, X) -> np.ndarray:
        """The forward pass: sigmoid(sigmoid(X W1 + b1) W2 + b2), shape (N, output_size)."""
        X = as_float_array(X, self.model.dtype, "X")
        self.a_2 = self.model.forward(X)
        return self.a_2

    def backpropagation(self, X, y, learning_rate: float) -> float:
        """One gradient-descent step on the mean squared error; returns the loss before the step."""
        X = as_float_array(X, self.model.dtype, "X")
        y = as_target_array(y).astype(self.model.dtype)
        check_same_length(X, y, "X", "y")
        self.model.optimizer.set_lr(learning_rate)
        loss, self.a_2 = self.model.train_step(X, y)
        return loss

    def train(self, X, y, epochs: int, learning_rate: float, verbose: bool = True,
              print_every: int | None = None) -> list[float]:
        """Run ``epochs`` full-batch steps, printing ``Epoch k, Loss: x`` along the way.

        Prints every ``print_every`` epochs (default: about ten lines per run, and
        always the first and last epoch). Returns the loss of every epoch.
        """
        X = as_float_array(X, self.model.dtype, "X")
        y = as_target_array(y).astype(self.model.dtype)
        check_same_length(X, y, "X", "y")
        every = print_every or max(1, epochs // 10)
        self.model.optimizer.set_lr(learning_rate)
        history = []
        for epoch in range(epochs):
            loss, self.a_2 = self.model.train_step(X, y)  # = backpropagation(X, y, learning_rate)
            history.append(loss)
            if verbose and (epoch == 0 or (epoch + 1) % every == 0 or epoch == epochs - 1):
                print(f"Epoch {epoch + 1}, Loss: {loss:.4f}")
        return history

"""The article's API: NeuralNetwork(input, hidden, output, seed) with feedforward,
backpropagation and train, solving XOR for every seed."""
from __future__ import annotations

import re

import numpy as np
import pytest

import scratchnn as sn

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
Y = np.array([[0], [1], [1], [0]])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_attribute_shapes_and_dtype():
    nn = sn.NeuralNetwork(input_size=2, hidden_size=4, output_size=1, seed=0)
    assert nn.weights_1.shape == (2, 4) and nn.bias_1.shape == (4,)
    assert nn.weights_2.shape == (4, 1) and nn.bias_2.shape == (1,)
    assert nn.weights_1.dtype == np.float64
    wide = sn.NeuralNetwork(3, 5, 2, seed=1)
    assert wide.weights_1.shape == (3, 5) and wide.weights_2.shape == (5, 2)
    assert wide.feedforward(np.ones((7, 3))).shape == (7, 2)


def test_feedforward_is_the_two_sigmoid_layers():
    nn = sn.NeuralNetwork(2, 4, 1, seed=3)
    out = nn.feedforward(X)
    expected = sigmoid(sigmoid(X @ nn.weights_1 + nn.bias_1) @ nn.weights_2 + nn.bias_2)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert out.shape == (4, 1) and np.all((out > 0) & (out < 1))


def test_backpropagation_is_one_gradient_step_on_the_mse():
    nn = sn.NeuralNetwork(2, 4, 1, seed=5)
    W1, b1, W2, b2 = (a.copy() for a in (nn.weights_1, nn.bias_1, nn.weights_2, nn.bias_2))
    # by hand: L = mean((a2 - y)^2), dL/da2 = 2 (a2 - y) / N
    a1 = sigmoid(X @ W1 + b1)
    a2 = sigmoid(a1 @ W2 + b2)
    d2 = 2 * (a2 - Y) / len(X) * a2 * (1 - a2)
    d1 = d2 @ W2.T * a1 * (1 - a1)
    lr = 0.7
    loss = nn.backpropagation(X, Y, learning_rate=lr)
    assert loss == pytest.approx(np.mean((a2 - Y) ** 2), rel=1e-12)
    np.testing.assert_allclose(nn.weights_2, W2 - lr * a1.T @ d2, rtol=1e-10)
    np.testing.assert_allclose(nn.bias_2, b2 - lr * d2.sum(0), rtol=1e-10)
    np.testing.assert_allclose(nn.weights_1, W1 - lr * X.T @ d1, rtol=1e-10)
    np.testing.assert_allclose(nn.bias_1, b1 - lr * d1.sum(0), rtol=1e-10)


def test_progress_line_format(capsys):
    nn = sn.NeuralNetwork(2, 4, 1, seed=0)
    losses = nn.train(X, Y, epochs=20, learning_rate=1.0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "Epoch 1, Loss: 0.2601"  # real numbers, not the article's literal "Epoch epoch + 1"
    assert all(re.fullmatch(r"Epoch \d+, Loss: \d+\.\d{4}", line) for line in lines), lines
    assert [int(line.split()[1].rstrip(",")) for line in lines] == [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert lines[-1] == f"Epoch 20, Loss: {losses[-1]:.4f}"
    assert len(losses) == 20 and losses[0] == pytest.approx(0.2601, abs=5e-5)


def test_print_every_and_silence(capsys):
    nn = sn.NeuralNetwork(2, 4, 1, seed=0)
    nn.train(X, Y, epochs=10, learning_rate=1.0, print_every=5)
    assert [line.split(",")[0] for line in capsys.readouterr().out.splitlines()] == ["Epoch 1", "Epoch 5", "Epoch 10"]
    nn.train(X, Y, epochs=10, learning_rate=1.0, verbose=False)
    assert capsys.readouterr().out == ""


def test_seeds_repeat():
    a, b, c = (sn.NeuralNetwork(2, 4, 1, seed=s) for s in (4, 4, 5))
    np.testing.assert_array_equal(a.weights_1, b.weights_1)
    assert not np.array_equal(a.weights_1, c.weights_1)
    la = a.train(X, Y, epochs=50, learning_rate=1.0, verbose=False)
    lb = b.train(X, Y, epochs=50, learning_rate=1.0, verbose=False)
    assert la == lb


def test_input_errors():
    nn = sn.NeuralNetwork(2, 4, 1, seed=0)
    with pytest.raises(sn.ShapeError, match="X and y must hold the same number of samples"):
        nn.train(X, Y[:3], epochs=1, learning_rate=1.0, verbose=False)
    with pytest.raises(sn.DataError, match="NaN or infinite"):
        nn.feedforward(np.array([[0.0, np.nan]]))
    with pytest.raises(sn.ShapeError, match=r"expected input \(N, \.\.\., 2\)"):
        nn.feedforward(np.ones((4, 3)))


def test_xor_seed_0_with_the_documented_settings():
    nn = sn.NeuralNetwork(2, 4, 1, seed=0)
    nn.train(X, Y, epochs=5000, learning_rate=1.0, verbose=False)
    assert np.all(np.abs(nn.feedforward(X) - Y) < 0.5)


@pytest.mark.slow
def test_xor_solved_for_every_seed_0_to_99():
    failed = []
    for seed in range(100):
        nn = sn.NeuralNetwork(2, 4, 1, seed=seed)
        nn.train(X, Y, epochs=5000, learning_rate=1.0, verbose=False)
        if not np.all(np.abs(nn.feedforward(X) - Y) < 0.5):
            failed.append(seed)
    assert failed == [], f"XOR not solved for seeds {failed}"

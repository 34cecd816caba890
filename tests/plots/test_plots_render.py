"""Every plot renders (Agg) to a real, non-blank PNG; the numbers behind them are right."""
from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

import scratchnn as sn
from scratchnn import plots
from scratchnn.datasets import make_spirals, xor


def assert_real_png(path, min_std=0.05):
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > min_std, "the image is (nearly) blank"


@pytest.fixture(scope="module")
def mlp():
    rng = np.random.default_rng(0)
    x = rng.random((64, 784)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model = sn.Sequential([sn.layers.Dense(784, 16), sn.layers.ReLU(), sn.layers.Dropout(0.1),
                           sn.layers.Dense(16, 10)], seed=0)
    model.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.Adam(lr=1e-2), ["accuracy"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, validation_split=0.25)
    return model, x, y


def test_history(tmp_path, mlp):
    model, _, _ = mlp
    fig = plots.plot_history(model.history, path=tmp_path / "h.png")
    assert isinstance(fig, Figure) and [a.get_title() for a in fig.axes[:2]] == ["loss", "accuracy"]
    assert_real_png(tmp_path / "h.png")
    fig = plots.plot_history({"loss": [3.0, 2.0, 1.0], "lr": [0.1, 0.05, 0.01]})
    assert [a.get_title() for a in fig.axes] == ["loss", "learning rate"]
    with pytest.raises(ValueError, match="empty"):
        plots.plot_history({})


def test_decision_boundary_xor_and_spirals(tmp_path):
    nn = sn.NeuralNetwork(2, 4, 1, seed=0)
    X, y = xor()
    nn.train(X, y, epochs=3000, learning_rate=1.0, verbose=False)
    fig = plots.plot_decision_boundary(nn, X, y, resolution=60, path=tmp_path / "xor.png")
    assert "100.0%" in fig.axes[0].get_title()
    assert_real_png(tmp_path / "xor.png")
    Xs, ys = make_spirals(90, 3, seed=0)
    model = sn.Sequential([sn.layers.Dense(2, 8), sn.layers.ReLU(), sn.layers.Dense(8, 3)], seed=0)
    plots.plot_decision_boundary(model, Xs, ys, resolution=50, path=tmp_path / "s.png")
    assert_real_png(tmp_path / "s.png")
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plots.plot_decision_boundary(model, np.zeros((5, 3)), np.zeros(5))


def test_class_probabilities():
    from scratchnn.plots.decision import class_probabilities
    np.testing.assert_allclose(class_probabilities(np.array([[0.25]])), [[0.75, 0.25]])
    np.testing.assert_allclose(class_probabilities(np.array([[0.0]])), [[1.0, 0.0]])
    np.testing.assert_allclose(class_probabilities(np.array([[5.0]]))[0, 1], 1 / (1 + np.exp(-5)))
    p = class_probabilities(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(p.sum(), 1.0) and np.testing.assert_allclose(p[0, 2] / p[0, 1], np.e)


def test_confusion_matrix_and_misclassified(tmp_path, rng):
    y = rng.integers(0, 10, 200)
    scores = rng.normal(size=(200, 10))
    scores[np.arange(150), y[:150]] += 10  # 150 surely right
    cm = plots.confusion_counts(y, scores)
    assert cm.sum() == 200 and np.trace(cm) >= 150
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y, minlength=10))
    plots.plot_confusion_matrix(y, scores, [str(i) for i in range(10)], path=tmp_path / "cm.png")
    assert_real_png(tmp_path / "cm.png")
    images = rng.integers(0, 256, (200, 28, 28)).astype(np.uint8)
    fig = plots.plot_misclassified(images, y, scores, max_images=12, path=tmp_path / "mis.png")
    n_wrong = int((scores.argmax(1) != y).sum())
    assert f"{n_wrong:,} of 200" in fig._suptitle.get_text()
    assert sum(1 for a in fig.axes if a.images) == min(12, n_wrong)
    assert_real_png(tmp_path / "mis.png")
    fig = plots.plot_misclassified(images[:3], y[:3], y[:3])
    assert "No misclassified" in fig.axes[0].texts[0].get_text()


def test_first_layer_weights(tmp_path, mlp):
    model, _, _ = mlp
    filters = plots.first_layer_filters(model)
    assert filters.shape == (16, 28, 28)
    np.testing.assert_array_equal(filters[3].ravel(), model.layers[0].params["W"][:, 3])
    plots.plot_first_layer_weights(model, path=tmp_path / "w.png")
    assert_real_png(tmp_path / "w.png")
    assert plots.first_layer_filters(np.zeros((8, 1, 3, 3))).shape == (8, 3, 3)
    with pytest.raises(ValueError, match="not a square image"):
        plots.first_layer_filters(np.zeros((10, 4)))


def test_layer_statistics_find_dead_and_saturated_units(tmp_path, mlp):
    model, x, y = mlp
    stats = plots.layer_statistics(model, x, y)
    assert [s["kind"] for s in stats] == ["Dense", "ReLU", "Dropout", "Dense"]
    assert all("grad" in s for s in stats) and 0 <= stats[1]["dead_fraction"] <= 1
    plots.plot_layer_statistics(model, x, y, path=tmp_path / "internals.png")
    assert_real_png(tmp_path / "internals.png")
    dead = sn.Sequential([sn.layers.Dense(4, 6, bias_initializer="zeros"), sn.layers.ReLU(),
                          sn.layers.Dense(6, 3), sn.layers.Sigmoid()], seed=0)
    dead.build((4,))
    dead.layers[0].params["b"][:4] = -100.0   # 4 of 6 units can never fire
    dead.layers[2].params["W"][...] = 50.0    # pushes the sigmoid into saturation
    s = plots.layer_statistics(dead, np.abs(np.random.default_rng(0).normal(size=(32, 4))))
    assert s[1]["dead_fraction"] == pytest.approx(4 / 6)
    assert s[3]["saturated_fraction"] > 0.9 and "grad" not in s[0]


def test_plots_raise_the_librarys_error_classes():
    """Bad input to a plot is a ShapeError / DataError / ConfigError (still ValueErrors), as elsewhere."""
    import scratchnn as sn
    from scratchnn import plots

    with pytest.raises(sn.DataError, match="empty"):
        plots.plot_history({})
    with pytest.raises(sn.ConfigError):
        plots.plot_history(42)
    with pytest.raises(sn.ShapeError, match=r"\(N, 2\)"):
        plots.plot_decision_boundary(lambda x: x[:, :1], np.zeros((4, 3)), np.zeros(4))

"""Plots of convolutional networks: feature maps and filters (Agg, no pyplot)."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import scratchnn as sn
from scratchnn.plots.conv import feature_maps, plot_conv_filters, plot_feature_maps

L = sn.layers


@pytest.fixture
def cnn():
    model = sn.Sequential([L.Conv2D(1, 4, 3, padding="same"), L.ReLU(), L.MaxPool2D(2),
                           L.Conv2D(4, 6, 3), L.Flatten(), L.Dense(6 * 4 * 4, 3)], seed=0)
    model.build((1, 12, 12))
    return model


def test_feature_maps_per_conv_layer(cnn, rng):
    image = rng.integers(0, 256, (12, 12)).astype(np.uint8)
    maps = feature_maps(cnn, image)
    assert [label for label, _ in maps] == ["0: Conv2D + ReLU", "3: Conv2D"]
    assert maps[0][1].shape == (4, 12, 12) and maps[1][1].shape == (6, 4, 4)
    assert maps[0][1].min() >= 0  # after the ReLU
    raw = feature_maps(cnn, image, after_activation=False)[0][1]
    assert raw.min() < 0
    np.testing.assert_allclose(np.maximum(raw, 0), maps[0][1])


def test_plot_feature_maps_and_filters_write_pngs(cnn, rng, tmp_path):
    fig = plot_feature_maps(cnn, rng.random((1, 12, 12)), max_channels=3, path=tmp_path / "maps.png")
    assert isinstance(fig, Figure) and (tmp_path / "maps.png").stat().st_size > 1000
    assert sum(ax.has_data() for ax in fig.axes) == 2 * (1 + 3)
    fig = plot_conv_filters(cnn, path=tmp_path / "filters.png")
    assert sum(ax.has_data() for ax in fig.axes) == 4 and "layer 0 (4 of 4, 3x3)" in fig._suptitle.get_text()
    assert sum(ax.has_data() for ax in plot_conv_filters(cnn, layer_index=3).axes) == 6


def test_conv_plots_explain_bad_input(cnn):
    mlp = sn.Sequential([L.Dense(4, 2)], seed=0)
    mlp.build((4,))
    with pytest.raises(ValueError, match="no Conv2D layer"):
        plot_conv_filters(mlp)
    with pytest.raises(ValueError, match="not a built Conv2D"):
        plot_conv_filters(cnn, layer_index=1)
    with pytest.raises(ValueError, match="expected one image"):
        plot_feature_maps(cnn, np.zeros((2, 1, 12, 12)))

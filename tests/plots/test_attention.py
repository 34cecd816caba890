"""Attention maps per head and bits-per-character curves render to real PNGs."""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from scratchnn import plots
from tests.plots.test_plots_render import assert_real_png


def test_attention_weights_and_maps(tmp_path):
    model = sn.Sequential([sn.layers.Embedding(5, 8), sn.layers.PositionalEmbedding(6, 8),
                           sn.layers.TransformerBlock(8, 4, causal=True), sn.layers.Dense(8, 5)], seed=0)
    model.build((6,))
    w = plots.attention_weights(model, np.array([0, 1, 2, 3, 4, 0]))
    assert w.shape == (4, 6, 6)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    assert np.all(np.triu(w, 1) == 0), "causal: no weight above the diagonal"
    fig = plots.plot_attention(w, "abcdea", "abcdea", path=tmp_path / "a.png")
    assert [ax.get_title() for ax in fig.axes[:4]] == [f"head {i}" for i in range(1, 5)]
    assert_real_png(tmp_path / "a.png")
    with pytest.raises(ValueError, match="no attention layer"):
        plots.attention_weights(sn.Sequential([sn.layers.Dense(2, 2)], seed=0), np.zeros(2))
    with pytest.raises(ValueError, match=r"\(H, T, S\)"):
        plots.plot_attention(np.zeros(3))


def test_bits_per_char_curves(tmp_path):
    logs = {"Transformer": {"step": [10, 20, 30], "train_bpc": [4.0, 3.0, 2.5], "val_bpc": [3.9, 3.1, 2.7],
                            "seconds": 60.0},
            "LSTM": {"step": [10, 20], "train_bpc": [4.1, 3.3], "val_bpc": [4.0, 3.2], "seconds": 30.0}}
    fig = plots.plot_bits_per_char(logs, x="seconds", path=tmp_path / "b.png")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "bits per character" and ax.get_xlabel() == "seconds"
    assert ax.lines[0].get_xdata()[-1] == pytest.approx(60.0)
    assert "val 2.700" in ax.get_legend().get_texts()[0].get_text()
    assert_real_png(tmp_path / "b.png")
    with pytest.raises(ValueError, match="no runs"):
        plots.plot_bits_per_char({})

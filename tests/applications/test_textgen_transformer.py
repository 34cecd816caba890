"""The character Transformer: training, the key/value-cache sampler (same text as recomputing
the window), the sliding window past the context, save/load and the command line."""
from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnn as sn
from scratchnn.applications import textgen
from scratchnn.cli import main
from scratchnn.datasets.text import CharVocab


def test_transformer_learns_a_periodic_text_and_round_trips(tmp_path):
    text = "hello world. " * 60
    model = textgen.build_char_transformer(CharVocab.from_text(text), d_model=16, num_heads=2, num_layers=1,
                                           context=16, seed=1)
    model, log = textgen.train_char_lm(text, model=model, steps=120, seq_len=16, batch_size=16, lr=1e-2,
                                       eval_every=60, verbose=0, seed=1)
    assert log["val_bpc"][-1] < 0.5 * math.log2(9), log
    path = tmp_path / "lm.npz"
    model.save(path)
    loaded = sn.load_model(path)
    assert textgen.is_transformer(loaded) and textgen.context_length(loaded) == 16
    greedy = textgen.sample(loaded, 30, prompt="hello", temperature=0)
    assert " world. hello" in greedy
    assert textgen.sample(loaded, 30, prompt="h", temperature=1.2, seed=4) == \
        textgen.sample(model, 30, prompt="h", temperature=1.2, seed=4)


@pytest.mark.parametrize("prompt", ["", "abcabcabcabcabcabcabcabc"])
def test_kv_cache_gives_the_same_text_as_recomputing(prompt):
    """Past the context (12) the window slides; both samplers must agree on every character."""
    vocab = CharVocab("abcdefg")
    model = textgen.build_char_transformer(vocab, d_model=8, num_heads=2, num_layers=2, context=12,
                                           seed=0, dtype="float64")
    model.build((12,))
    cached = textgen.sample(model, 40, prompt=prompt, temperature=1.0, seed=5)
    recomputed = textgen.sample(model, 40, prompt=prompt, temperature=1.0, seed=5, kv_cache=False)
    assert cached == recomputed and len(cached) == len(prompt) + 40


def test_runner_logits_equal_a_full_forward(rng):
    model = textgen.build_char_transformer(CharVocab("abcdef"), d_model=8, num_heads=4, num_layers=2,
                                           context=10, dtype="float64")
    model.build((10,))
    ids = rng.integers(0, 6, 10)
    full = model.predict(ids[None].astype(float))[0]
    runner = textgen._KVRunner(model, 10)
    got = [runner.feed(ids[:4])] + [runner.feed(ids[i:i + 1]) for i in range(4, 10)]
    np.testing.assert_allclose(got[0], full[3], atol=1e-12)
    np.testing.assert_allclose(np.stack(got[1:]), full[4:], atol=1e-12)


def test_non_causal_models_are_refused_for_sampling():
    vocab = CharVocab("ab")
    model = sn.Sequential([sn.layers.Embedding(2, 4), sn.layers.TransformerBlock(4, 2),
                           sn.layers.Dense(4, 2)], seed=0)
    model.metadata["vocab"] = vocab.to_dict()
    model.build((5,))
    with pytest.raises(sn.ConfigError, match="causal"):
        textgen.sample(model, 3)


def test_cli_trains_and_samples_a_transformer(tmp_path, capsys):
    data = tmp_path / "data.txt"
    data.write_text("to be or not to be, that is the question. " * 30)
    out = tmp_path / "run"
    assert main(["textgen", "train", str(data), "--model", "transformer", "--steps", "20", "--seq-len", "16",
                 "--batch-size", "8", "--d-model", "16", "--heads", "2", "--blocks", "1", "--eval-every", "10",
                 "--out", str(out), "--sample-length", "20", "--quiet"]) == 0
    model = sn.load_model(out / "model.npz")
    assert sum(isinstance(layer, sn.layers.TransformerBlock) for layer in model.layers) == 1
    capsys.readouterr()
    args = ["textgen", "sample", str(out / "model.npz"), "--length", "30", "--seed", "2", "--prompt", "to be"]
    assert main(args) == 0
    cached = capsys.readouterr().out
    assert main(args + ["--no-kv-cache"]) == 0
    assert capsys.readouterr().out == cached and cached.startswith("to be")


def test_cli_exports_a_trained_transformer_to_onnx(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    data = tmp_path / "data.txt"
    data.write_text("abcabcabd " * 40)
    out = tmp_path / "run"
    assert main(["textgen", "train", str(data), "--model", "transformer", "--steps", "3", "--seq-len", "12",
                 "--batch-size", "4", "--d-model", "8", "--heads", "2", "--blocks", "2", "--out", str(out),
                 "--sample-length", "0", "--quiet"]) == 0
    assert main(["export", str(out / "model.npz"), str(tmp_path / "m.onnx"), "--verify"]) == 0
    text = capsys.readouterr().out
    diff = float(text.rsplit("=", 1)[1])
    assert "(N, 12) -> output 'output' (N, 12, 5)" in text and diff < 1e-4

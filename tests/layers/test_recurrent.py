"""Recurrent layers and Embedding beyond the generic registry checks: states, errors, training."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn as sn
from scratchnn.gradcheck import numerical_gradient

L = sn.layers
CELLS = [L.SimpleRNN, L.LSTM, L.GRU]


@settings(max_examples=10, deadline=None)
@given(cell=st.sampled_from(CELLS), N=st.integers(1, 4), T=st.integers(1, 6), D=st.integers(1, 3),
       H=st.integers(1, 4), rs=st.booleans())
def test_output_shape_formula(cell, N, T, D, H, rs):
    layer = cell(D, H, return_sequences=rs)
    layer.build((T, D), np.random.default_rng(0))
    y = layer(np.zeros((N, T, D), np.float32))
    assert y.shape == (N,) + layer.compute_output_shape((T, D)) == ((N, T, H) if rs else (N, H))
    bi = L.Bidirectional(cell(D, H, return_sequences=rs))
    bi.build((T, D), np.random.default_rng(0))
    assert bi(np.zeros((N, T, D), np.float32)).shape == ((N, T, 2 * H) if rs else (N, 2 * H))


@pytest.mark.parametrize("cell", CELLS)
def test_initial_state_gradcheck_and_carry(cell, rng):
    """dL/dh0 (and dc0) against central differences, and final_state -> initial_state = one long pass."""
    N, T, D, H = 2, 5, 3, 4
    layer = cell(D, H, return_sequences=True)
    layer.build((T, D), rng, "float64")
    x = rng.standard_normal((N, T, D))
    n = 2 if cell is L.LSTM else 1
    states = [rng.standard_normal((N, H)) for _ in range(n)]
    dy = rng.standard_normal((N, T, H))

    def loss():
        layer.initial_state = tuple(states) if n == 2 else states[0]
        return float(np.sum(layer.forward(x) * dy))

    loss()
    layer.backward(dy)
    grads = layer.initial_state_grad if n == 2 else (layer.initial_state_grad,)
    for s, g in zip(states, grads):
        np.testing.assert_allclose(g, numerical_gradient(loss, s), atol=1e-7, rtol=1e-5)
    layer.initial_state = None
    full = layer.forward(x)
    first = layer.forward(x[:, :2])
    second = layer.forward(x[:, 2:], initial_state=layer.final_state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, atol=1e-12)


def test_errors_name_the_layer_and_hint():
    model = sn.Sequential([L.LSTM(1, 8), L.Dense(8, 1)])
    with pytest.raises(sn.ShapeError, match=r"LSTM \(layer 1 of 2\) expected per-sample input "
                                            r"\(T, 1\), got \(30,\)\. .*x\[\.\.\., None\]"):
        model.predict(np.zeros((4, 30)))
    layer = L.GRU(3, 4)
    layer.build((5, 3), np.random.default_rng(0))
    with pytest.raises(sn.ShapeError, match=r"expected input \(N, T, 3\), got \(2, 5, 2\)\. The last axis"):
        layer(np.zeros((2, 5, 2), np.float32))
    with pytest.raises(sn.ShapeError, match=r"initial state \(N, H\) = \(2, 4\), got \(3, 4\)"):
        layer.forward(np.zeros((2, 5, 3), np.float32), initial_state=np.zeros((3, 4)))
    lstm = L.LSTM(3, 4)
    lstm.build((5, 3), np.random.default_rng(0))
    with pytest.raises(sn.ShapeError, match=r"initial_state must be \(h0, c0\)"):
        lstm.forward(np.zeros((2, 5, 3), np.float32), initial_state=np.zeros((2, 4)))
    with pytest.raises(sn.ConfigError, match="Received: hidden_size=0"):
        L.LSTM(3, 0)
    with pytest.raises(sn.ConfigError, match="Received: return_sequences='yes'"):
        L.GRU(3, 4, return_sequences="yes")
    with pytest.raises(sn.ConfigError, match="must be a SimpleRNN, LSTM or GRU. Received: layer=Dense"):
        L.Bidirectional(L.Dense(3, 4))
    with pytest.raises(sn.ConfigError, match="must be a SimpleRNN, LSTM or GRU"):
        L.Bidirectional({"class_name": "Dense", "config": {"in_features": 1, "out_features": 1}})
    with pytest.raises(sn.ConfigError, match="Received: merge_mode='mul'"):
        L.Bidirectional(L.GRU(3, 4), merge_mode="mul")


def test_embedding_errors_and_float_ids():
    emb = L.Embedding(5, 2)
    emb.build((3,), np.random.default_rng(0))
    np.testing.assert_array_equal(emb(np.array([[0, 4, 2]])), emb(np.array([[0.0, 4.0, 2.0]], np.float32)))
    with pytest.raises(sn.DataError, match=r"token ids must lie in \[0, 4\]; got values from 0 to 5"):
        emb(np.array([[0, 5, 1]]))
    with pytest.raises(sn.DataError, match="integer token ids; got non-integer values such as 1.5"):
        emb(np.array([[0.0, 1.5, 1.0]]))


def test_bidirectional_shares_arrays_with_its_halves():
    bi = L.Bidirectional(L.LSTM(2, 3))
    bi.build((4, 2), np.random.default_rng(0))
    params = bi.all_params()
    assert set(params) == {"fw/W", "fw/U", "fw/b", "bw/W", "bw/U", "bw/b"}
    assert params["bw/U"] is bi.backward_layer.params["U"]
    assert not np.array_equal(params["fw/W"], params["bw/W"]), "the two directions need their own weights"


@pytest.mark.parametrize("cell", CELLS)
def test_many_to_one_learns_with_fit_and_clipping(cell):
    """Remember the first value of a sequence of noise (needs the recurrence over all steps)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 8, 1))
    y = x[:, 0, :]
    model = sn.Sequential([cell(1, 16), L.Dense(16, 1)], seed=0)
    model.compile(loss="mse", optimizer=sn.optimizers.Adam(lr=1e-2, clip_norm=1.0))
    before = model.evaluate(x, y)["loss"]
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    after = model.evaluate(x, y)["loss"]
    assert after < 0.3 * before, (before, after)


def test_many_to_many_with_embedding_trains_and_saves(tmp_path):
    """Embedding -> GRU(return_sequences) -> Dense with per-step softmax cross-entropy: copy the input."""
    rng = np.random.default_rng(1)
    V = 6
    x = rng.integers(0, V, (256, 7))
    model = sn.Sequential([L.Embedding(V, 8), L.GRU(8, 24, return_sequences=True), L.Dense(24, V)], seed=1)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=2e-2, clip_norm=5.0),
                  metrics=["accuracy"])
    model.fit(x, x, epochs=10, batch_size=32, verbose=0)
    pred = model.predict(x).argmax(-1)
    assert (pred == x).mean() > 0.95
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(sn.load_model(tmp_path / "m.npz").predict(x), model.predict(x))


def test_float32_stays_float32_and_matches_float64(rng):
    x = rng.standard_normal((3, 6, 2))
    dy = rng.standard_normal((3, 6, 5))
    out = {}
    for dtype in ("float32", "float64"):
        layer = L.LSTM(2, 5, return_sequences=True)
        layer.build((6, 2), np.random.default_rng(0), dtype)
        y = layer.forward(x.astype(dtype))
        dx = layer.backward(dy.astype(dtype))
        assert y.dtype == dx.dtype == layer.grads["U"].dtype == np.dtype(dtype)
        out[dtype] = (y, dx, layer.grads["U"])
    for a, b in zip(out["float32"], out["float64"]):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_single_thread_loop_switch_keeps_results(rng, monkeypatch):
    """The BLAS one-thread context of the time loop changes speed only, and restores the thread count."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from scratchnn import threads

    x = rng.standard_normal((4, 6, 3))
    results = []
    for macs in (0, 1 << 40):
        monkeypatch.setattr(threads, "SMALL_PRODUCT_MACS", macs)
        layer = L.GRU(3, 5, return_sequences=True)
        layer.build((6, 3), np.random.default_rng(0), "float64")
        with threadpool_limits(2, user_api="blas"):
            before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
            y = layer.forward(x)
            dx = layer.backward(np.ones_like(y))
            assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before
        results.append((y, dx))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-12)


@pytest.mark.parametrize("cell", [L.SimpleRNN, L.LSTM, L.GRU])
def test_batch_split_over_threads_keeps_results(cell, rng):
    """The time loop runs on slices of the batch in several threads; the results must not change."""
    from scratchnn import threads

    x = rng.standard_normal((37, 5, 3)).astype(np.float32)
    results = []
    try:
        for n in (1, 3):
            threads.set_num_threads(n)
            layer = cell(3, 8, return_sequences=True)
            layer.build((5, 3), np.random.default_rng(0))
            y = layer.forward(x, training=True)
            dx = layer.backward(np.ones_like(y))
            results.append((y, dx, layer.grads["U"].copy()))
    finally:
        threads.set_num_threads(None)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_lstm_inference_keeps_no_caches_and_matches_training(return_sequences, rng):
    """Inference projects blocks of steps and keeps rolling state rows: same outputs and final
    state as training mode; a backward pass after it recomputes what it needs."""
    layer = L.LSTM(3, 6, return_sequences=return_sequences)
    layer.build((19, 3), np.random.default_rng(0), "float64")
    x = rng.standard_normal((37, 19, 3))
    h0c0 = (rng.standard_normal((37, 6)), rng.standard_normal((37, 6)))
    y_infer = layer.forward(x, training=False, initial_state=h0c0)
    state_infer = layer.final_state
    assert isinstance(layer.cache[0], str)  # nothing of size T was kept
    dx_infer = layer.backward(np.ones_like(y_infer))
    y_train = layer.forward(x, training=True, initial_state=h0c0)
    dx_train = layer.backward(np.ones_like(y_train))
    np.testing.assert_allclose(y_infer, y_train, atol=1e-12)
    np.testing.assert_allclose(dx_infer, dx_train, atol=1e-12)
    for a, b in zip(state_infer, layer.final_state):
        np.testing.assert_allclose(a, b, atol=1e-12)

"""The GPU seam (scratchnn.backend), tested on the CPU: fit, predict, save/load, gradcheck and
export on the 'strict' device (tests/device_seam.py), whose arrays raise when they meet a host array.

Whatever would break on CuPy -- a host array created in a forward or backward pass and mixed
with device data -- breaks here too. The strict device computes with NumPy, so its results
must equal the CPU's bit for bit. Every layer alone on the device: the harness's device check
(tests/layers/harness.py).
"""
from __future__ import annotations

import numpy as np
import pytest

import scratchnn as sn
from tests.device_seam import DeviceMixError, StrictArray  # noqa: E402  (registers the "strict" device)

L = sn.layers


def _mlp(device):
    model = sn.Sequential([L.Dense(6, 16), L.ReLU(), L.Dropout(0.2), L.Dense(16, 3)], seed=0, device=device)
    model.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.Adam(lr=0.01, clip_norm=1.0), metrics=["accuracy"])
    return model


def _cnn(device):
    model = sn.Sequential([L.Conv2D(1, 4, 3, padding="same"), L.BatchNorm(4), L.ReLU(), L.MaxPool2D(2),
                           L.Flatten(), L.Dense(4 * 4 * 4, 3)], seed=0, device=device)
    model.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.SGD(lr=0.05, momentum=0.9), metrics=["accuracy"])
    return model


def _lstm(device):
    model = sn.Sequential([L.LSTM(3, 8, return_sequences=True), L.GRU(8, 8), L.Dense(8, 1)], seed=0, device=device)
    model.compile("mse", sn.optimizers.RMSProp(lr=0.01))
    return model


@pytest.mark.parametrize("make,shape,target", [
    (_mlp, (6,), "labels"), (_cnn, (1, 8, 8), "labels"), (_lstm, (5, 3), "values")], ids=["mlp", "cnn", "lstm"])
def test_fit_predict_save_load_on_the_device_equal_the_cpu(make, shape, target, rng, tmp_path):
    x = rng.standard_normal((40,) + shape)
    y = rng.integers(0, 3, 40) if target == "labels" else rng.standard_normal((40, 1))
    runs = {}
    for device in ("cpu", "strict"):
        model = make(device)
        history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.2, verbose=0)
        pred = model.predict(x[:7])
        assert type(pred) is np.ndarray, "predict must return host arrays"
        runs[device] = (history.history, pred, model.get_weights())
        model.save(tmp_path / f"{device}.npz")
    assert runs["strict"][0] == runs["cpu"][0]
    np.testing.assert_array_equal(runs["strict"][1], runs["cpu"][1])
    for a, b in zip(runs["strict"][2], runs["cpu"][2]):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    loaded = sn.load_model(tmp_path / "strict.npz", device="strict")
    assert loaded.device.name == "strict" and isinstance(loaded.flat_params, StrictArray)
    np.testing.assert_array_equal(loaded.predict(x[:7]), runs["cpu"][1])
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0)          # resumes on the device
    on_cpu = sn.load_model(tmp_path / "strict.npz")               # a device's file loads on the CPU
    np.testing.assert_array_equal(on_cpu.predict(x[:7]), runs["cpu"][1])


def test_gradcheck_and_onnx_export_from_a_device_model(rng, tmp_path):
    model = sn.Sequential([L.Dense(4, 5), L.Tanh(), L.Dense(5, 2)], seed=0, device="strict")
    assert sn.gradcheck(model, rng.standard_normal((3, 4))).ok
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from scratchnn.onnx import max_abs_diff
    model.export_onnx(tmp_path / "m.onnx")
    assert max_abs_diff(model, tmp_path / "m.onnx", rng.standard_normal((3, 4)).astype(np.float32)) < 1e-5


def test_the_seam_catches_a_host_array_in_a_pass():
    """The test device can fail: a layer that builds a host array in forward is caught."""

    class HostBias(L.Identity):
        def forward(self, x, training=False):
            return x + np.ones(x.shape[1:], dtype=x.dtype)        # a bare host array

    model = sn.Sequential([L.Dense(3, 3), HostBias()], seed=0, device="strict")
    model.build((3,))
    with pytest.raises(DeviceMixError, match="mixes device and host"):
        model.predict(np.ones((2, 3)))


def test_no_gpu_is_one_clear_error():
    with pytest.raises(sn.backend.DeviceError, match="^no CUDA device found: "):
        sn.Sequential([L.Dense(2, 2)], device="gpu")


def test_train_on_a_missing_gpu_is_one_line_and_writes_nothing(tmp_path, capsys):
    from scratchnn.cli import main

    code = main(["train", "--device", "gpu", "--epochs", "1", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("scratchnn: error: no CUDA device found: ")
    assert not (tmp_path / "run").exists()

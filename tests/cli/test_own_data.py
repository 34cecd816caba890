"""``scratchnn train|evaluate|predict`` with ``--data``: every form end to end on tiny data made here,
class names through the model file, and each misuse as a one-line error."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

import scratchnn as sn
from scratchnn.cli import main
from tests.datasets.own_data import idx_pair, pattern, png_folder, table_csv


def one_line_error(capsys, rc, match):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc != 0 and len(lines) == 1 and lines[0].startswith("scratchnn: error: "), err
    assert "Traceback" not in out + err
    assert match in lines[0], lines[0]


def train(tmp_path, name, *args):
    out = tmp_path / name
    rc = main(["train", *args, "--out", str(out), "--progress", "none", "--seed", "0"])
    assert rc == 0
    return out, json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def images_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("img")
    root = png_folder(tmp / "imgs", classes=("ant", "bee", "cat"), n=12)
    (tmp / "imgs" / "bee" / "broken.png").write_bytes(b"junk")
    out = tmp / "run"
    assert main(["train", "--data", root, "--size", "12", "--epochs", "8", "--lr", "0.01", "--out", str(out),
                 "--progress", "none"]) == 0
    return root, out


def test_image_folder_train_stores_class_names(images_run, capsys):
    _, out = images_run
    res = json.loads((out / "results.json").read_text())
    assert res["classes"] == ["ant", "bee", "cat"] and res["kind"] == "image-folder"
    model = sn.load_model(out / "model.npz")
    assert model.metadata["classes"] == ["ant", "bee", "cat"]
    assert model.metadata["data"]["size"] == [12, 12] and tuple(model.input_shape) == (144,)
    assert {"confusion_matrix.png", "misclassified.png", "training_curves.png"} <= set(os.listdir(out))
    assert res["test_accuracy"] > 0.6  # three easy patterns: far above chance (1/3)


def test_evaluate_rebuilds_the_same_test_part(images_run, capsys):
    _, out = images_run
    res = json.loads((out / "results.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(out), "--plots", str(out / "eval")]) == 0
    text = capsys.readouterr().out
    assert f"accuracy {res['test_accuracy']:.2%}" in text and "ant" in text and "cat" in text
    assert (out / "eval" / "confusion_matrix.png").is_file()
    assert main(["evaluate", str(out), "--split", "all"]) == 0
    assert f"({36:,} samples)" in capsys.readouterr().out


def test_predict_a_folder_prints_class_names(images_run, capsys):
    root, out = images_run
    capsys.readouterr()
    assert main(["predict", str(out), os.path.join(root, "cat")]) == 0
    captured = capsys.readouterr()
    lines = [ln for ln in captured.out.splitlines() if not ln.startswith(" ")]
    assert len(lines) == 12 and all(ln.split(": ")[1].split()[0] in {"ant", "bee", "cat"} for ln in lines)
    assert sum(ln.split(": ")[1].startswith("cat") for ln in lines) >= 8


def test_unreadable_files_one_warning_line_or_strict(images_run, tmp_path, capsys):
    root, _ = images_run
    capsys.readouterr()
    train(tmp_path, "w", "--data", root, "--size", "12", "--epochs", "1", "--no-plots")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scratchnn: warning: skipped 1 unreadable")
    assert os.path.join("bee", "broken.png") in err[0]
    rc = main(["train", "--data", root, "--strict", "--out", str(tmp_path / "s"), "--progress", "none"])
    one_line_error(capsys, rc, "broken.png")


def test_rgb_trains_the_cnn_and_streaming_works(tmp_path, capsys):
    root = png_folder(tmp_path / "rgb", n=6, color="RGB", size=(8, 8))
    out, res = train(tmp_path, "c", "--data", root, "--color", "rgb", "--size", "8", "--epochs", "1")
    model = sn.load_model(out / "model.npz")
    assert res["model"] == "cnn" and tuple(model.input_shape) == (3, 8, 8)
    assert main(["predict", str(out), os.path.join(root, "ant", "000.png")]) == 0
    out2, res2 = train(tmp_path, "st", "--data", root, "--color", "rgb", "--size", "8", "--epochs", "2",
                       "--stream", "--model", "mlp")
    assert res2["n_test"] == res["n_test"] == 3 and sn.load_model(out2 / "model.npz").epochs_trained == 2
    assert len(json.loads((out2 / "history.json").read_text())["val_accuracy"]) == 2
    capsys.readouterr()
    assert main(["evaluate", str(out2)]) == 0
    assert f"accuracy {res2['test_accuracy']:.2%}" in capsys.readouterr().out


def test_idx_pair_and_npz(tmp_path, capsys):
    folder = idx_pair(tmp_path / "kmnist", n_train=60, n_test=20, shape=(10, 12), n_classes=4)
    out, res = train(tmp_path, "i", "--data", folder, "--epochs", "2", "--no-plots", "--test-fraction", "0.5")
    assert "--test-fraction not used" in capsys.readouterr().out
    assert res["kind"] == "idx" and res["n_test"] == 20 and res["classes"] == ["0", "1", "2", "3"]
    Image.fromarray(pattern(2, 0, 10, 12)).save(tmp_path / "two.png")
    assert main(["predict", str(out), str(tmp_path / "two.png"), "--top", "1"]) == 0
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    np.savez(tmp_path / "a.npz", x_train=x, y_train=y, class_names=np.array(["neg", "pos"]))
    _, res = train(tmp_path, "n", "--data", str(tmp_path / "a.npz"))  # the default table MLP and epochs
    assert res["kind"] == "npz" and res["classes"] == ["neg", "pos"] and res["test_accuracy"] >= 0.8
    assert res["epochs_trained"] == 200


def test_csv_classification_predict_and_evaluate(tmp_path, capsys):
    path = table_csv(tmp_path / "t.csv", n=150, missing=True)
    out, res = train(tmp_path, "t", "--data", path, "--target", "kind", "--drop", "price", "--impute",
                     "--epochs", "40")
    assert res["task"] == "classification" and res["classes"] == ["big", "small"] and res["test_accuracy"] > 0.8
    model = sn.load_model(out / "model.npz")
    assert model.metadata["preprocessing"]["kind"] == "csv-table"
    new = tmp_path / "new.csv"
    new.write_text("size,colour,weight\n20,red,50\n2,blue,50\n,green,50\n")
    capsys.readouterr()
    assert main(["predict", str(out), str(new)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"{new} line 2: big") and lines[1].startswith(f"{new} line 3: small")
    assert len(lines) == 3  # the missing size is imputed, as in training
    assert main(["evaluate", str(out)]) == 0
    assert f"accuracy {res['test_accuracy']:.2%}" in capsys.readouterr().out


def test_csv_regression_plots_and_predictions(tmp_path, capsys):
    path = table_csv(tmp_path / "r.csv", n=150)
    out, res = train(tmp_path, "r", "--data", path, "--target", "price", "--drop", "kind", "--epochs", "60")
    assert res["task"] == "regression" and res["test_r2"] > 0.8 and "classes" not in res
    assert (out / "regression.png").is_file()
    capsys.readouterr()
    assert main(["predict", str(out), path]) == 0
    text = capsys.readouterr().out
    assert "price = " in text and "RMSE" in text.splitlines()[-1]


@pytest.mark.parametrize("args, match", [
    (["--target", "x"], "--target goes with --data PATH"),
    (["--data", "DATA", "--dataset", "mnist"], "--data and --dataset exclude each other"),
    (["--data", "CSV"], "say which column to predict with --target COL; its columns are size, colour"),
    (["--data", "CSV", "--target", "kind", "--size", "8"], "--size apply to image folders"),
    (["--data", "CSV", "--target", "nope"], "has no column 'nope'"),
    (["--data", "CSV", "--target", "kind"], "missing values ('size' at line 6"),
    (["--data", "DATA", "--target", "kind"], "are for CSV tables"),
    (["--data", "DATA", "--task", "regression"], "--task regression is for tables"),
    (["--data", "CSV", "--target", "kind", "--model", "cnn", "--impute"], "--model cnn needs images"),
    (["--data", "NOFILE"], "data not found"),
    (["--data", "TXT"], "cannot tell what"),
])
def test_misuse_is_a_one_line_error(tmp_path, capsys, args, match):
    root = png_folder(tmp_path / "imgs", n=3)
    csv_path = table_csv(tmp_path / "t.csv", n=30, missing=True)
    (tmp_path / "x.txt").write_text("hello")
    subst = {"DATA": root, "CSV": csv_path, "NOFILE": str(tmp_path / "none"), "TXT": str(tmp_path / "x.txt")}
    args = [subst.get(a, a) for a in args]
    rc = main(["train", *args, "--out", str(tmp_path / "o"), "--progress", "none"])
    one_line_error(capsys, rc, match)


def test_data_models_refuse_named_datasets(images_run, tmp_path, capsys):
    _, out = images_run
    rc = main(["evaluate", str(out), "--dataset", "mnist"])
    one_line_error(capsys, rc, "was trained with --data")
    rc = main(["train", "--resume", str(out / "model.npz"), "--data", str(out)])
    one_line_error(capsys, rc, "--data and --resume exclude each other")
    rc = main(["train", "--resume", str(out / "model.npz"), "--dataset", "mnist"])
    one_line_error(capsys, rc, "--dataset does not apply")
    rc = main(["train", "--resume", str(out / "model.npz")])
    one_line_error(capsys, rc, "already finished its 8 epochs")


@pytest.mark.parametrize("kind", ["csv", "stream"])
def test_resume_continues_on_the_same_data(tmp_path, capsys, kind):
    if kind == "csv":
        args = ["--data", table_csv(tmp_path / "t.csv", n=60), "--target", "price", "--drop", "kind"]
    else:
        args = ["--data", png_folder(tmp_path / "imgs", n=5, size=(8, 8)), "--size", "8", "--stream"]
    out, _ = train(tmp_path, "r", *args, "--epochs", "3", "--no-plots")
    assert main(["train", "--resume", str(out / "model.npz"), "--epochs", "2", "--progress", "none",
                 "--no-plots"]) == 0
    model = sn.load_model(out / "model.npz")
    history = json.loads((out / "history.json").read_text())
    assert model.epochs_trained == 5 and history["epoch"] == [0, 1, 2, 3, 4]
    assert model.metadata["train"]["epochs"] == 5
    assert json.loads((out / "results.json").read_text())["epochs_trained"] == 5
    assert "Resuming" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["csv", "stream"])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, monkeypatch, kind):
    if kind == "csv":
        args = ["--data", table_csv(tmp_path / "t.csv", n=60), "--target", "kind", "--drop", "price"]
    else:
        args = ["--data", png_folder(tmp_path / "imgs", n=5, size=(8, 8)), "--size", "8", "--stream"]
    common = [*args, "--epochs", "4", "--progress", "none", "--no-plots", "--seed", "0"]
    assert main(["train", *common, "--out", str(tmp_path / "whole")]) == 0
    saves = []
    real_save = sn.Sequential.save

    def save_then_stop(self, path):
        real_save(self, path)
        saves.append(path)
        if len(saves) == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(sn.Sequential, "save", save_then_stop)
    assert main(["train", *common, "--out", str(tmp_path / "cut")]) == 130
    monkeypatch.setattr(sn.Sequential, "save", real_save)
    assert sn.load_model(tmp_path / "cut" / "model.npz").epochs_trained == 2
    assert main(["train", "--resume", str(tmp_path / "cut" / "model.npz"), "--progress", "none", "--no-plots"]) == 0
    whole, cut = sn.load_model(tmp_path / "whole" / "model.npz"), sn.load_model(tmp_path / "cut" / "model.npz")
    assert cut.epochs_trained == 4
    for a, b in zip(whole.get_weights(), cut.get_weights()):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


def test_folders_over_the_memory_limit_are_streamed(tmp_path, monkeypatch, capsys):
    root = png_folder(tmp_path / "imgs", n=4, size=(8, 8))
    monkeypatch.setattr("scratchnn.datasets.image_folder.MAX_IN_MEMORY_BYTES", 8 * 8 * 4 * 11)  # 11 images
    train(tmp_path, "big", "--data", root, "--size", "8", "--epochs", "1", "--no-plots")
    assert "Streaming" in capsys.readouterr().out
    monkeypatch.setattr("scratchnn.datasets.image_folder.MAX_IN_MEMORY_BYTES", 8 * 8 * 4 * 12)  # all 12 fit
    train(tmp_path, "small", "--data", root, "--size", "8", "--epochs", "1", "--no-plots")
    assert "Streaming" not in capsys.readouterr().out

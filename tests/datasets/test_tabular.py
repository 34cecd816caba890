"""CSV tables: numeric and one-hot columns, missing values, the task, a preprocessor fitted on the
training rows only and stored as JSON, and every broken file with a clear error."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from scratchnn.datasets import TablePreprocessor, load_csv_table
from scratchnn.datasets.labeled import split_test
from scratchnn.datasets.tabular import infer_task, read_csv, read_table_for_prediction
from scratchnn.errors import ConfigError, DataError
from tests.datasets.own_data import table_csv


def raw_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_numeric_standardised_on_training_rows_and_categorical_one_hot(tmp_path):
    path = table_csv(tmp_path / "t.csv", n=120)
    data = load_csv_table(path, "kind", drop=["price"], test_fraction=0.25, seed=1)
    pre = data.preprocessor
    assert data.task == "classification" and data.classes == ["big", "small"]
    assert pre.feature_names == ["size", "colour=blue", "colour=green", "colour=red", "weight"]
    assert data.x_train.shape == (90, 5) and data.x_test.shape == (30, 5) and data.x_train.dtype == np.float32
    # The statistics are those of the training rows alone (the documented seeded split), not of every row.
    rows = raw_rows(path)
    sizes = np.array([float(r["size"]) for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    train, test = split_test(len(rows), (kinds == "small").astype(int), 0.25, 1)
    assert pre.columns[0]["mean"] == pytest.approx(sizes[train].mean(), rel=1e-9)
    assert pre.columns[0]["std"] == pytest.approx(sizes[train].std(), rel=1e-9)
    assert pre.columns[0]["mean"] != pytest.approx(sizes.mean(), rel=1e-9)
    assert np.allclose(data.x_test[:, 0], (sizes[test] - sizes[train].mean()) / sizes[train].std(), atol=1e-5)
    # One-hot columns: exactly one 1 per row, matching the colour in the file.
    assert np.all(data.x_train[:, 1:4].sum(axis=1) == 1)
    colours = {r["colour"] for r in rows}
    assert colours == {"red", "green", "blue"}
    # Stratified: both classes in the test part in about their proportion.
    frac = np.mean(kinds == "big")
    assert abs(np.mean(data.y_test == 0) - frac) < 0.1


def test_task_from_the_target_or_the_flag(tmp_path):
    path = table_csv(tmp_path / "t.csv")
    reg = load_csv_table(path, "price", drop=["kind"])
    assert reg.task == "regression" and reg.classes is None and reg.y_train.dtype == np.float32
    assert reg.preprocessor.target["mean"] == pytest.approx(float(np.mean(reg.y_train)), rel=1e-5)
    z = reg.preprocessor.scale_target(reg.y_train)
    assert abs(z.mean()) < 1e-5 and np.allclose(reg.preprocessor.unscale_target(z), reg.y_train, atol=1e-4)
    assert infer_task(["1", "2", "3", "2"]) == "classification"
    assert infer_task(["1.5", "2", "3"]) == "regression"
    assert infer_task(["a", "b"]) == "classification"
    many = tmp_path / "many.csv"
    many.write_text("a,y\n" + "".join(f"{i * 0.1},{i % 25}\n" for i in range(100)))
    assert load_csv_table(many, "y").task == "regression"  # 25 distinct integers: more than 20
    as_classes = load_csv_table(many, "y", task="classification")
    assert as_classes.task == "classification" and as_classes.classes[:3] == ["0", "1", "2"]
    with pytest.raises(DataError, match="regression needs numbers"):
        load_csv_table(path, "kind", task="regression")


def test_missing_values_refused_or_imputed_from_training_rows(tmp_path):
    path = table_csv(tmp_path / "m.csv", missing=True)
    with pytest.raises(DataError, match=r"2 missing values \('size' at line 6, 'colour' at line 9\).*--impute"):
        load_csv_table(path, "kind", drop=["price"])
    data = load_csv_table(path, "kind", drop=["price"], impute=True, seed=0)
    pre = data.preprocessor
    assert any("imputed 2 missing values" in n for n in data.notes)
    size_col = pre.columns[0]
    assert size_col["fill"] is not None and pre.columns[1]["fill"] in {"red", "green", "blue"}
    # The fill is the median of the training rows' sizes.
    full = load_csv_table(path, "kind", drop=["price"], impute=True, seed=0)
    assert full.preprocessor.columns[0]["fill"] == size_col["fill"]


def test_preprocessor_is_json_and_transforms_new_rows_the_same_way(tmp_path):
    path = table_csv(tmp_path / "t.csv")
    data = load_csv_table(path, "kind", drop=["price"])
    config = json.loads(json.dumps(data.preprocessor.to_config()))
    again = TablePreprocessor.from_config(config)
    _, table, _ = read_csv(path)
    x1, _ = data.preprocessor.transform(table)
    x2, _ = again.transform(table)
    assert np.array_equal(x1, x2)
    # New rows without the target; an unseen category becomes zeros with a note.
    new = tmp_path / "new.csv"
    new.write_text("weight,size,colour\n50,10,purple\n50,10,red\n")
    x, notes, _, _ = read_table_for_prediction(new, again)
    assert x.shape == (2, 5) and x[0, 1:4].sum() == 0 and x[1, 3] == 1
    assert any("purple" in n for n in notes)
    (tmp_path / "short.csv").write_text("size,weight\n1,2\n")
    with pytest.raises(DataError, match="lacks the column colour"):
        again.transform(read_csv(tmp_path / "short.csv")[1])
    with pytest.raises(DataError, match="malformed"):
        TablePreprocessor.from_config({"kind": "csv-table", "columns": [{"name": "a", "kind": "numeric"}],
                                       "target": {"task": "regression", "mean": 0, "std": 1}})


def test_given_preprocessor_keeps_the_models_classes(tmp_path):
    path = table_csv(tmp_path / "t.csv")
    data = load_csv_table(path, "kind", drop=["price"])
    other = tmp_path / "o.csv"
    other.write_text("size,colour,weight,kind\n9,red,50,small\n14,blue,40,small\n20,red,60,small\n")
    again = load_csv_table(other, "kind", preprocessor=data.preprocessor, test_fraction=0.4)
    assert again.classes == ["big", "small"] and set(np.concatenate([again.y_train, again.y_test])) == {1}
    other.write_text("size,colour,weight,kind\n9,red,50,huge\n14,blue,40,small\n")
    with pytest.raises(DataError, match="values the model does not know: huge"):
        load_csv_table(other, "kind", preprocessor=data.preprocessor)


@pytest.mark.parametrize("text, kwargs, error, match", [
    ("", {}, DataError, "the file is empty"),
    ("a,b\n", {}, DataError, "header but no rows"),
    ("a,a,y\n1,2,x\n", {}, DataError, "repeated: a"),
    ("a,,y\n1,2,x\n", {}, DataError, "blank column name"),
    ("a,y\n1,x\n2,y,3\n", {}, DataError, "line 3: 3 fields, but the header has 2"),
    ("a,y\n1,x\n2,\n3,y\n", {}, DataError, "no value for the target 'y' \\(line 3\\)"),
    ("a,y\n1,x\n2,x\n", {}, DataError, "one value only"),
    ("a,y\n1,x\n2,z\n", {"target": "label"}, ConfigError, "no column 'label'; its columns are a, y"),
    ("a,y\n1,x\n2,z\n", {"drop": ["b"]}, ConfigError, "cannot drop 'b'"),
    ("a,y\n" + "1,x\n2,z\n" * 5, {"drop": ["a"]}, DataError, "no input column besides the target"),
    ("a,y\n1,x\n2,z\n", {"task": "sorting"}, ConfigError, "task must be"),
    ("id,y\n" + "".join(f"n{i},{i % 2}\n" for i in range(300)), {}, DataError, "is it an identifier"),
])
def test_broken_tables(tmp_path, text, kwargs, error, match):
    path = tmp_path / "b.csv"
    path.write_text(text)
    kwargs = {"target": "y", **kwargs}
    with pytest.raises(error, match=match):
        load_csv_table(path, kwargs.pop("target"), **kwargs)


def test_semicolons_tabs_and_missing_file(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("a;b;y\n" + "".join(f"{i};{i * 2};{'p' if i % 2 else 'q'}\n" for i in range(20)))
    assert load_csv_table(path, "y").x_train.shape[1] == 2
    with pytest.raises(FileNotFoundError):
        load_csv_table(tmp_path / "none.csv", "y")
    (tmp_path / "bin.csv").write_bytes(b"a,y\n\xff\xfe,1\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_csv_table(tmp_path / "bin.csv", "y")

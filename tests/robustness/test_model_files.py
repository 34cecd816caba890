"""Hostile model files: every one ends in ModelFileError (or a correct model), never runs code.

The big fuzz batch runs ``fuzz_model_files.py`` in a subprocess under RLIMIT_AS;
``SCRATCHNN_FUZZ_N`` sets its size (default 1500 files; e.g. 50000 for a long run).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scratchnn as sn
from tests.robustness import fuzz_model_files as fz  # noqa: E402

L = sn.layers
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def valid_bytes() -> bytes:
    return fz.to_bytes(fz.base_models()[0])


def _write(tmp_path, data: bytes, name="m.npz") -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def _load_fails(tmp_path, data: bytes, match: str):
    with pytest.raises(sn.ModelFileError, match=match):
        sn.load_model(_write(tmp_path, data))


def test_valid_file_round_trip(tmp_path, valid_bytes):
    model = sn.load_model(_write(tmp_path, valid_bytes))
    again = fz.to_bytes(model)
    assert fz.config_of(fz.members(again)) == fz.config_of(fz.members(valid_bytes))
    for name, payload in fz.members(valid_bytes).items():
        assert fz.members(again)[name] == payload, name


def test_format_is_versioned(tmp_path, valid_bytes):
    items = fz.members(valid_bytes)
    cfg = fz.config_of(items)
    assert cfg["format"] == "scratchnn-model" and cfg["format_version"] == 2
    cfg["format_version"] = 3
    _load_fails(tmp_path, fz.rezip(fz.with_config(items, cfg)), r"format version 3; this scratchnn .* reads versions 1, 2")


def test_pickled_object_array_is_never_unpickled(tmp_path, valid_bytes):
    marker = tmp_path / "PWNED"
    items = fz.members(valid_bytes)
    obj = np.empty(1, dtype=object)
    obj[0] = fz._Marker(str(marker))
    for name in items:
        bad = dict(items)
        bad[name] = fz.npy(obj)
        _load_fails(tmp_path, fz.rezip(list(bad.items())), r"dtype object, not a plain number type")
    assert not marker.exists()


@pytest.mark.parametrize("name", ["os.system", "__import__", "builtins.eval", "Sequential", "Layer", "object"])
def test_unknown_layer_class_names(tmp_path, valid_bytes, name):
    items = fz.members(valid_bytes)
    cfg = fz.config_of(items)
    cfg["model"]["layers"][0]["class_name"] = name
    _load_fails(tmp_path, fz.rezip(fz.with_config(items, cfg)), rf"unknown layer class '{name}'")


@pytest.mark.parametrize("section,name", [("loss", "os.system"), ("optimizer", "__import__")])
def test_unknown_loss_and_optimizer_names(tmp_path, valid_bytes, section, name):
    items = fz.members(valid_bytes)
    cfg = fz.config_of(items)
    cfg["compile"][section]["class_name"] = name
    _load_fails(tmp_path, fz.rezip(fz.with_config(items, cfg)), rf"unknown {section} class '{name}'")


@pytest.mark.parametrize("raw,match", [
    (b"[]", "format marker is missing"), (b"42", "format marker is missing"), (b"\xff\xfe", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON|nesting too deep"),
    (b'{"format": "scratchnn-model", "format_version": 1, "model": []}', "neither a Sequential nor a Model"),
    (b'{"training": {"rng_state": ' + b"9" * 10_000 + b"}}", "not valid JSON"),
], ids=["list", "int", "not-utf8", "deep-nesting", "model-not-dict", "huge-int"])
def test_non_dict_and_deeply_nested_configs(tmp_path, valid_bytes, raw, match):
    _load_fails(tmp_path, fz.rezip(fz.with_config(fz.members(valid_bytes), raw)), match)


def test_huge_layer_in_config_is_refused_before_allocating(tmp_path, valid_bytes):
    items = fz.members(valid_bytes)
    cfg = fz.config_of(items)
    cfg["model"]["layers"][0]["config"].update(in_features=10**9, out_features=10**9)
    cfg["model"]["input_shape"] = [10**9]
    _load_fails(tmp_path, fz.rezip(fz.with_config(items, cfg)),
                r"Dense \(layer 1 of 4\) with input \(1000000000,\) has arrays .*the file declares")


def test_huge_declared_array_header(tmp_path, valid_bytes):
    items = fz.members(valid_bytes)
    items["params/0/W.npy"] = fz.npy_header("<f4", (10**12,), b"\0" * 64)
    _load_fails(tmp_path, fz.rezip(list(items.items())), r"declares shape \(1000000000000,\)")


def test_zip_bomb_member_is_refused(tmp_path, valid_bytes):
    items = fz.members(valid_bytes)
    items["params/0/W.npy"] += b"\0" * 10**7
    _load_fails(tmp_path, fz.rezip(list(items.items()), zipfile.ZIP_DEFLATED), "is compressed")
    blob = bytearray(fz.rezip(list(fz.members(valid_bytes).items())))
    cd = blob.rfind(b"PK\x01\x02")  # the last member claims 4 GB in the central directory
    blob[cd + 20:cd + 28] = (0xFFFFFFF0).to_bytes(4, "little") * 2
    _load_fails(tmp_path, bytes(blob), "more than the file holds|cannot open it")


def test_duplicated_member(tmp_path, valid_bytes):
    items = list(fz.members(valid_bytes).items())
    _load_fails(tmp_path, fz.rezip(items + [items[1]]), "appears twice")


def test_unexpected_and_missing_members(tmp_path, valid_bytes):
    items = fz.members(valid_bytes)
    _load_fails(tmp_path, fz.rezip(list(items.items()) + [("evil.py", b"print(1)")]), "unexpected member 'evil.py'")
    _load_fails(tmp_path, fz.rezip(list(items.items()) + [("params/0/Z.npy", fz.npy(np.ones(2, np.float32)))]),
                r"unexpected arrays|has arrays")
    del items["params/3/b.npy"]
    _load_fails(tmp_path, fz.rezip(list(items.items())), r"has arrays .*the file declares")


def test_wrong_shape_and_dtype(tmp_path, valid_bytes):
    items = fz.members(valid_bytes)
    bad = dict(items, **{"params/0/W.npy": fz.npy(np.zeros((8, 4), np.float32))})
    _load_fails(tmp_path, fz.rezip(list(bad.items())), r"has arrays .*'W': \(4, 8\).*'W': \(8, 4\)")
    for dt in ["<f8", ">f4", "<c8"]:
        bad = dict(items, **{"params/0/W.npy": fz.npy(np.zeros((4, 8), dt))})
        _load_fails(tmp_path, fz.rezip(list(bad.items())), r"dtype")
    bad = dict(items, **{"optimizer/0/W/m.npy": fz.npy(np.zeros((4, 9), np.float32))})
    _load_fails(tmp_path, fz.rezip(list(bad.items())), r"optimizer/0/W/m' has shape \(4, 9\), expected \(4, 8\)")


def test_truncated_files(tmp_path, valid_bytes):
    for cut in range(0, len(valid_bytes), max(1, len(valid_bytes) // 60)):
        with pytest.raises(sn.ModelFileError):
            sn.load_model(_write(tmp_path, valid_bytes[:cut]))


def test_missing_file_is_a_plain_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        sn.load_model(tmp_path / "nope.npz")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10**9)))
def test_hypothesis_mutated_bytes(tmp_path, valid_bytes, flips, cut):
    b = bytearray(valid_bytes)
    for pos, val in flips:
        b[pos % len(b)] = val
    if cut is not None:
        b = b[:cut % len(b)]
    try:
        model = sn.load_model(_write(tmp_path, bytes(b)))
    except sn.ModelFileError:
        return
    assert isinstance(model, sn.Sequential)


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                      st.text(max_size=20))
JSON = st.recursive(JSON_LEAF, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c,
                                                                                            max_size=4)),
                    max_leaves=20)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hypothesis_config_values(tmp_path, valid_bytes, data):
    items = fz.members(valid_bytes)
    cfg = fz.config_of(items)
    paths = [p for p, _ in fz._paths(cfg) if p]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(JSON)
    fz._set(cfg, path, value)
    try:
        model = sn.load_model(_write(tmp_path, fz.rezip(fz.with_config(items, cfg))))
    except sn.ModelFileError:
        return
    assert isinstance(model, sn.Model)
    model.predict(np.zeros((2,) + tuple(model.input_shape), np.float32))


def test_fuzz_batch_in_a_memory_limited_subprocess(tmp_path):
    """A few thousand mutated/crafted files in a child under RLIMIT_AS: exit 0, nothing executed."""
    n = int(os.environ.get("SCRATCHNN_FUZZ_N", 1500))
    proc = subprocess.run([sys.executable, str(HERE / "fuzz_model_files.py"), "--n", str(n), "--seed", "7",
                           "--workdir", str(tmp_path), "--memory-limit-mb", "4096"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["files"] == n and result["rejected"] + result["loaded"] == n
    assert not result["executed"] and not (tmp_path / "PWNED").exists()
    assert result["rejected"] > n // 2  # most hostile files must be refused, not silently "repaired"
    assert set(result["by_kind"]) == set(fz.KINDS)


class _Undeclared(sn.layers.Layer):
    """A layer that breaks contract v2: it creates an array without declaring it."""

    def __init__(self, n: int = 4, *, name=None):
        super().__init__(name=name)
        self.n = int(n)

    def _build(self, input_shape, rng):
        self.params["w"] = rng.standard_normal((self.n,)).astype(self.dtype)

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        self.grads["w"][...] = 0
        return dy

    def get_config(self):
        return {**super().get_config(), "n": self.n}


def test_a_layer_that_does_not_declare_its_arrays_cannot_be_loaded(tmp_path):
    """Loading checks declared shapes in a dry run (rng=None), so an undeclared array is never drawn."""
    sn.registry.LAYERS["_Undeclared"] = _Undeclared
    try:
        m = sn.Sequential([L.Dense(2, 3), _Undeclared(4)], seed=0)
        m.build((2,))
        m.save(tmp_path / "ok.npz")
        items = fz.members((tmp_path / "ok.npz").read_bytes())
        cfg = fz.config_of(items)
        cfg["model"]["layers"][1]["config"]["n"] = 10**10  # 40 GB of random numbers, if drawn
        for data in ((tmp_path / "ok.npz").read_bytes(), fz.rezip(fz.with_config(items, cfg))):
            _load_fails(tmp_path, data, "_Undeclared")
    finally:
        del sn.registry.LAYERS["_Undeclared"]


def _graph_bytes():
    return fz.to_bytes(fz.base_models()[-2])  # the residual graph with a shared layer


@pytest.mark.parametrize("change,match", [
    (lambda m: m["nodes"][1]["inputs"].__setitem__(0, ["node", 1]), "not an input or an earlier node"),
    (lambda m: m["nodes"][0]["inputs"].__setitem__(0, ["node", 3]), "not an input or an earlier node"),
    (lambda m: m["nodes"][0]["inputs"].__setitem__(0, ["input", 5]), "not an input or an earlier node"),
    (lambda m: m.__setitem__("outputs", m["outputs"] * 2), "an output is listed twice"),
    (lambda m: m["nodes"][2].__setitem__("inputs", [["input", 0]] * 65), r"has 65 inputs \(1 to 64\)"),
    (lambda m: m["nodes"][2].__setitem__("layer", 99), "names no valid layer"),
    (lambda m: m["layers"].append({"class_name": "ReLU", "config": {}}), "not used by any graph node"),
    (lambda m: m["nodes"].append({"layer": 0, "inputs": [["input", 0]]}), "does not lead to any output"),
    (lambda m: m["layers"][0].update(class_name="os.system"), "unknown layer class"),
])
def test_hostile_graph_configurations(tmp_path, change, match):
    items = fz.members(_graph_bytes())
    cfg = fz.config_of(items)
    assert cfg["model"]["class_name"] == "Model"
    change(cfg["model"])
    _load_fails(tmp_path, fz.rezip(fz.with_config(items, cfg)), match)


def test_a_2000_layer_graph_saves_and_loads_without_recursion(tmp_path):
    x = sn.Input((3,))
    h = x
    for _ in range(2000):
        h = L.Add()([h, L.Identity()(h)]) if _ % 500 == 0 else L.Identity()(h)
    model = sn.Model(x, h, seed=0)
    model.save(tmp_path / "deep.npz")
    loaded = sn.load_model(tmp_path / "deep.npz")
    assert len(loaded.nodes) == len(model.nodes)
    np.testing.assert_array_equal(loaded.predict(np.ones((2, 3))), model.predict(np.ones((2, 3))))

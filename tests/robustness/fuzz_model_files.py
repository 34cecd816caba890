"""Fuzz ``scratchnn.load_model`` with mutated, truncated and crafted model files.

Run by ``test_model_files.py`` in a subprocess (so a crash of the interpreter shows
as a bad exit code) under ``RLIMIT_AS`` (so an unbounded allocation fails loudly),
or by hand for a bigger run::

    python tests/robustness/fuzz_model_files.py --n 20000 --seed 1

Each file must load as a model or raise ``ModelFileError``; nothing else. The
memory NumPy allocates while loading (tracemalloc peak) must stay within
``8 x file size + 4 MiB``; a ``MemoryError`` turned into ``ModelFileError`` also
counts as a failure. Crafted pickle payloads would create a marker file if
they were ever unpickled. Prints one JSON line with the counts.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import struct
import sys
import tempfile
import tracemalloc
import zipfile

import numpy as np

import scratchnn as sn

L = sn.layers


# ----------------------------------------------------------------- base files
def base_models() -> list[sn.Sequential]:
    rng = np.random.default_rng(0)
    mlp = sn.Sequential([L.Dense(4, 8), L.ReLU(), L.Dropout(0.25), L.Dense(8, 3)], seed=1)
    mlp.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.Adam(lr=0.01), metrics=["accuracy"])
    mlp.fit(rng.normal(size=(32, 4)), rng.integers(0, 3, 32), epochs=1, batch_size=8, verbose=0)
    models = [mlp]
    if "Conv2D" in sn.registry.LAYERS and "Flatten" in sn.registry.LAYERS:
        cnn = sn.Sequential([L.Conv2D(1, 2, 3), L.ReLU(), L.Flatten(), L.Dense(2 * 4 * 4, 2)], seed=2)
        cnn.compile("mse", sn.optimizers.SGD(lr=0.1, momentum=0.9))
        cnn.fit(rng.normal(size=(8, 1, 6, 6)), rng.normal(size=(8, 2)), epochs=1, batch_size=4, verbose=0)
        models.append(cnn)
    if "LSTM" in sn.registry.LAYERS:
        rnn = sn.Sequential([L.LSTM(3, 4), L.Dense(4, 1)], seed=3)
        rnn.build((5, 3))
        models.append(rnn)
    # graph models: a residual block with a layer used twice, and two inputs joined
    x = sn.Input((4,))
    shared = L.Dense(4, 4)
    h = L.Add()([x, L.ReLU()(shared(x))])
    h = L.Add()([h, shared(h)])
    res = sn.Model(x, L.Dense(4, 2)(h), seed=4)
    res.compile("mse", "adam")
    res.fit(rng.normal(size=(8, 4)), rng.normal(size=(8, 2)), epochs=1, batch_size=4, verbose=0)
    a, b = sn.Input((3,)), sn.Input((2, 3))
    joined = L.Concatenate()([L.Dense(3, 2)(a), L.Flatten()(b)])
    two = sn.Model([a, b], [L.Dense(8, 1)(joined), joined], seed=5)
    models += [res, two]
    return models


def to_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.npz")
        model.save(p)
        with open(p, "rb") as f:
            return f.read()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(items: list[tuple[str, bytes]], compress: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicated names on purpose
        with zipfile.ZipFile(buf, "w", compression=compress) as z:
            for name, payload in items:
                z.writestr(name, payload)
    return buf.getvalue()


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


def npy_header(descr: str, shape: tuple, payload: bytes = b"") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


class _Marker:
    """Unpickling this runs ``open(marker, "w")``: the marker file must never appear."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def config_of(items: dict[str, bytes]) -> dict:
    arr = np.lib.format.read_array(io.BytesIO(items["__config__.npy"]))
    return json.loads(arr.tobytes())


def with_config(items: dict[str, bytes], cfg) -> list[tuple[str, bytes]]:
    raw = cfg if isinstance(cfg, bytes) else json.dumps(cfg).encode()
    out = dict(items)
    out["__config__.npy"] = npy(np.frombuffer(raw, dtype=np.uint8))
    return list(out.items())


HOSTILE_VALUES = [None, True, -1, 0, 2**31, 10**9, 2**64, 10**30, 1e308, float("nan"), "", "os.system",
                  "__import__", "builtins.eval", {"class_name": "os.system"}, [], [[[[]]]], {"a": 1},
                  "x" * 1000, -(10**9), [10**9, 10**9]]


def _paths(obj, prefix=()):
    """Every (path, value) inside a JSON object."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value):
    if not path:
        return value
    cur = obj
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return obj


# ------------------------------------------------------------------ mutators
_MEMBERS_CACHE: dict[bytes, dict[str, bytes]] = {}


def mutate(data: bytes, rng: np.random.Generator, marker: str) -> tuple[str, bytes]:
    """One hostile variant of the valid file ``data``; returns (kind, bytes)."""
    kind = str(rng.choice(KINDS))
    if data not in _MEMBERS_CACHE:
        _MEMBERS_CACHE[data] = members(data)
    items = dict(_MEMBERS_CACHE[data])
    names = list(items)
    if kind == "flip":
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 8))):
            b[int(rng.integers(len(b)))] = int(rng.integers(256))
        return kind, bytes(b)
    if kind == "truncate":
        return kind, data[:int(rng.integers(len(data)))]
    if kind == "config_value":
        cfg = config_of(items)
        paths = [p for p, _ in _paths(cfg)]
        path = paths[int(rng.integers(len(paths)))]
        value = HOSTILE_VALUES[int(rng.integers(len(HOSTILE_VALUES)))]
        return kind, rezip(with_config(items, _set(cfg, path, value)))
    if kind == "config_class":
        cfg = config_of(items)
        spots = [p for p, v in _paths(cfg) if p and p[-1] == "class_name"]
        path = spots[int(rng.integers(len(spots)))]
        name = ["os.system", "__import__", "eval", "exec", "Sequential", "Layer", "History", "object",
                "type", "subprocess.Popen", "Dense", "LSTM", "Bidirectional"][int(rng.integers(13))]
        return kind, rezip(with_config(items, _set(cfg, path, name)))
    if kind == "config_huge_layer":
        cfg = config_of(items)
        spots = [p for p, v in _paths(cfg) if isinstance(v, int) and not isinstance(v, bool)
                 and p and isinstance(p[-1], str) and p[0] == "model"]
        path = spots[int(rng.integers(len(spots)))]
        return kind, rezip(with_config(items, _set(cfg, path, int(rng.choice([10**5, 10**6, 10**9, 2**31 - 1])))))
    if kind == "config_raw":
        raw = [b"[]", b"null", b"42", b'"x"', b"{" * 100000, b"[" * 200000 + b"]" * 200000, b"\xff\xfe",
               b'{"format": "scratchnn-model", "format_version": 99}', b"{}", b"1e99999",
               b'{"format": "scratchnn-model", "format_version": 1, "model": ' + b"[" * 50000 + b"]" * 50000 + b"}",
               b'{"training": {"rng_state": ' + b"9" * 10000 + b"}}"][int(rng.integers(12))]
        return kind, rezip(with_config(items, raw))
    if kind == "array_shape":
        name = [n for n in names if n != "__config__.npy"][int(rng.integers(len(names) - 1))]
        arr = np.lib.format.read_array(io.BytesIO(items[name]))
        shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(0, 4))))
        new = rng.standard_normal(shape).astype(arr.dtype)
        items[name] = npy(new)
        return kind, rezip(list(items.items()))
    if kind == "array_dtype":
        name = names[int(rng.integers(len(names)))]
        arr = np.lib.format.read_array(io.BytesIO(items[name]))
        dt = ["<f8", "<f2", ">f4", "<i4", "<c8", "<U3", "|b1", "<M8[s]"][int(rng.integers(8))]
        try:
            items[name] = npy(arr.astype(dt))
        except (TypeError, ValueError):
            items[name] = npy(np.zeros(arr.shape, dtype="<c16"))
        return kind, rezip(list(items.items()))
    if kind == "pickle":
        name = names[int(rng.integers(len(names)))]
        obj = np.empty(2, dtype=object)
        obj[0], obj[1] = _Marker(marker), 1
        items[name] = npy(obj)
        return kind, rezip(list(items.items()))
    if kind == "huge_header":
        name = names[int(rng.integers(len(names)))]
        shape = [(10**12,), (2**31, 2**31), (2**62, 4), (10**6, 10**6), (-1, 5), (3, 4)][int(rng.integers(6))]
        items[name] = npy_header("<f4", shape, b"\x00" * 64)
        return kind, rezip(list(items.items()))
    if kind == "zip_bomb":
        name = names[int(rng.integers(len(names)))]
        items[name] = items[name] + b"\x00" * int(rng.choice([10**5, 10**6]))
        blob = bytearray(rezip(list(items.items()), zipfile.ZIP_DEFLATED))
        if rng.random() < 0.5:  # also lie about the uncompressed size in the central directory
            cd = blob.rfind(b"PK\x01\x02")
            blob[cd + 24:cd + 28] = struct.pack("<I", 0xFFFFFFF0)
        return kind, bytes(blob)
    if kind == "duplicate":
        name = names[int(rng.integers(len(names)))]
        extra = (name, npy(np.zeros(3, dtype=np.float32)))
        return kind, rezip(list(items.items()) + [extra])
    if kind == "drop_or_extra":
        lst = list(items.items())
        if rng.random() < 0.5 and len(lst) > 1:
            del lst[int(rng.integers(len(lst)))]
        else:
            lst.append(([f"params/{int(rng.integers(9))}/W.npy", "evil.py", "../x.npy", "optimizer/0/W/m.npy",
                         "buffers/0/x.npy"][int(rng.integers(5))], npy(np.ones(4, np.float32))))
        return kind, rezip(lst)
    if kind == "deep_json":
        depth = int(rng.choice([1000, 10**5]))
        cfg = config_of(items)
        cfg["metadata"] = json.loads("[" * 10 + "]" * 10)
        raw = json.dumps(cfg).encode().replace(b'"metadata": [', b'"metadata": ' + b"[" * depth + b"[", 1)
        raw = raw[:-1] + b"]" * depth + b"}"
        return kind, rezip(with_config(items, raw))
    if kind in ("graph_ref", "graph_fan_in"):
        cfg = config_of(items)
        nodes = cfg["model"].get("nodes")
        if not nodes:  # a Sequential: make it claim to be a graph with a broken node list
            cfg["model"]["class_name"] = "Model"
            cfg["model"]["nodes"] = [{"layer": 0, "inputs": [["node", 0]]}]
            return kind, rezip(with_config(items, cfg))
        j = int(rng.integers(len(nodes)))
        if kind == "graph_fan_in":
            nodes[j]["inputs"] = [["input", 0]] * int(rng.choice([65, 10**4, 10**5]))
        else:
            ref = [["node", j], ["node", j + 1 + int(rng.integers(5))], ["node", -1], ["input", 99],
                   ["layer", 0], ["node", 2**62], "x", None, ["node", 1.5]][int(rng.integers(9))]
            nodes[j]["inputs"][0] = ref  # a cycle, a forward or dangling reference, or junk
            if rng.random() < 0.3:
                cfg["model"]["outputs"] = cfg["model"]["outputs"] * 2  # a duplicate output
        return kind, rezip(with_config(items, cfg))
    raise AssertionError(kind)


KINDS = ["graph_ref", "graph_fan_in", "flip", "truncate", "config_value", "config_class", "config_huge_layer",
         "config_raw", "array_shape",
         "array_dtype", "pickle", "huge_header", "zip_bomb", "duplicate", "drop_or_extra", "deep_json"]


# --------------------------------------------------------------------- driver
def check_one(path: str, size: int) -> tuple[str, str]:
    """Load ``path``; returns ("model"|"error", detail) or raises AssertionError."""
    tracemalloc.start()
    try:
        model = sn.load_model(path)
    except sn.ModelFileError as exc:
        msg = str(exc)
        if "MemoryError" in msg:
            raise AssertionError(f"tried a huge allocation: {msg[:300]}") from None
        outcome = ("error", msg)
    else:
        if not isinstance(model, sn.Model):
            raise AssertionError(f"load_model returned {type(model)}")
        outcome = ("model", "")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # Linear in the file's size: parsed JSON of many tiny lists (a graph's references) costs
    # up to ~13 bytes of Python objects per byte of text, arrays at most their own size.
    if peak > 16 * size + 4 * 2**20:
        raise AssertionError(f"peak memory {peak} bytes for a {size}-byte file")
    return outcome


def run(n: int, seed: int, workdir: str) -> dict:
    rng = np.random.default_rng(seed)
    marker = os.path.join(workdir, "PWNED")
    bases = [to_bytes(m) for m in base_models()]
    counts: dict[str, dict[str, int]] = {}
    path = os.path.join(workdir, "fuzz.npz")
    for i in range(n):
        kind, data = mutate(bases[i % len(bases)], rng, marker)
        with open(path, "wb") as f:
            f.write(data)
        try:
            outcome, _ = check_one(path, len(data))
        except AssertionError as exc:
            keep = os.path.join(workdir, f"failure-{i}.npz")
            os.replace(path, keep)
            raise AssertionError(f"file {i} ({kind}), kept at {keep}: {exc}") from None
        except Exception as exc:
            keep = os.path.join(workdir, f"failure-{i}.npz")
            os.replace(path, keep)
            raise AssertionError(f"file {i} ({kind}) raised {type(exc).__name__}: {exc}; kept at {keep}") from exc
        c = counts.setdefault(kind, {"error": 0, "model": 0})
        c[outcome] += 1
        if os.path.exists(marker):
            raise AssertionError(f"file {i} ({kind}) executed code: the marker file was created")
    return {"files": n, "seed": seed, "rejected": sum(c["error"] for c in counts.values()),
            "loaded": sum(c["model"] for c in counts.values()), "executed": os.path.exists(marker),
            "by_kind": counts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=int(os.environ.get("SCRATCHNN_FUZZ_N", 2000)))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--memory-limit-mb", type=int, default=0, help="RLIMIT_AS for this process (0: none)")
    args = ap.parse_args(argv)
    if args.memory_limit_mb:
        import resource
        limit = args.memory_limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.n, args.seed, args.workdir or tmp)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

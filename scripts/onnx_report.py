"""Which layers export to ONNX, and how closely onnxruntime reproduces ``model.predict``.

Runs every per-layer case of the ONNX tests (``tests/layer_cases.py`` plus
``tests/onnx/onnx_cases.py``) and the MLP, CNN and LSTM models on random inputs of
1, 3 and 17 samples, float32, onnxruntime's CPU provider, and prints one row per
layer class with the largest |onnxruntime - predict| over its cases, then one JSON line.

    python scripts/onnx_report.py
    python scripts/onnx_report.py runs/mlp/model.npz runs/cnn/model.npz   # + trained digit models

Trained image classifiers given on the command line are also exported and run on the
2,000 images of the bundled MNIST test subset: largest difference in the outputs and
how many predicted classes agree.
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import onnxruntime  # noqa: E402

import scratchnn as sn  # noqa: E402
import scratchnn.onnx as sno  # noqa: E402
from scratchnn.registry import LAYERS  # noqa: E402
from tests.onnx.onnx_cases import BATCH_SIZES, MODEL_CASES, build_model_case, layer_cases, measure, model_for_layer  # noqa: E402


def trained(path: str) -> dict:
    """Export a trained image classifier and compare it on the bundled MNIST test images."""
    import numpy as np

    from scratchnn.datasets import images_to_inputs, load_bundled_mnist

    model = sn.load_model(path, compile=False)
    _, test = load_bundled_mnist()
    x = images_to_inputs(test[0], model.input_shape)
    expected = model.predict(x)
    got = sno.run_onnx(sno.to_onnx(model), x)
    return {"model": path, "images": len(x), "max_abs_diff": float(np.max(np.abs(got - expected))),
            "max_abs_output": float(np.max(np.abs(expected))),
            "same_class": int(np.sum(got.argmax(1) == expected.argmax(1)))}


def main() -> None:
    import onnx

    layers: dict[str, dict] = {}
    for name, _, case in layer_cases():
        row = layers.setdefault(name, {"cases": 0, "max_abs_diff": 0.0, "ops": set()})
        entry = sno.EXPORTERS.get(name)
        if isinstance(entry, sno.NotExportable):
            row["not_exportable"] = entry.reason
            continue
        model = model_for_layer(case)
        proto = sno.to_onnx(model)
        row["ops"] |= {n.op_type for n in proto.graph.node if n.output[0] != "output"}
        row["max_abs_diff"] = max(row["max_abs_diff"], measure(model, proto, case[1], case[2]))
        row["cases"] += 1
    models = {}
    for name, (_, needs, kwargs) in MODEL_CASES.items():
        if any(n not in LAYERS for n in needs):
            models[name] = None
            continue
        model = build_model_case(name)
        models[name] = measure(model, sno.to_onnx(model), model.input_shape, kwargs)

    print(f"scratchnn {sn.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"opset {sno.DEFAULT_OPSET}, float32, batch sizes {BATCH_SIZES}, {platform.machine()}")
    print(f"{'layer':<16} {'cases':>5}  {'max |ort - predict|':>20}  ONNX operators")
    print("-" * 78)
    for name in sorted(layers):
        row = layers[name]
        if "not_exportable" in row:
            print(f"{name:<16} {'-':>5}  {'not exportable':>20}  {row['not_exportable']}")
            continue
        ops = ", ".join(sorted(row["ops"]))
        print(f"{name:<16} {row['cases']:>5}  {row['max_abs_diff']:>20.3g}  {ops}")
    missing = sorted(set(LAYERS) - set(layers))
    print("-" * 78)
    for name, diff in models.items():
        print(f"{name + ' model':<16} {'':>5}  {f'{diff:.3g}' if diff is not None else 'layers missing':>20}")
    if missing:
        print(f"registered layers without a test case: {missing}")
    runs = [trained(p) for p in sys.argv[1:]]
    for r in runs:
        print(f"{r['model']}: {r['images']} bundled MNIST test images, max |ort - predict| = "
              f"{r['max_abs_diff']:.3g} (outputs up to {r['max_abs_output']:.3g}), "
              f"same class for {r['same_class']}/{r['images']}")
    print(json.dumps({
        "onnx_report": {name: {"cases": r["cases"], "max_abs_diff": r["max_abs_diff"]}
                        for name, r in sorted(layers.items()) if "not_exportable" not in r},
        "not_exportable": {name: r["not_exportable"] for name, r in layers.items() if "not_exportable" in r},
        "models": models, "trained": runs, "opset": sno.DEFAULT_OPSET, "batch_sizes": list(BATCH_SIZES),
        "onnxruntime": onnxruntime.__version__,
    }))


if __name__ == "__main__":
    main()

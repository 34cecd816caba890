"""``scratchnn export MODEL.npz OUT.onnx``: write a saved model as an ONNX file.

The ONNX graph has one input ``input`` (N, *input shape) and one output ``output``
with a dynamic batch size N; onnxruntime gives ``model.predict``'s results on it
(see :func:`scratchnn.onnx.export`). Errors (missing or invalid model file, a layer
with no ONNX form, onnx not installed, an unwritable output path) are raised and
printed as one line by :func:`scratchnn.cli.main`.
"""
from __future__ import annotations

import os

import numpy as np

from ._common import add_parser, model_file_path

EXAMPLES = """\
  scratchnn export runs/mlp/model.npz digits.onnx
  scratchnn export runs/mlp digits.onnx                 # a run folder works too
  scratchnn export runs/cnn/model.npz cnn.onnx --opset 20 --verify

The graph has one input "input" (N, *input shape) and one output "output" with a
dynamic batch size N; run it with onnxruntime:
  sess = onnxruntime.InferenceSession("digits.onnx")
  probs = sess.run(None, {"input": x.astype("float32")})[0]    # == model.predict(x)
"""


def register(subparsers) -> None:
    p = add_parser(subparsers, "export", help="write a model file as ONNX, to run in any ONNX runtime",
                   description="Write a saved scratchnn model as an ONNX file (needs the onnx package: "
                   "pip install 'scratchnn[onnx]'). The file carries the scratchnn version and the "
                   "layer configuration in its metadata.", examples=EXAMPLES)
    p.add_argument("model", help="a .npz model file written by scratchnn (or a folder holding model.npz)")
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, >= 14 (default 17)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="type of the weights and tensors (default float32; onnxruntime runs "
                        "Conv and LSTM in float32 only)")
    p.add_argument("--verify", action="store_true",
                   help="run the file in onnxruntime on random inputs and print the largest "
                        "difference from model.predict")
    p.set_defaults(func=run)


def _random_input(model, rng: np.random.Generator, n: int = 8) -> np.ndarray:
    first = model.layers[0]
    shape = (n,) + tuple(model.input_shape)
    if type(first).__name__ == "Embedding":  # token ids
        return rng.integers(0, first.num_embeddings, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def run(args) -> int:
    from ..errors import ScratchnnError
    from ..io import load_model
    from ..onnx import export, max_abs_diff

    path = model_file_path(args.model)
    model = load_model(path, compile=False)
    try:
        proto = export(model, args.output, opset=args.opset, dtype=args.dtype)
    except OSError as exc:  # name the file asked for, not the temporary file beside it
        raise OSError(exc.errno, f"cannot write {args.output} ({exc.strerror or exc})") from None
    size = os.path.getsize(args.output)
    in_shape = ", ".join(["N", *map(str, model.input_shape)])
    out_shape = ", ".join(["N", *map(str, model.output_shape)])
    print(f"wrote {args.output} ({size / 1e3:,.1f} kB, opset {args.opset}, "
          f"{len(model.layers)} layers, {len(proto.graph.node)} nodes): "
          f"input 'input' ({in_shape}) -> output 'output' ({out_shape})")
    if args.verify:
        x = _random_input(model, np.random.default_rng(0))
        try:
            diff = max_abs_diff(model, args.output, x)
        except (ImportError, ScratchnnError):
            raise
        except Exception as exc:  # onnxruntime's own error types (e.g. no float64 Conv kernel)
            raise ScratchnnError(f"onnxruntime could not run {args.output}: {exc}") from None
        print(f"verified with onnxruntime on {len(x)} random inputs: "
              f"max |onnx - predict| = {diff:.3g}")
    return 0

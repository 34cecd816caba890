"""``scratchnn export MODEL.npz OUT.onnx``: write a saved model as an ONNX file.

The ONNX graph has one input ``input`` (N, *input shape) and one output ``output``
with a dynamic batch size N; onnxruntime gives ``model.predict``'s results on it -- the
logits, for a classifier -- or, with ``--probabilities``, ``model.predict_proba``'s (see
:func:`scratchnn.onnx.export`). The output is never the input model (refused even with
``--force``) and never replaces an existing file without ``--force``; an extension other
than ``.onnx`` gets a warning. ``--verify`` checks that onnxruntime is installed before
anything is written.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from ._common import add_force, add_parser, model_file_path, stderr
from .run_folder import UsageError, check_new_file

EXAMPLES = """\
  scratchnn export runs/latest digits.onnx                  # a run folder or its model.npz
  scratchnn export runs/latest digits.onnx --probabilities  # softmax in the graph
  scratchnn export runs/latest cnn.onnx --opset 20 --verify

The graph has one input "input" (N, *input shape) and one output "output" with a
dynamic batch size N: the logits (what model.predict returns), or the probabilities
with --probabilities (model.predict_proba). Run it with onnxruntime:
  sess = onnxruntime.InferenceSession("digits.onnx")
  logits = sess.run(None, {"input": x.astype("float32")})[0]    # == model.predict(x)
"""


def _opset(text: str) -> int:
    from ..onnx.export import MIN_OPSET

    try:
        import onnx
        newest = onnx.defs.onnx_opset_version()
    except ImportError:  # reported as one line when the export starts
        newest = 10**6
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not MIN_OPSET <= value <= newest:
        raise argparse.ArgumentTypeError(f"expected an integer from {MIN_OPSET} to {newest} (the newest "
                                         f"opset the installed onnx knows), got {text!r}")
    return value


def register(subparsers) -> None:
    p = add_parser(subparsers, "export", help="write a model file as ONNX, to run in any ONNX runtime",
                   description="Write a saved scratchnn model as an ONNX file (needs the onnx package: "
                   "pip install 'scratchnn[onnx]', which also installs onnxruntime for --verify). The "
                   "file carries the scratchnn version and the layer configuration in its metadata.",
                   examples=EXAMPLES)
    p.add_argument("model", help="a .npz model file written by scratchnn (or a folder holding model.npz)")
    p.add_argument("output", help="the .onnx file to write (a new file, or --force)")
    p.add_argument("--opset", type=_opset, default=17, help="ONNX opset, >= 14")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="type of the weights and tensors (default float32; onnxruntime runs "
                        "Conv and LSTM in float32 only)")
    p.add_argument("--probabilities", action="store_true",
                   help="end the graph with the softmax (or sigmoid) of the logits, as "
                        "model.predict_proba (default: logits, as model.predict)")
    p.add_argument("--verify", action="store_true",
                   help="run the file in onnxruntime on random inputs and print the largest "
                        "difference from model.predict")
    add_force(p, "an existing output file")
    p.set_defaults(func=run)


def _random_input(model, rng: np.random.Generator, n: int = 8) -> np.ndarray:
    first = model.layers[0]
    shape = (n,) + tuple(model.input_shape)
    if type(first).__name__ == "Embedding":  # token ids
        return rng.integers(0, first.num_embeddings, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def run(args) -> int:
    from ..errors import ScratchnnError
    from ..io import load_model
    from ..onnx import export, max_abs_diff

    path = model_file_path(args.model)
    if _same_file(path, args.output):
        raise UsageError(f"the output {args.output} is the input model {path}; writing ONNX over it would "
                         "destroy the model. Give another file name, e.g. model.onnx")
    check_new_file(args.output, "the output", args.force)
    if args.verify:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ImportError("--verify needs onnxruntime: pip install 'scratchnn[onnx]' (or pip install "
                              "onnxruntime); nothing was written") from None
    if not args.output.lower().endswith(".onnx"):
        stderr(f"scratchnn: warning: {args.output} does not end in .onnx, but it will hold an ONNX model")
    model = load_model(path)
    try:
        proto = export(model, args.output, opset=args.opset, dtype=args.dtype,
                       probabilities=args.probabilities)
    except OSError as exc:  # name the file asked for, not the temporary file beside it
        raise OSError(exc.errno, f"cannot write {args.output} ({exc.strerror or exc})") from None
    size = os.path.getsize(args.output)
    in_shape = ", ".join(["N", *map(str, model.input_shape)])
    out_shape = ", ".join(["N", *map(str, model.output_shape)])
    what = "probabilities" if args.probabilities else "logits" if model.loss is not None and \
        type(model.loss).__name__ in ("SoftmaxCrossEntropy", "BinaryCrossEntropyWithLogits") else "outputs"
    print(f"wrote {args.output} ({size / 1e3:,.1f} kB, opset {args.opset}, "
          f"{len(model.layers)} layers, {len(proto.graph.node)} nodes): "
          f"input 'input' ({in_shape}) -> output 'output' ({out_shape}): {what}")
    if args.verify:
        x = _random_input(model, np.random.default_rng(0))
        try:
            diff = max_abs_diff(model, args.output, x, probabilities=args.probabilities)
        except (ImportError, ScratchnnError):
            raise
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types (e.g. no float64 Conv kernel)
            raise ScratchnnError(f"onnxruntime could not run {args.output}: {exc}") from None
        print(f"verified with onnxruntime on {len(x)} random inputs: "
              f"max |onnx - {'predict_proba' if args.probabilities else 'predict'}| = {diff:.3g}")
    return 0

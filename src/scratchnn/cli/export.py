"""``scratchnn export MODEL.npz OUT.onnx``: write a saved model as an ONNX file.

Examples::

    scratchnn export runs/mlp/model.npz digits.onnx
    scratchnn export runs/cnn/model.npz cnn.onnx --opset 20 --verify

Errors (missing or invalid model file, a layer with no ONNX form, onnx not installed,
an unwritable output path) print one line on stderr and exit with status 1.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HELP = "write a saved model (.npz) as an ONNX file (needs: pip install 'scratchnn[onnx]')"

EPILOG = """examples:
  scratchnn export runs/mlp/model.npz digits.onnx
  scratchnn export runs/cnn/model.npz cnn.onnx --opset 20 --verify

The ONNX graph has one input "input" (N, *input shape) and one output "output",
with a dynamic batch size N, and runs in onnxruntime with model.predict's results."""


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``export`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser("export", help=HELP, description=HELP, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model file saved by scratchnn (model.save / scratchnn train)")
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, >= 14 (default 17)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="type of the weights and tensors (default float32)")
    p.add_argument("--verify", action="store_true",
                   help="run the file in onnxruntime on random inputs and print the largest "
                        "difference from model.predict")
    p.set_defaults(func=run)
    return p


def _random_input(model, rng: np.random.Generator, n: int = 8) -> np.ndarray:
    first = model.layers[0]
    shape = (n,) + tuple(model.input_shape)
    if type(first).__name__ == "Embedding":  # token ids
        return rng.integers(0, first.num_embeddings, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def run(args: argparse.Namespace) -> int:
    """Do the export; returns the exit status (0 ok, 1 error, message on stderr)."""
    from ..errors import ScratchnnError
    from ..io import load_model

    try:
        if not os.path.isfile(args.model):
            raise ScratchnnError(f"no such model file: {args.model}")
        from ..onnx import export, max_abs_diff

        model = load_model(args.model, compile=False)
        proto = export(model, args.output, opset=args.opset, dtype=args.dtype)
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
            except ImportError:
                raise
            except Exception as exc:  # onnxruntime's own error types (e.g. no float64 Conv kernel)
                raise ScratchnnError(f"onnxruntime could not run {args.output}: {exc}") from None
            print(f"verified with onnxruntime on {len(x)} random inputs: "
                  f"max |onnx - predict| = {diff:.3g}")
    except (ScratchnnError, ImportError) as exc:
        print(f"scratchnn export: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"scratchnn export: error: cannot write {args.output}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run just this subcommand (``python -m scratchnn.cli.export MODEL OUT``)."""
    parser = argparse.ArgumentParser(prog="scratchnn")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["export", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

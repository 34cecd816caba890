"""``scratchnn demo``: small 2-D problems with a picture of what the network learned."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import UsageError, add_force, add_parser, prepare_out_dir, say
from .options import integer, nonneg_int, positive_float

EXAMPLES = """\
  scratchnn demo xor                  # the article's 2-4-1 sigmoid network on XOR
  scratchnn demo spirals              # three interleaved spirals, a 2-64-64-3 ReLU MLP
  scratchnn demo moons --out pics     # also: circles
  scratchnn demo xor --epochs 100     # too few steps for sigmoid units: see it fail

The pictures go to --out (default runs/demo-<name>), replacing the demos' own earlier
pictures there; a folder holding other files is refused unless --force.
"""
DEMOS = ("xor", "spirals", "moons", "circles")


def register(subparsers) -> None:
    p = add_parser(subparsers, "demo", help="XOR (the article's network), spirals, moons, circles: "
                   "train and draw the decision boundary",
                   description="Train a small network on a 2-D toy problem, print how it did and save "
                   "a picture of its decision boundary and its loss curve.", examples=EXAMPLES)
    p.add_argument("name", choices=DEMOS, help="which problem")
    p.add_argument("--epochs", type=integer(1, 1_000_000), help="training epochs (default: xor 5000, others 300)")
    p.add_argument("--lr", type=positive_float, help="learning rate (default: xor 1.0 (SGD), others 0.01 (Adam))")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of data and weights (default: 0)")
    p.add_argument("--out", metavar="DIR", help="folder for the PNGs (default: runs/demo-<name>)")
    add_force(p, "other files in --out")
    p.set_defaults(func=run)


def _pictures(name: str) -> tuple[str, str]:
    return (f"{name}_decision_boundary.png", "xor_loss.png" if name == "xor" else f"{name}_history.png")


def run(args) -> int:
    from .run_folder import existing_files

    target = Path(args.out or Path("runs") / f"demo-{args.name}")
    own = {f for name in DEMOS for f in _pictures(name)}  # demos may share a folder
    others = [f for f in existing_files(target, limit=1000) if f not in own]
    if others and not args.force:
        raise UsageError(f"--out {target} already holds other files ({', '.join(others[:4])}); pass --force "
                         "to write the pictures there anyway, or choose another folder")
    out = prepare_out_dir(target)
    if args.name == "xor":
        return _xor(args, out)
    return _toy(args, out)


def _xor(args, out: Path) -> int:
    from ..article import NeuralNetwork
    from ..datasets import xor
    from ..plots import plot_decision_boundary, plot_history

    X, y = xor()
    epochs, lr = args.epochs or 5000, args.lr or 1.0
    say(f"The article's network: 2 inputs -> 4 sigmoid units -> 1 sigmoid output, trained on XOR by "
        f"full-batch gradient descent on the mean squared error ({epochs} epochs, learning rate {lr:g}).")
    nn = NeuralNetwork(2, 4, 1, seed=args.seed)
    losses = nn.train(X, y, epochs=epochs, learning_rate=lr, verbose=True)
    out_y = nn.feedforward(X)
    print("\n x1 x2 | target | output")
    for (a, b), t, o in zip(X.astype(int), y[:, 0].astype(int), out_y[:, 0]):
        print(f"  {a}  {b} |   {t}    | {o:.3f}")
    solved = bool(np.all(np.rint(out_y) == y))
    print("Solved: every output rounds to its target." if solved else
          "Not solved yet: some outputs round to the wrong value (try more --epochs).")
    plot_decision_boundary(nn, X, y, title="XOR: the article's 2-4-1 network", class_names=["0", "1"],
                           path=out / "xor_decision_boundary.png")
    plot_history({"loss": losses}, title="XOR: mean squared error per epoch", path=out / "xor_loss.png")
    print(f"Wrote xor_decision_boundary.png and xor_loss.png to {out}/")
    return 0


def _toy(args, out: Path) -> int:
    from .. import losses, optimizers
    from ..datasets import TOY
    from ..layers import Dense, ReLU
    from ..plots import plot_decision_boundary, plot_history
    from ..sequential import Sequential

    kwargs = {"n_samples": 600, "seed": args.seed}
    if args.name == "spirals":
        kwargs["n_classes"] = 3
    X, y = TOY[args.name](**kwargs)
    k = int(y.max()) + 1
    epochs, lr = args.epochs or 300, args.lr or 0.01
    model = Sequential([Dense(2, 64, kernel_initializer="he_uniform"), ReLU(),
                        Dense(64, 64, kernel_initializer="he_uniform"), ReLU(), Dense(64, k)], seed=args.seed)
    model.compile(losses.SoftmaxCrossEntropy(), optimizers.Adam(lr=lr), ["accuracy"])
    say(f"{args.name}: {len(X)} points in {k} classes; MLP 2-64-64-{k} (ReLU), Adam lr {lr:g}, {epochs} epochs.")
    history = model.fit(X, y, epochs=epochs, batch_size=64, validation_split=0.2, verbose=0)
    h = history.history
    print(f"Accuracy: training {h['accuracy'][-1]:.1%}, validation {h['val_accuracy'][-1]:.1%}")
    plot_decision_boundary(model, X, y, title=f"{args.name.capitalize()}: MLP 2-64-64-{k}",
                           path=out / f"{args.name}_decision_boundary.png")
    plot_history(history, title=f"{args.name.capitalize()}: training history", path=out / f"{args.name}_history.png")
    print(f"Wrote {args.name}_decision_boundary.png and {args.name}_history.png to {out}/")
    return 0

"""02 - Beyond XOR: three interleaved spirals need a deeper network, ReLU and Adam.

A 2-4-1 sigmoid network cannot separate spirals; a 2-64-64-3 ReLU MLP trained with
Adam and a softmax cross-entropy loss does. The decision-boundary picture shows it.

    python examples/02_spirals.py            # 300 epochs
    python examples/02_spirals.py --quick
"""
import argparse
from pathlib import Path

import scratchnn as sn
from scratchnn.datasets import make_spirals
from scratchnn.plots import plot_decision_boundary, plot_history

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--quick", action="store_true", help="tiny settings, for a smoke test")
parser.add_argument("--out", default="runs/examples")
args = parser.parse_args()

X, y = make_spirals(n_samples=600, n_classes=3, noise=0.2, seed=0)

model = sn.Sequential([
    sn.layers.Dense(2, 64, kernel_initializer="he_uniform"), sn.layers.ReLU(),
    sn.layers.Dense(64, 64, kernel_initializer="he_uniform"), sn.layers.ReLU(),
    sn.layers.Dense(64, 3),                       # logits; the loss applies the softmax
], seed=0)
model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=0.01),
              metrics=["accuracy"])
history = model.fit(X, y, epochs=5 if args.quick else 300, batch_size=64, validation_split=0.2,
                    verbose=0)
print(f"validation accuracy: {history.history['val_accuracy'][-1]:.1%}")

out = Path(args.out)
plot_decision_boundary(model, X, y, title="Spirals: MLP 2-64-64-3", path=out / "spirals.png")
plot_history(history, path=out / "spirals_history.png")
print(f"Pictures: {out / 'spirals.png'}, {out / 'spirals_history.png'}")

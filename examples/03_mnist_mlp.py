"""03 - Recognizing handwritten digits: an MLP on MNIST, and how it errs.

Uses the MNIST subset bundled with scratchnn (10,000 training + 2,000 test images,
no download), or the full MNIST with ``--full`` (found in $SCRATCHNN_DATA,
~/.cache/scratchnn, /usr/share/datasets, or downloaded). This is what
``scratchnn train`` does, spelled out.

    python examples/03_mnist_mlp.py                  # bundled subset, about 96% test accuracy
    python examples/03_mnist_mlp.py --full           # full MNIST, about 98%
    python examples/03_mnist_mlp.py --quick          # a smoke test
"""
import argparse
import math
from pathlib import Path

import scratchnn as sn
from scratchnn import plots
from scratchnn.applications.zoo import build_model
from scratchnn.datasets import images_to_inputs, load_bundled_mnist, load_mnist, train_val_split

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--quick", action="store_true", help="tiny settings, for a smoke test")
parser.add_argument("--full", action="store_true", help="the full MNIST (60,000 + 10,000 images)")
parser.add_argument("--data-dir", help="folder with the MNIST IDX files")
parser.add_argument("--out", default="runs/examples")
args = parser.parse_args()

# 1. Data: uint8 images (N, 28, 28) -> float vectors (N, 784) in [0, 1]; 10% held out, stratified.
(x_train, y_train), (x_test, y_test) = load_mnist(args.data_dir) if args.full else load_bundled_mnist()
if args.quick:
    x_train, y_train, x_test, y_test = x_train[:1000], y_train[:1000], x_test[:200], y_test[:200]
x = images_to_inputs(x_train)
x_tr, x_val, y_tr, y_val = train_val_split(x, y_train, 0.1, seed=0)

# 2. Model: 784-256-128-10 with ReLU (scratchnn.applications.zoo's "mlp"); Adam with a cosine-decayed learning rate.
model = build_model("mlp", input_shape=(784,), n_classes=10, seed=0)
epochs = 1 if args.quick else (10 if args.full else 15)
steps = math.ceil(len(x_tr) / 128) * epochs
model.compile(loss=sn.losses.SoftmaxCrossEntropy(),
              optimizer=sn.optimizers.Adam(lr=sn.schedules.CosineDecay(1e-3, steps, min_lr=1e-5)),
              metrics=["accuracy"])
model.summary()
history = model.fit(x_tr, y_tr, epochs=epochs, batch_size=128, validation_data=(x_val, y_val),
                    verbose=2)

# 3. Test, and look at the mistakes.
scores = model.predict(images_to_inputs(x_test))
print(f"test accuracy: {sn.metrics.accuracy(y_test, scores):.2%}")
out = Path(args.out)
plots.plot_history(history, path=out / "mnist_history.png")
plots.plot_confusion_matrix(y_test, scores, path=out / "mnist_confusion.png")
plots.plot_misclassified(x_test, y_test, scores, path=out / "mnist_misclassified.png")
plots.plot_first_layer_weights(model, path=out / "mnist_weights.png")
print(f"Plots in {out}/")

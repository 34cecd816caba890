"""04 - Looking inside: activations and gradients per layer, healthy and broken.

The same deep ReLU MLP is built twice: once with He initialisation and a sensible
learning rate, once with a far too large initial bias that kills most ReLUs. The
histograms of each layer's outputs and gradients (and the "dead" fraction printed
on them) show the difference at a glance.

    python examples/04_inside_the_network.py
    python examples/04_inside_the_network.py --quick
"""
import argparse
from pathlib import Path

import numpy as np

import scratchnn as sn
from scratchnn.datasets import images_to_inputs, load_bundled_mnist
from scratchnn.plots import layer_statistics, plot_layer_statistics

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--quick", action="store_true", help="tiny settings, for a smoke test")
parser.add_argument("--out", default="runs/examples")
args = parser.parse_args()

(x_train, y_train), _ = load_bundled_mnist()
n = 500 if args.quick else 5000
x, y = images_to_inputs(x_train[:n]), y_train[:n]


def deep_mlp(seed):
    layers = []
    d = 784
    for h in (128, 128, 128):
        layers += [sn.layers.Dense(d, h, kernel_initializer="he_uniform"), sn.layers.ReLU()]
        d = h
    model = sn.Sequential(layers + [sn.layers.Dense(d, 10)], seed=seed)
    model.compile(sn.losses.SoftmaxCrossEntropy(), sn.optimizers.Adam(lr=1e-3), ["accuracy"])
    model.build((784,))
    return model


healthy = deep_mlp(0)
broken = deep_mlp(0)
broken.layers[2].params["b"][:] = -3.0   # most units of the second layer never fire: "dead" ReLUs

out = Path(args.out)
for name, model in (("healthy", healthy), ("broken", broken)):
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    stats = layer_statistics(model, x[:256], y[:256])
    dead = [f"{s['name']}: {s['dead_fraction']:.0%}" for s in stats if s["dead_fraction"] is not None]
    print(f"{name:8s} accuracy {model.evaluate(x, y)['accuracy']:.1%}; dead ReLU units: {', '.join(dead)}")
    plot_layer_statistics(model, x[:256], y[:256], title=f"Activations and gradients ({name})",
                          path=out / f"internals_{name}.png")
print(f"Histograms: {out}/internals_healthy.png and internals_broken.png")
print("Reading them: a spike at 0 in a ReLU layer with a large 'dead' share means units that never "
      f"fire; their gradients are zero too (std {np.std(stats[3]['grad']):.2g} in the broken net).")

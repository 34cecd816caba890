"""01 - The article's network: 2 inputs -> 4 sigmoid units -> 1 sigmoid output, learning XOR.

"Building a Neural Network from Scratch in Python" trains this network by plain
gradient descent on the mean squared error. Here it is, with the article's API
(``NeuralNetwork``, ``feedforward``, ``train``), then the picture of what it learned:
the plane coloured by the network's output, with the four XOR points on top.

    python examples/01_xor_article.py            # 5000 epochs, writes xor.png
    python examples/01_xor_article.py --quick    # a few hundred epochs (CI)
"""
import argparse
from pathlib import Path

import numpy as np

import scratchnn as sn
from scratchnn.plots import plot_decision_boundary

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--quick", action="store_true", help="tiny settings, for a smoke test")
parser.add_argument("--out", default="runs/examples", help="folder for the picture")
args = parser.parse_args()

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y = np.array([[0], [1], [1], [0]])

nn = sn.NeuralNetwork(input_size=2, hidden_size=4, output_size=1, seed=0)
epochs = 300 if args.quick else 5000
losses = nn.train(X, y, epochs=epochs, learning_rate=1.0)   # prints "Epoch k, Loss: ..."

print("\nPredictions after training:")
for inputs, target, output in zip(X, y[:, 0], nn.feedforward(X)[:, 0]):
    print(f"  {inputs} -> {output:.3f}  (target {target})")

# What did it learn? The hidden layer bends the plane so that one line separates the classes.
out = Path(args.out)
plot_decision_boundary(nn, X, y, title="XOR: the article's 2-4-1 network", class_names=["0", "1"],
                       path=out / "xor.png")
print(f"Decision boundary: {out / 'xor.png'}")

"""07 - A small Transformer learns to add, and to reverse a sequence.

    python examples/07_transformer_addition.py            # 5-10 minutes on two busy cores
    python examples/07_transformer_addition.py --quick    # a smoke test

1. Addition: "47+85=132". Every pair of two-digit numbers is a 9-character string; a
   causal Transformer (Embedding -> PositionalEmbedding -> 2 TransformerBlocks ->
   LayerNorm -> Dense) learns next-character prediction on 90% of the 10,000 pairs and
   answers the other 10% -- pairs it has never seen -- by writing the three digits of
   the sum one after another (greedy decoding). Exact match = all three digits right.
2. Reversal: "31415|51413": the second half is the first read backwards; to predict the
   next digit, the query at position t (from 0; the separator at 5) needs the digit at
   position 9 - t: the answer rows of the attention maps read the question backwards (an
   anti-diagonal).

Writes attention maps of one held-out example per task (one panel per head):
addition_attention.png and reverse_attention.png.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import scratchnn as sn
from scratchnn.plots import attention_weights, plot_attention

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--quick", action="store_true", help="tiny settings, for a smoke test")
args = parser.parse_args()
L = sn.layers
CHARS = "0123456789+=|"
ID = {c: i for i, c in enumerate(CHARS)}


def encode(strings):
    return np.array([[ID[c] for c in s] for s in strings])


def transformer(context, d_model=64, heads=4, blocks=2):
    return sn.Sequential([L.Embedding(len(CHARS), d_model), L.PositionalEmbedding(context, d_model),
                          *[L.TransformerBlock(d_model, heads, causal=True) for _ in range(blocks)],
                          L.LayerNorm(d_model), L.Dense(d_model, len(CHARS))], seed=0)


def train(model, data, steps, batch=128, lr=3e-3):
    """Next-character training on random rows of ``data`` (ids), with a cosine-decayed rate."""
    schedule = sn.schedules.CosineDecay(lr, steps)
    model.compile(loss=sn.losses.SoftmaxCrossEntropy(), optimizer=sn.optimizers.Adam(lr=schedule, clip_norm=1.0))
    model.build((data.shape[1] - 1,))
    rng = np.random.default_rng(0)
    for step in range(steps):
        rows = data[rng.integers(0, len(data), batch)]
        loss, _ = model.train_step(rows[:, :-1].astype(model.dtype), rows[:, 1:])
        if (step + 1) % max(1, steps // 5) == 0:
            print(f"  step {step + 1:>5}/{steps}  loss {loss:.4f}")


def greedy_answers(model, questions, n):
    """Write ``n`` characters after each question, feeding each prediction back in."""
    ids = questions.copy()
    for _ in range(n):
        logits = model.predict(ids.astype(model.dtype), batch_size=1024)
        ids = np.concatenate([ids, logits[:, -1].argmax(-1)[:, None]], axis=1)
    return ids[:, questions.shape[1]:]


# --- 1. addition ----------------------------------------------------------------------
pairs = np.array([(a, b) for a in range(100) for b in range(100)])
strings = [f"{a:02d}+{b:02d}={a + b:03d}" for a, b in pairs]
order = np.random.default_rng(1).permutation(len(strings))
test_idx, train_idx = order[:1000], order[1000:]
data = encode(strings)
model = transformer(context=8)
steps = 30 if args.quick else 3000
print(f"addition: {len(train_idx)} training pairs, {len(test_idx)} held out; {steps} steps")
start = time.perf_counter()
train(model, data[train_idx], steps)
seconds = time.perf_counter() - start
answers = greedy_answers(model, data[test_idx, :6], 3)
exact = float(np.mean(np.all(answers == data[test_idx, 6:], axis=1)))
print(f"addition: exact match on {len(test_idx)} held-out pairs {exact:.1%} (training {seconds:.0f} s)")
if not args.quick:
    assert exact >= 0.99, exact
example = strings[test_idx[0]]
w = attention_weights(model, encode([example])[0, :-1])
plot_attention(w, example[:-1], example[:-1], title=f"Last block's attention on {example!r}",
               path="addition_attention.png")

# --- 2. reversal ----------------------------------------------------------------------
rng = np.random.default_rng(2)
digits = rng.integers(0, 10, (20000, 5))
strings = ["".join(map(str, d)) + "|" + "".join(map(str, d[::-1])) for d in digits]
data = encode(strings)
model = transformer(context=10, blocks=1)
steps = 20 if args.quick else 800
train(model, data[:18000], steps)
answers = greedy_answers(model, data[18000:, :6], 5)
exact = float(np.mean(np.all(answers == data[18000:, 6:], axis=1)))
print(f"reversal: exact match on 2000 held-out sequences {exact:.1%}")
example = strings[18000]
w = attention_weights(model, encode([example])[0, :-1])
plot_attention(w, example[:-1], example[:-1], title=f"Attention on {example!r}", path="reverse_attention.png")

"""06 - Recurrent networks: forecasting a series and generating text.

    python examples/06_recurrent.py            # a few minutes on two cores
    python examples/06_recurrent.py --quick    # a smoke test

1. Many-to-one: an LSTM forecasts the next monthly sunspot number (the series ships with
   the package) and is compared with the naive forecast "next month = this month".
2. Many-to-many: Embedding -> GRU(return_sequences=True) -> Dense learns characters of a
   text; sampling continues a prompt.

Both train with gradient clipping (``clip_norm``): backpropagation through time multiplies
by the recurrent weights once per step, so a gradient can occasionally explode; rescaling
all gradients to a global norm of at most ``clip_norm`` keeps one bad batch from
wrecking the weights.
"""
from __future__ import annotations

import argparse

import numpy as np

import scratchnn as sn
from scratchnn.applications import textgen
from scratchnn.datasets.timeseries import bundled_series_path, load_csv_column, windowed_splits
from scratchnn.forecast import fit_forecaster

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--quick", action="store_true", help="tiny settings, for a smoke test")
args = parser.parse_args()
epochs, steps = (2, 20) if args.quick else (15, 300)

# --- 1. many-to-one forecasting, by hand (what fit_forecaster does) -----------------------
series = load_csv_column(bundled_series_path())
parts = windowed_splits(series.values, window=36, horizon=1)      # chronological, never shuffled
scale = series.values[:parts["val"].start[0]].std()               # fitted on the training part only


def prepare(part):
    last = part.X[:, -1, :]                                       # model changes from the last value
    return (part.X - last[:, None, :]) / scale, (part.Y - last) / scale


x_train, y_train = prepare(parts["train"])
x_val, y_val = prepare(parts["val"])
model = sn.Sequential([sn.layers.LSTM(1, 32), sn.layers.Dense(32, 1)], seed=0)
model.compile(loss="mse", optimizer=sn.optimizers.Adam(lr=2e-3, clip_norm=1.0))   # <- clipping
model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_data=(x_val, y_val), verbose=0,
          callbacks=[sn.callbacks.EarlyStopping(patience=5, restore_best_weights=True)])
x_test, _ = prepare(parts["test"])
forecast = parts["test"].X[:, -1, 0] + model.predict(x_test)[:, 0] * scale
actual = parts["test"].Y[:, 0]
naive = parts["test"].X[:, -1, 0]
rmse = lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))  # noqa: E731
print(f"sunspots test RMSE: LSTM {rmse(actual, forecast):.2f}, naive {rmse(actual, naive):.2f}")

# the same in one call, with the report (and seasonal naive when season= is given)
result = fit_forecaster(series.values, time=series.time, name="sunspots", window=36, epochs=epochs,
                        clip_norm=1.0)
print(result.report())

# --- 2. many-to-many: a character model -------------------------------------------------
text = ("To be, or not to be, that is the question:\n"
        "Whether 'tis nobler in the mind to suffer\n"
        "The slings and arrows of outrageous fortune,\n") * 20
lm, log = textgen.train_char_lm(text, steps=steps, seq_len=40, batch_size=32, embedding_dim=16,
                                hidden_size=64, cell="gru", lr=5e-3, clip_norm=5.0,
                                eval_every=max(steps // 3, 1))
print(f"validation: {log['val_bpc_final']:.2f} bits/char")
print(textgen.sample(lm, 120, prompt="To be", temperature=0.5, seed=0))

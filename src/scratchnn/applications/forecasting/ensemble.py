"""An ensemble over seeds: K networks trained alike from different initialisations, median forecast.

Each member is trained with Adam (gradient norm clipped), shuffled mini-batches and early
stopping on the validation windows (the part that precedes the test part); the best epoch's
weights are kept. The forecast is the element-wise median of the K members' outputs, which
is less sensitive than one network to an unlucky initialisation or a member that stopped early.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ... import callbacks, optimizers
from ...atomic import atomic_write
from ...errors import ConfigError, ModelFileError
from ...io import load_model
from ...sequential import Sequential
from .nbeats import NBeats
from .networks import build_network, check_kind, network_inputs


@dataclass
class Ensemble:
    """K trained networks of one ``kind`` reading windows of ``window`` changes; ``predict`` takes the median."""

    kind: str
    window: int
    members: list[Sequential | NBeats] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)

    def member_outputs(self, x: np.ndarray) -> np.ndarray:
        """(K, M, horizon) outputs of every member for flat inputs ``x`` (M, F)."""
        xin = network_inputs(self.kind, np.asarray(x, dtype=np.float64), self.window)
        return np.stack([m.predict(xin).astype(np.float64) for m in self.members])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Median over members, (M, horizon)."""
        return np.median(self.member_outputs(x), axis=0)

    def save(self, folder: str | os.PathLike, metadata: dict | None = None) -> list[Path]:
        """``member-<k>.npz`` (each a normal model file) and ``ensemble.json`` in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for k, m in enumerate(self.members):
            if isinstance(m, NBeats):
                paths += m.save(folder, f"member-{k}")
            else:
                m.save(folder / f"member-{k}.npz")
                paths.append(folder / f"member-{k}.npz")
        info = {"kind": self.kind, "window": self.window, "members": len(self.members),
                "epochs": self.epochs, **(metadata or {})}
        if self.kind == "nbeats":
            info["nbeats"] = {"blocks": len(self.members[0].blocks), "horizon": self.members[0].horizon}
        atomic_write(folder / "ensemble.json", lambda f: f.write((json.dumps(info, indent=2) + "\n").encode()))
        return paths

    @classmethod
    def load(cls, folder: str | os.PathLike) -> tuple[Ensemble, dict]:
        """The ensemble saved by :meth:`save`, and the metadata saved with it."""
        folder = Path(folder)
        try:
            info = json.loads((folder / "ensemble.json").read_text())
            kind, window, k = check_kind(info["kind"]), int(info["window"]), int(info["members"])
            if kind == "nbeats":
                blocks, horizon = int(info["nbeats"]["blocks"]), int(info["nbeats"]["horizon"])
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as exc:
            raise ModelFileError(f"{folder} holds no valid ensemble.json ({exc})") from None
        if kind == "nbeats":
            members = [NBeats.load(folder, f"member-{i}", blocks, window, horizon) for i in range(k)]
        else:
            members = [load_model(folder / f"member-{i}.npz") for i in range(k)]
        return cls(kind, window, members, list(info.get("epochs", []))), info


def train_ensemble(kind: str, window: int, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                   y_val: np.ndarray, *, members: int = 5, hidden_size: int = 64, num_layers: int = 2,
                   epochs: int = 200, batch_size: int = 32, lr: float = 1e-3, clip_norm: float | None = 1.0,
                   patience: int = 20, seed: int = 0, verbose: int = 0) -> Ensemble:
    """Train ``members`` networks (seeds ``seed``, ``seed + 1``, ...) on flat inputs (N, F) -> targets (N, h)."""
    if isinstance(members, bool) or not isinstance(members, (int, np.integer)) or members < 1:
        raise ConfigError(f"members must be an integer >= 1. Received: members={members!r}")
    extra = x_train.shape[1] - window
    xt, xv = network_inputs(kind, x_train, window), network_inputs(kind, x_val, window)
    ens = Ensemble(kind, window)
    for k in range(members):
        if kind == "nbeats":
            net = NBeats(window, extra, y_train.shape[1], hidden_size=hidden_size, num_layers=num_layers, seed=seed + k)
            net.fit(x_train, y_train, x_val, y_val, epochs=epochs, batch_size=batch_size, lr=lr,
                    clip_norm=clip_norm, patience=patience)
            ens.members.append(net)
            ens.epochs.append(net.epochs_trained)
            continue
        net = build_network(kind, x_train.shape[1], y_train.shape[1], hidden_size, num_layers,
                            seed + k, extra_inputs=extra)
        net.compile(loss="mse", optimizer=optimizers.Adam(lr=lr, clip_norm=clip_norm))
        stop = callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
        net.fit(xt, y_train, epochs=epochs, batch_size=batch_size, validation_data=(xv, y_val),
                callbacks=[stop], verbose=verbose)
        ens.members.append(net)
        ens.epochs.append(int(net.epochs_trained))
    return ens

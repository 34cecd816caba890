"""What every rank must agree on before data-parallel training starts, as short strings.

Each rank computes :func:`fingerprint` and the ranks compare theirs (one allgather):
a difference in the model's configuration, the random generator's state (the seed:
every rank draws the same shuffling permutation and takes its own slice of it), the
optimizer and its state, the fit settings, or the data (shapes, dtypes and a checksum
of a few hundred evenly spaced rows) is reported by name, on every rank at once, before
any training step -- instead of a deadlock or, worse, silently wrong training.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

#: Rows of each array that go into the data checksum (evenly spaced).
SAMPLE_ROWS = 256


def _digest(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(part)
    return h.hexdigest()


def _json_digest(obj) -> str:
    return _digest(json.dumps(obj, sort_keys=True, default=str).encode())


def _arrays_digest(arrays) -> str:
    parts = []
    for a in arrays:
        a = np.asarray(a)
        if a.ndim and len(a) > SAMPLE_ROWS:
            a = a[np.linspace(0, len(a) - 1, SAMPLE_ROWS).astype(np.int64)]
        parts.append(np.ascontiguousarray(a).tobytes())
    return _digest(*parts)


def _shapes(arrays) -> str:
    return ", ".join(f"{np.asarray(a).dtype.name}{tuple(np.shape(a))}" for a in arrays)


def fingerprint(model, xs, ys, settings: dict, val=None) -> dict[str, str]:
    """Short descriptions of everything that must be equal on every rank.

    Args:
        model: the built, compiled model.
        xs, ys: the training arrays (lists), or None with a batch source.
        settings: the fit settings that shape the schedule of collectives (epochs,
            batch size, shuffle, steps per epoch, synchronised BatchNorm...).
        val: ``(x_val, y_val)`` lists, or None.
    """
    from .. import __version__
    from ..io import model_to_config

    config = model_to_config(model)
    opt = model.optimizer
    state = [] if opt is None else [v for key in sorted(opt.state) for _, v in sorted(opt.state[key].items())]
    out = {
        "scratchnn version": __version__,
        "model configuration": _json_digest(config["model"]),
        "number of parameters": str(model.count_params()),
        "loss, optimizer and metrics": _json_digest(config["compile"]),
        "epochs already trained": str(model.epochs_trained),
        "random generator state (seed)": _json_digest(model.rng.bit_generator.state),
        "optimizer state": _arrays_digest(state),
        "fit settings": json.dumps(settings, sort_keys=True),
    }
    if xs is not None:
        out["training data shapes"] = f"x: {_shapes(xs)}; y: {_shapes(ys)}"
        out["training data checksum"] = _arrays_digest([*xs, *ys])
    if val is not None:
        out["validation data shapes"] = f"x: {_shapes(val[0])}; y: {_shapes(val[1])}"
        out["validation data checksum"] = _arrays_digest([*val[0], *val[1]])
    return out


def differences(prints: list[dict[str, str]], order: list[str] | None = None) -> list[str]:
    """One line per item on which the ranks disagree: ``item (rank 0: A; rank 2: B)``, in
    the order of ``order`` (the keys of :func:`fingerprint`)."""
    lines = []
    for key in order or list(prints[0]):
        values = [p.get(key) for p in prints]
        if len(set(values)) > 1:
            seen: dict[str, list[int]] = {}
            for r, v in enumerate(values):
                seen.setdefault(str(v), []).append(r)
            groups = "; ".join(f"rank{'s' * (len(rs) > 1)} {','.join(map(str, rs))}: {v}" for v, rs in seen.items())
            lines.append(f"{key} ({groups})")
    return lines

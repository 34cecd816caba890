"""Character-level text data: a vocabulary, encoding, and batches of sequences.

A character language model reads ids ``x = text[s : s+L]`` and predicts the next
character at every position, ``y = text[s+1 : s+L+1]`` (shape (N, L) both), which
:class:`~scratchnn.losses.SoftmaxCrossEntropy` scores per time step.

Example:
    >>> from scratchnn.datasets.text import CharVocab
    >>> vocab = CharVocab.from_text("hello")
    >>> vocab.chars, vocab.encode("hole").tolist(), vocab.decode([2, 1])
    ('ehlo', [1, 3, 2, 0], 'lh')
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from ..errors import ConfigError, DataError


class CharVocab:
    """The characters of a text, sorted, with their ids 0..V-1.

    ``to_dict``/``from_dict`` give a JSON-safe form, which a text model keeps in
    ``model.metadata["vocab"]`` so that the vocabulary lives in the model file.
    """

    def __init__(self, chars: str) -> None:
        if not isinstance(chars, str) or not chars:
            raise ConfigError(f"CharVocab: chars must be a non-empty string. Received: chars={chars!r}")
        if len(set(chars)) != len(chars):
            raise ConfigError("CharVocab: chars must not repeat a character")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        if not text:
            raise DataError("CharVocab.from_text: the text is empty")
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Ids (int64) of every character of ``text``; unknown characters raise DataError."""
        try:
            return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError:
            unknown = sorted(set(text) - set(self.index))
            raise DataError(f"the text holds {len(unknown)} character(s) outside the vocabulary: "
                            f"{''.join(unknown)[:40]!r}") from None

    def decode(self, ids) -> str:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise DataError(f"ids must lie in [0, {self.size - 1}]")
        return "".join(self.chars[i] for i in ids)

    def to_dict(self) -> dict:
        return {"chars": self.chars}

    @classmethod
    def from_dict(cls, data: dict) -> CharVocab:
        if not isinstance(data, dict) or not isinstance(data.get("chars"), str):
            raise DataError("a vocabulary must be a dict with a 'chars' string")
        return cls(data["chars"])

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size})"


def load_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The whole file as a string (newlines kept)."""
    try:
        with open(path, encoding=encoding) as f:
            text = f.read()
    except FileNotFoundError:
        raise DataError(f"text file not found: {os.fspath(path)}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{os.fspath(path)} is not {encoding} text ({exc})") from None
    if len(text) < 2:
        raise DataError(f"{os.fspath(path)} holds fewer than 2 characters; nothing to learn")
    return text


def split_ids(ids: np.ndarray, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation parts: the **last** ``val_fraction`` of the text is validation."""
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1). Received: val_fraction={val_fraction!r}")
    cut = round(len(ids) * (1.0 - val_fraction))
    return ids[:cut], ids[cut:]


def sequences(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping (x, y) windows of length ``seq_len``: shapes (M, seq_len), y shifted by one."""
    if seq_len < 1:
        raise ConfigError(f"seq_len must be >= 1. Received: seq_len={seq_len!r}")
    m = (len(ids) - 1) // seq_len
    if m < 1:
        raise DataError(f"the text ({len(ids)} characters) is shorter than one sequence of {seq_len + 1}")
    x = ids[:m * seq_len].reshape(m, seq_len)
    y = ids[1:m * seq_len + 1].reshape(m, seq_len)
    return x, y


def random_batches(ids: np.ndarray, seq_len: int, batch_size: int,
                   rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless batches of windows starting at random offsets: (x, y), each (batch_size, seq_len)."""
    high = len(ids) - seq_len - 1
    if high < 1:
        raise DataError(f"the text ({len(ids)} characters) is shorter than one sequence of {seq_len + 1}")
    offsets = np.arange(seq_len)
    while True:
        starts = rng.integers(0, high, size=batch_size)
        idx = starts[:, None] + offsets
        yield ids[idx], ids[idx + 1]

"""Stacks of recurrent cells by name: the one builder of recurrent stacks (text models, forecasters)."""
from __future__ import annotations

from ..errors import ConfigError
from .base import Layer
from .dense import _positive_int
from .gru import GRU
from .lstm import LSTM
from .recurrent import SimpleRNN

#: Recurrent cells by their command-line names.
CELLS: dict[str, type] = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}


def recurrent_stack(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                    return_sequences: bool = False) -> list[Layer]:
    """``num_layers`` cells of kind ``cell`` ("lstm", "gru", "rnn") stacked on (N, T, input_size):
    every cell but the last returns its whole sequence (the next one reads it); the last one
    returns the sequence only with ``return_sequences``. The one builder of recurrent stacks
    (text models, forecasters).

    Example:
        >>> [type(c).__name__ for c in recurrent_stack("gru", 3, 8, num_layers=2)]
        ['GRU', 'GRU']
    """
    if cell not in CELLS:
        raise ConfigError(f"cell must be one of {sorted(CELLS)}. Received: cell={cell!r}")
    num_layers = _positive_int("recurrent_stack", "num_layers", num_layers)
    stack, size = [], input_size
    for i in range(num_layers):
        stack.append(CELLS[cell](size, hidden_size, return_sequences=return_sequences or i < num_layers - 1))
        size = hidden_size
    return stack

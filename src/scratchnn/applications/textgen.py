"""Character-level language models: build, train, measure in bits per character, sample.

The model is ``Embedding(V, E) -> LSTM/GRU(E, H, return_sequences=True) [-> more] ->
Dense(H, V)`` trained with softmax cross-entropy on every time step (next-character
prediction). Its vocabulary is kept in ``model.metadata["vocab"]``, so one ``.npz``
file holds everything needed to sample again.

Bits per character = mean cross-entropy (nats) / ln 2; a model that knows nothing
about a 65-character text scores log2(65) = 6.0.

Example:
    >>> import scratchnn as sn
    >>> from scratchnn.applications import textgen
    >>> model, log = textgen.train_char_lm("abcabcabcabc" * 50, steps=60, seq_len=12,
    ...                                    batch_size=8, hidden_size=16, embedding_dim=8, verbose=0)
    >>> textgen.sample(model, 6, prompt="abc", temperature=0.1, seed=0)
    'abcabcabc'
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import numpy as np

from .. import losses, optimizers
from ..callbacks import Callback
from ..datasets.text import CharVocab, random_batches, sequences, split_ids
from ..errors import ConfigError, DataError
from ..layers import CELLS, Dense, Embedding, recurrent_stack  # noqa: F401  (CELLS: textgen.CELLS, as before)
from ..layers.attention import MultiHeadAttention
from ..layers.bidirectional import Bidirectional
from ..layers.layer_norm import LayerNorm
from ..layers.positional_embedding import PositionalEmbedding
from ..layers.recurrent import RecurrentBase
from ..layers.sinusoidal import SinusoidalPositionalEncoding
from ..layers.transformer import TransformerBlock
from ..sequential import Sequential

__all__ = [
    'CELLS', 'bits_per_char', 'build_char_lm', 'build_char_transformer', 'context_length',
    'is_transformer', 'sample', 'sample_stream', 'train_char_lm', 'vocab_of',
]

def build_char_lm(vocab: CharVocab, embedding_dim: int = 64, hidden_size: int = 256,
                  num_layers: int = 1, cell: str = "lstm", seed: int | None = 0,
                  dtype: str = "float32") -> Sequential:
    """A next-character model for ``vocab``, with the vocabulary in its metadata."""
    layers = [Embedding(vocab.size, embedding_dim),
              *recurrent_stack(cell, embedding_dim, hidden_size, num_layers, return_sequences=True),
              Dense(hidden_size, vocab.size)]
    model = Sequential(layers, seed=seed, dtype=dtype, name=f"char-{cell}")
    model.metadata["vocab"] = vocab.to_dict()
    model.metadata["task"] = "char-lm"
    return model


def build_char_transformer(vocab: CharVocab, d_model: int = 128, num_heads: int = 4, num_layers: int = 2,
                           ff_dim: int | None = None, context: int = 128, dropout: float = 0.0,
                           seed: int | None = 0, dtype: str = "float32") -> Sequential:
    """A causal next-character Transformer for ``vocab`` (GPT-style, pre-norm)::

        Embedding(V, D) -> PositionalEmbedding(context, D) -> num_layers x TransformerBlock(D, H,
        causal) -> LayerNorm(D) -> Dense(D, V)

    ``context`` is the longest window the model reads (its learned positions); train
    it on windows of at most that length. The vocabulary is in the metadata, as for
    :func:`build_char_lm`, so :func:`sample` and ``scratchnn textgen sample`` work alike.
    """
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise ConfigError(f"num_layers must be an integer >= 1. Received: num_layers={num_layers!r}")
    layers = [Embedding(vocab.size, d_model), PositionalEmbedding(context, d_model)]
    layers += [TransformerBlock(d_model, num_heads, ff_dim, dropout, causal=True) for _ in range(num_layers)]
    layers += [LayerNorm(d_model), Dense(d_model, vocab.size)]
    model = Sequential(layers, seed=seed, dtype=dtype, name="char-transformer")
    model.metadata["vocab"] = vocab.to_dict()
    model.metadata["task"] = "char-lm"
    return model


def vocab_of(model: Sequential) -> CharVocab:
    """The vocabulary stored in a text model's metadata."""
    if "vocab" not in model.metadata:
        raise DataError("this model has no vocabulary in its metadata; was it trained with scratchnn.textgen?")
    return CharVocab.from_dict(model.metadata["vocab"])


def bits_per_char(model: Sequential, ids: np.ndarray, seq_len: int = 100, batch_size: int = 128,
                  max_sequences: int | None = None) -> float:
    """Mean next-character cross-entropy over ``ids`` in bits (non-overlapping windows)."""
    x, y = sequences(ids, seq_len)
    if max_sequences is not None:
        x, y = x[:max_sequences], y[:max_sequences]
    loss = losses.SoftmaxCrossEntropy()
    total = 0.0
    for i in range(0, len(x), batch_size):
        logits = model.predict(x[i:i + batch_size].astype(model.dtype), batch_size=batch_size)
        total += loss.forward(logits, y[i:i + batch_size]) * len(logits)
    return total / len(x) / math.log(2.0)


def train_char_lm(text: str, *, steps: int = 2000, seq_len: int = 100, batch_size: int = 64,
                  embedding_dim: int = 64, hidden_size: int = 256, num_layers: int = 1,
                  cell: str = "lstm", lr: float = 2e-3, clip_norm: float | None = 5.0,
                  val_fraction: float = 0.1, eval_every: int = 200, eval_sequences: int = 64,
                  seed: int = 0, model: Sequential | None = None, verbose: int = 1,
                  print_fn=print, on_eval: Callable[[Sequential, dict], None] | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  distributed=False) -> tuple[Sequential, dict]:
    """Train a character model on ``text`` for ``steps`` Adam steps on random windows.

    Gradient clipping (``clip_norm``, the global L2 norm of all gradients, as
    ``torch.nn.utils.clip_grad_norm_``) keeps BPTT's occasional exploding gradients
    from wrecking the weights. Validation is the last ``val_fraction`` of the text.
    Pass ``model`` to continue training a loaded model (its vocabulary is used; its
    ``metadata["steps_trained"]`` moves the batch sampler on, so a resumed run does not
    repeat the batches it has seen).

    Checkpoints and interruption: ``on_eval(model, log)`` is called after every
    evaluation (every ``eval_every`` steps and at the end) -- a command line saves the
    model there; ``should_stop()`` is asked after every step, and a true answer ends
    training cleanly after that step (``log["interrupted"] = True``), e.g. on Ctrl-C.
    With ``distributed`` (as in :meth:`scratchnn.Model.fit`), every MPI rank draws the same
    random global batch of ``batch_size`` windows and trains on its part of it; only rank 0
    prints and calls ``on_eval``; a stop asked on any rank stops every rank at the same step.

    Returns:
        ``(model, log)`` where ``log`` has lists ``step``, ``train_bpc``, ``val_bpc``
        and the final ``val_bpc``, ``seconds``, ``steps_done`` and ``interrupted``.
    """
    for name, v in (("steps", steps), ("seq_len", seq_len), ("batch_size", batch_size),
                    ("eval_every", eval_every)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be an integer >= 1. Received: {name}={v!r}")
    if model is None:
        vocab = CharVocab.from_text(text)
        model = build_char_lm(vocab, embedding_dim, hidden_size, num_layers, cell, seed)
        model.compile(loss=losses.SoftmaxCrossEntropy(),
                      optimizer=optimizers.Adam(lr=lr, clip_norm=clip_norm))
    else:
        vocab = vocab_of(model)
        if model.optimizer is None:
            model.compile(loss=losses.SoftmaxCrossEntropy(),
                          optimizer=optimizers.Adam(lr=lr, clip_norm=clip_norm))
    ids = vocab.encode(text)
    train_ids, val_ids = split_ids(ids, val_fraction)
    seq_len = min(seq_len, max(1, len(val_ids) - 1), len(train_ids) - 2)
    if not model.built:
        model.build((seq_len,))
    done_before = int(model.metadata.get("steps_trained", 0))
    rng = np.random.default_rng(seed if not done_before else [seed, done_before])
    batches = random_batches(train_ids, seq_len, batch_size, rng)
    log: dict = {"step": [], "train_bpc": [], "val_bpc": [], "interrupted": False, "steps_done": 0}
    if distributed is not False:
        from ..distributed import as_data_parallel
        distributed = as_data_parallel(distributed)
        verbose = verbose if distributed.is_root else 0
    start = time.perf_counter()
    evaluation = _Evaluation(val_ids, seq_len, eval_sequences, steps, done_before, log, start,
                             print_fn if verbose else None, on_eval, should_stop,
                             distributed if distributed is not False else None)
    # The one training loop: Model.fit on a source of random windows, one "epoch" per evaluation.
    full, rest = divmod(steps, eval_every)
    for epochs, per_epoch in ((full, eval_every), (1 if rest else 0, rest)):
        if epochs and not log["interrupted"]:
            model.fit(_as_model_dtype(batches, model.dtype), epochs=epochs, steps_per_epoch=per_epoch,
                      callbacks=[evaluation], verbose=0, distributed=distributed)
    log["val_bpc_final"] = log["val_bpc"][-1] if log["val_bpc"] else float("nan")
    log["seconds"] = time.perf_counter() - start
    model.metadata["val_bits_per_char"] = log["val_bpc_final"]
    model.metadata["steps_trained"] = done_before + log["steps_done"]
    return model, log


def _as_model_dtype(batches: Iterator, dtype) -> Iterator:
    """The windows as the model's float dtype, targets as they are (an endless generator)."""
    for xb, yb in batches:
        yield xb.astype(dtype), yb


class _Evaluation(Callback):
    """After every ``eval_every`` steps (one fit "epoch") and at the end: the validation bits per
    character, the log line, the metadata and ``on_eval``; after every step, ``should_stop``."""

    def __init__(self, val_ids, seq_len, eval_sequences, steps, done_before, log, start, print_fn,
                 on_eval, should_stop, dist) -> None:
        self.val_ids, self.seq_len, self.eval_sequences = val_ids, seq_len, eval_sequences
        self.steps, self.done_before, self.log, self.start = steps, done_before, log, start
        self.print_fn, self.on_eval, self.should_stop, self.dist = print_fn, on_eval, should_stop, dist

    def on_batch_end(self, batch, logs=None):
        self.log["steps_done"] += 1
        if self.should_stop is not None and self.should_stop():
            self.model.stop_training = True
            self.log["interrupted"] = True

    def on_epoch_end(self, epoch, logs=None):
        model, log, step = self.model, self.log, self.log["steps_done"]
        if self.dist is not None:  # a stop asked on one rank is known to all here
            log["interrupted"] = bool(self.dist.any(log["interrupted"]))
        val = bits_per_char(model, self.val_ids, self.seq_len, max_sequences=self.eval_sequences)
        log["step"].append(step)
        log["train_bpc"].append(logs["loss"] / math.log(2.0))
        log["val_bpc"].append(val)
        if self.print_fn is not None:
            self.print_fn(f"step {step:>6}/{self.steps}  train {log['train_bpc'][-1]:.3f} bits/char  "
                          f"val {val:.3f} bits/char  ({time.perf_counter() - self.start:.0f} s)")
        model.metadata["val_bits_per_char"] = val
        model.metadata["steps_trained"] = self.done_before + step
        if self.on_eval is not None and (self.dist is None or self.dist.is_root):
            self.on_eval(model, log)


def _recurrent_layers(model: Sequential) -> list[RecurrentBase]:
    if any(isinstance(layer, Bidirectional) for layer in model.layers):
        raise ConfigError("sampling needs a causal model; a Bidirectional layer reads the future")
    return [layer for layer in model.layers if isinstance(layer, RecurrentBase)]


def _step(model: Sequential, ids: np.ndarray, states: list) -> tuple[np.ndarray, list]:
    """Run ``ids`` (1, T) from ``states``; return the last logits (V,) and the new states."""
    x = ids.astype(model.dtype)[None, :]
    new_states, r = [], 0
    for layer in model.layers:
        if isinstance(layer, RecurrentBase):
            x = layer.forward(x, training=False, initial_state=states[r])
            new_states.append(layer.final_state)
            r += 1
        else:
            x = layer.forward(x, training=False)
    return x[0, -1].astype(np.float64), new_states


def _draw(logits: np.ndarray, temperature: float, rng: np.random.Generator, size: int) -> int:
    """The next id from softmax(logits / temperature) (argmax at temperature 0)."""
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(size, p=p))


def is_transformer(model: Sequential) -> bool:
    """Whether ``model`` is an attention model (sampled with a key/value cache)."""
    return any(isinstance(layer, (TransformerBlock, MultiHeadAttention)) for layer in model.layers)


def context_length(model: Sequential) -> int:
    """The longest window an attention model reads: its learned positions, else the built length."""
    for layer in model.layers:
        if isinstance(layer, PositionalEmbedding):
            return layer.max_len
    return int(model.input_shape[0]) if model.built and model.input_shape else 256


class _KVRunner:
    """Runs a Transformer text model position by position with one key/value cache per
    attention layer: feeding k new positions costs O(k * window), not O(window^2)."""

    def __init__(self, model: Sequential, context: int):
        for layer in model.layers:
            if isinstance(layer, MultiHeadAttention) and layer.cross_attention:
                raise ConfigError("sampling needs a self-attention model; this one has cross-attention")
            if isinstance(layer, (TransformerBlock, MultiHeadAttention)) and not layer.causal:
                raise ConfigError(f"sampling needs a causal model; {layer.describe()} has causal=False")
        self.model, self.context = model, context
        self.reset()

    def reset(self) -> None:
        self.pos = 0
        self.kv = {i: (layer.attn if isinstance(layer, TransformerBlock) else layer).new_kv_cache(1, self.context)
                   for i, layer in enumerate(self.model.layers)
                   if isinstance(layer, (TransformerBlock, MultiHeadAttention))}

    def feed(self, ids: np.ndarray) -> np.ndarray:
        """Append ``ids`` (t,) to the window; the logits (V,) after the last one."""
        x = ids.astype(self.model.dtype)[None, :]
        for i, layer in enumerate(self.model.layers):
            if isinstance(layer, (PositionalEmbedding, SinusoidalPositionalEncoding)):
                x = layer.forward(x, offset=self.pos)
            elif i in self.kv:
                x = layer.step(x, self.kv[i])
            else:
                x = layer.forward(x, training=False)
        self.pos += len(ids)
        return x[0, -1].astype(np.float64)


def _sample_transformer(model: Sequential, ids: np.ndarray, length: int, temperature: float,
                        rng: np.random.Generator, kv_cache: bool) -> Iterator[int]:
    """Yield ``length`` ids after ``ids``, one at a time, with a sliding window of ``context`` positions.

    The window is ids[start:]. When it would exceed the context, it restarts from its
    last ceil(context / 2) ids (positions renumbered from 0, so cached keys are recomputed
    once per context/2 new characters). With ``kv_cache=False`` the whole window is
    re-run for every character instead: the same logits, so the same text for a seed.
    """
    context = context_length(model)
    keep = context - context // 2
    ids = [int(i) for i in ids]
    start = max(0, len(ids) - context)
    runner = _KVRunner(model, context) if kv_cache else None

    def logits_of_window(new_window: bool) -> np.ndarray:
        if not kv_cache:
            window = np.asarray(ids[start:])
            return model.predict(window.astype(model.dtype)[None, :])[0, -1].astype(np.float64)
        if new_window:
            runner.reset()
            return runner.feed(np.asarray(ids[start:]))
        return runner.feed(np.asarray(ids[-1:]))

    logits = logits_of_window(True)
    size = len(logits)
    for i in range(length):
        nxt = _draw(logits, temperature, rng, size)
        yield nxt
        if i + 1 == length:
            return
        ids.append(nxt)
        restart = len(ids) - start > context
        if restart:
            start = len(ids) - keep
        logits = logits_of_window(restart)


def sample(model: Sequential, length: int = 500, *, prompt: str = "", temperature: float = 1.0,
           seed: int | None = None, kv_cache: bool = True) -> str:
    """Generate ``length`` characters after ``prompt`` (returned together).

    Each next character is drawn from softmax(logits / temperature): lower
    temperatures (0.5) give safer, more repetitive text, higher ones (1.2) wilder
    text; ``temperature=0`` picks the most likely character every time. A recurrent
    model carries its state from step to step, so each character costs one step; a
    Transformer keeps the keys and values of the positions it has seen (``kv_cache``;
    ``False`` recomputes the whole window for every character, for comparison).
    :func:`sample_stream` yields the same characters one at a time.
    """
    return prompt + "".join(sample_stream(model, length, prompt=prompt, temperature=temperature, seed=seed,
                                          kv_cache=kv_cache))


def sample_stream(model: Sequential, length: int = 500, *, prompt: str = "", temperature: float = 1.0,
                  seed: int | None = None, kv_cache: bool = True) -> Iterator[str]:
    """The characters :func:`sample` generates after ``prompt``, one at a time, as they are drawn.

    Every argument is checked before the first character is yielded.
    """
    if not (isinstance(temperature, (int, float)) and temperature >= 0):
        raise ConfigError(f"temperature must be >= 0. Received: temperature={temperature!r}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ConfigError(f"length must be an integer >= 0. Received: length={length!r}")
    vocab = vocab_of(model)
    rng = np.random.default_rng(seed)
    if prompt:
        ids = vocab.encode(prompt)  # unknown characters: DataError now, not at the first next()
    else:
        ids = np.array([vocab.index.get("\n", int(rng.integers(vocab.size)))])
    if is_transformer(model):
        if not model.built:
            model.build((context_length(model),))
        return (vocab.chars[i] for i in _sample_transformer(model, ids, length, temperature, rng, kv_cache))
    return _generate(model, vocab, ids, length, temperature, rng)


def _generate(model, vocab, ids, length, temperature, rng) -> Iterator[str]:
    """A recurrent model's characters: its state carried from step to step."""
    states: list = [None] * len(_recurrent_layers(model))
    if not model.built:
        model.build((len(ids),))
    logits, states = _step(model, ids, states)
    for i in range(length):
        nxt = _draw(logits, temperature, rng, vocab.size)
        yield vocab.chars[nxt]
        if i + 1 < length:
            logits, states = _step(model, np.array([nxt]), states)

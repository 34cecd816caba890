"""The PyTorch twin of every registered layer: the other half of its one test entry.

``TORCH_TWINS[class name](layer) -> (forward, grads)`` where ``layer`` is one of the built
float64 example instances of ``tests/layer_cases.py``; ``forward(*torch_inputs)`` computes
the same function in torch with the layer's weights copied in, and ``grads()`` (called after
torch's backward) returns torch's parameter gradients **in our layout**, keyed as
``layer.all_params()``. The layer harness (``tests/layers/harness.py``, check "torch") runs every case of every
layer through it (outputs, input gradients, every parameter gradient, float64, 1e-8) and
fails when a registered layer has neither a twin nor an entry in :data:`NO_TWIN`.

Only torch is imported lazily (inside the functions), so this file loads without it.
"""
from __future__ import annotations

import numpy as np

#: Layers whose example cases have no torch twin here, and why.
NO_TWIN: dict[str, str] = {}


def _t(a):
    import torch

    return torch.tensor(np.asarray(a, dtype=np.float64))


def _param(value):
    import torch

    return torch.nn.Parameter(_t(value))


def _grad_of(p):
    return p.grad.detach().numpy()


def _dense(layer):
    import torch

    W = _param(layer.params["W"])
    b = _param(layer.params["b"]) if layer.use_bias else None

    def forward(x):
        y = x @ W
        return y + b if b is not None else y

    def grads():
        out = {"W": _grad_of(W)}
        if b is not None:
            out["b"] = _grad_of(b)
        return out
    del torch
    return forward, grads


def _no_params(fn):
    return lambda layer: (fn(layer), dict)


def _activation(layer):
    import torch
    import torch.nn.functional as F

    name = type(layer).__name__
    if name == "Identity":
        return lambda x: x
    if name == "Sigmoid":
        return torch.sigmoid
    if name == "Tanh":
        return torch.tanh
    if name == "ReLU":
        return torch.relu
    if name == "LeakyReLU":
        return lambda x: F.leaky_relu(x, layer.alpha)
    if name == "ELU":
        return lambda x: F.elu(x, layer.alpha)
    if name == "GELU":
        return lambda x: F.gelu(x, approximate="tanh" if layer.approximate == "tanh" else "none")
    if name == "Softplus":
        return F.softplus
    if name == "Softmax":
        return lambda x: torch.softmax(x, dim=layer.axis)
    raise KeyError(name)


def _conv(layer):
    import torch.nn.functional as F

    W = _param(layer.params["W"])
    b = _param(layer.params["b"]) if layer.use_bias else None
    conv = F.conv2d if W.ndim == 4 else F.conv1d
    # Our padding is (lo, hi) per spatial axis ("same" may pad unequally); torch's F.pad takes
    # the last axis first.
    pads = [int(v) for lo_hi in reversed(layer.pads) for v in lo_hi]

    def forward(x):
        return conv(F.pad(x, pads), W, b, stride=tuple(layer.stride), dilation=tuple(layer.dilation))

    def grads():
        return {"W": _grad_of(W), **({"b": _grad_of(b)} if b is not None else {})}
    return forward, grads


def _pool(layer):
    import torch.nn.functional as F

    name = type(layer).__name__
    if name == "GlobalAvgPool2D":
        return lambda x: x.mean(dim=(2, 3)), dict
    k, s, p = tuple(layer.kernel_size), tuple(layer.stride), tuple(layer.padding)
    if name == "MaxPool2D":
        return (lambda x: F.max_pool2d(x, k, s, p)), dict
    if name == "MaxPool1D":
        return (lambda x: F.max_pool1d(x, k, s, p)), dict
    return (lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=True)), dict


def _batchnorm(layer):
    import torch.nn.functional as F

    gamma, beta = _param(layer.params["gamma"]), _param(layer.params["beta"])
    rm, rv = _t(layer.buffers["running_mean"]), _t(layer.buffers["running_var"])

    def forward(x, training=False):
        return F.batch_norm(x, rm.clone(), rv.clone(), gamma, beta, training=training,
                            momentum=layer.momentum, eps=layer.eps)

    return forward, lambda: {"gamma": _grad_of(gamma), "beta": _grad_of(beta)}


def _recurrent(layer, suffix_layers=None):
    """SimpleRNN / LSTM / GRU as torch's modules with our weights mapped in."""
    import torch

    kinds = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
    subs = suffix_layers or [layer]
    first = subs[0]
    module = kinds[type(first).__name__](first.input_size, first.hidden_size, batch_first=True,
                                         bidirectional=len(subs) == 2)
    H = first.hidden_size
    with torch.no_grad():
        for sub, suffix in zip(subs, ("", "_reverse")):
            getattr(module, f"weight_ih_l0{suffix}").copy_(_t(sub.params["W"].T))
            getattr(module, f"weight_hh_l0{suffix}").copy_(_t(sub.params["U"].T))
            if type(sub).__name__ == "GRU":
                getattr(module, f"bias_ih_l0{suffix}").copy_(_t(sub.params["b"]))
                bhh = np.concatenate([np.zeros(2 * H), sub.params["b_hn"]])
                getattr(module, f"bias_hh_l0{suffix}").copy_(_t(bhh))
            else:
                getattr(module, f"bias_ih_l0{suffix}").copy_(_t(sub.params["b"]))
                getattr(module, f"bias_hh_l0{suffix}").zero_()

    def forward(x):
        out, _ = module(x)
        if first.return_sequences:
            return out
        if len(subs) == 1:
            return out[:, -1]
        return torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=-1)

    def grads():
        result = {}
        for sub, suffix, prefix in zip(subs, ("", "_reverse"), ("fw/", "bw/") if len(subs) == 2 else ("",)):
            g = {k: _grad_of(getattr(module, f"{k}_l0{suffix}")) for k in
                 ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            result[prefix + "W"] = g["weight_ih"].T
            result[prefix + "U"] = g["weight_hh"].T
            # our b stands for bias_ih (+ the bias_hh it absorbs), so dL/db = dL/dbias_ih
            result[prefix + "b"] = g["bias_ih"]
            if type(sub).__name__ == "GRU":
                result[prefix + "b_hn"] = g["bias_hh"][2 * H:]
        return result
    return forward, grads


def _bidirectional(layer):
    if layer.merge_mode != "concat":
        import torch

        fwd, grads = _recurrent(layer, [layer.forward_layer, layer.backward_layer])
        H = layer.forward_layer.hidden_size

        def forward(x):
            y = fwd(x)
            return y[..., :H] + y[..., H:]
        del torch
        return forward, grads
    return _recurrent(layer, [layer.forward_layer, layer.backward_layer])


def _embedding(layer):
    W = _param(layer.params["W"])
    return (lambda ids: W[ids.long()]), (lambda: {"W": _grad_of(W)})


def _residual_block(layer):
    import torch

    c1, c2 = _conv(layer.conv1), _conv(layer.conv2)
    b1, b2 = _batchnorm(layer.bn1), _batchnorm(layer.bn2)

    def forward(x, training=False):
        h = torch.relu(b1[0](c1[0](x), training))
        return torch.relu(x + b2[0](c2[0](h), training))

    def grads():
        out = {}
        for name, (_, g) in (("conv1", c1), ("bn1", b1), ("conv2", c2), ("bn2", b2)):
            out.update({f"{name}/{k}": v for k, v in g().items()})
        return out
    return forward, grads


def _merge(layer):
    import functools
    import operator

    import torch

    name = type(layer).__name__
    if name == "Add":
        return (lambda *xs: functools.reduce(operator.add, xs)), dict
    if name == "Multiply":
        return (lambda *xs: functools.reduce(operator.mul, xs)), dict
    return (lambda *xs: torch.cat(xs, dim=layer.axis)), dict


def _reshape(layer):
    name = type(layer).__name__
    if name == "Flatten":
        return (lambda x: x.reshape(x.shape[0], -1)), dict
    return (lambda x: x.reshape((x.shape[0],) + tuple(layer.target_shape))), dict


def _dropout_eval(layer):
    return (lambda x: x), dict


TORCH_TWINS = {
    "Dense": _dense,
    **{n: (lambda layer: (_activation(layer), dict)) for n in
       ("Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax")},
    "Conv2D": _conv, "Conv1D": _conv,
    "MaxPool2D": _pool, "MaxPool1D": _pool, "AvgPool2D": _pool, "GlobalAvgPool2D": _pool,
    "BatchNorm": _batchnorm,
    "SimpleRNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent, "Bidirectional": _bidirectional,
    "Embedding": _embedding,
    "ResidualBlock": _residual_block,
    "Add": _merge, "Multiply": _merge, "Concatenate": _merge,
    "Flatten": _reshape, "Reshape": _reshape,
    # in training mode these draw random masks; their twins are the inference-mode identity
    "Dropout": _dropout_eval, "SpatialDropout": _dropout_eval,
}


def _layer_norm(layer):
    import torch.nn.functional as F

    gamma, beta = _param(layer.params["gamma"]), _param(layer.params["beta"])
    return ((lambda x: F.layer_norm(x, (layer.dim,), gamma, beta, layer.eps)),
            lambda: {"gamma": _grad_of(gamma), "beta": _grad_of(beta)})


def _positional_embedding(layer):
    (name, table), = layer.params.items()
    P = _param(table)
    return (lambda x: x + P[: x.shape[1]]), (lambda: {name: _grad_of(P)})


def _sinusoidal(layer):
    import torch

    def forward(x):
        t, d = x.shape[1], x.shape[2]
        pos = torch.arange(t, dtype=torch.float64)[:, None]
        i = torch.arange(0, d, 2, dtype=torch.float64)
        angle = pos / layer.base ** (i / d)
        pe = torch.zeros(t, d, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(angle)
        pe[:, 1::2] = torch.cos(angle[:, : d // 2])
        return x + pe
    return forward, dict


TORCH_TWINS.update({"LayerNorm": _layer_norm, "PositionalEmbedding": _positional_embedding,
                    "SinusoidalPositionalEncoding": _sinusoidal})
NO_TWIN.update({
    "MultiHeadAttention": "compared with torch.nn.MultiheadAttention(batch_first=True), both masks and "
                          "cross-attention, in tests/reference/test_torch_attention.py (its packed "
                          "in_proj weights and masks need that file's own setup)",
    "TransformerBlock": "compared with torch.nn.TransformerEncoderLayer(norm_first=True, activation='gelu') "
                        "in tests/reference/test_torch_attention.py",
})

"""Small models, losses, optimizers, clipping, schedules and fit against PyTorch, in float64.

Tolerance: max abs diff < 1e-8 after weights are copied across (``torch_helpers.ATOL``).
Skipped where torch is absent.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import scratchnn as sn
from tests.reference.torch_helpers import (
    ATOL,
    compare,
    copy_param,
    float64_torch,
    tt,
)

torch = pytest.importorskip("torch")
nn = torch.nn
L = sn.layers


@pytest.fixture(autouse=True)
def _torch_float64():
    with float64_torch():
        yield


# ------------------------------------------------------------------ models
# (every layer alone: the harness's torch check, tests/layers/harness.py)
def _copy_weights(ours, module):
    """Copy our parameters into the torch module (Dense W is Linear.weight transposed)."""
    if isinstance(module, nn.Linear):
        copy_param(module.weight, ours.params["W"].T)
        if module.bias is not None:
            copy_param(module.bias, ours.params["b"])


def test_small_mlp_matches_torch(rng):
    ours = sn.Sequential([L.Dense(4, 8), L.Tanh(), L.Dense(8, 5), L.GELU(), L.Dense(5, 3)], seed=1, dtype="float64")
    ours.build((4,))
    ours.layers[0].input_grad_required = True  # a model's first layer skips dx unless asked
    theirs = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 5), nn.GELU(approximate="tanh"), nn.Linear(5, 3))
    for i in (0, 2, 4):
        _copy_weights(ours.layers[i], theirs[i])
    x = rng.standard_normal((6, 4))
    labels = rng.integers(0, 3, 6)
    loss = sn.losses.SoftmaxCrossEntropy()
    value = loss(ours.forward(x), labels)
    dx = ours.backward(loss.backward())
    xt = tt(x, requires_grad=True)
    lt = nn.functional.cross_entropy(theirs(xt), tt(labels))
    lt.backward()
    compare("mlp loss", np.float64(value), lt)
    compare("mlp dx", dx, xt.grad)
    for i in (0, 2, 4):
        compare(f"mlp dW{i}", ours.layers[i].grads["W"], theirs[i].weight.grad.T)
        compare(f"mlp db{i}", ours.layers[i].grads["b"], theirs[i].bias.grad)


# ------------------------------------------------------------------ losses
def _loss_pair(ours, torch_fn, y_pred, y_true, torch_true=None, torch_pred=None):
    value = ours(y_pred, y_true)
    grad = ours.backward()
    zt = tt(y_pred, requires_grad=True)
    tp = zt if torch_pred is None else torch_pred(zt)
    lt = torch_fn(tp, tt(y_true) if torch_true is None else torch_true)
    lt.backward()
    return value, grad, lt, zt.grad


def _probs(rng, shape):
    z = rng.standard_normal(shape)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


LOSS_PAIRS = {
    "mse": (sn.losses.MeanSquaredError, nn.functional.mse_loss,
            lambda r: (r.standard_normal((5, 3)), r.standard_normal((5, 3)))),
    "mae": (sn.losses.MeanAbsoluteError, nn.functional.l1_loss,
            lambda r: (r.standard_normal((5, 3)), r.standard_normal((5, 3)))),
    "huber": (sn.losses.Huber, nn.functional.huber_loss,
              lambda r: (2 * r.standard_normal((5, 3)), r.standard_normal((5, 3)))),
    "huber-0.3": (lambda: sn.losses.Huber(0.3), lambda a, b: nn.functional.huber_loss(a, b, delta=0.3),
                  lambda r: (r.standard_normal((5, 3)), r.standard_normal((5, 3)))),
    "bce": (sn.losses.BinaryCrossEntropy, nn.functional.binary_cross_entropy,
            lambda r: (r.uniform(0.02, 0.98, (6, 2)), r.uniform(0, 1, (6, 2)))),
    "bce-hard": (sn.losses.BinaryCrossEntropy, nn.functional.binary_cross_entropy,
                 lambda r: (r.uniform(0.02, 0.98, (6, 1)), r.integers(0, 2, (6, 1)).astype(float))),
    "bce-logits": (sn.losses.BinaryCrossEntropyWithLogits, nn.functional.binary_cross_entropy_with_logits,
                   lambda r: (5 * r.standard_normal((6, 2)), r.uniform(0, 1, (6, 2)))),
    "ce-onehot": (sn.losses.SoftmaxCrossEntropy, nn.functional.cross_entropy,
                  lambda r: (3 * r.standard_normal((7, 4)), np.eye(4)[r.integers(0, 4, 7)])),
    "ce-probs": (sn.losses.SoftmaxCrossEntropy, nn.functional.cross_entropy,
                 lambda r: (3 * r.standard_normal((7, 4)), _probs(r, (7, 4)))),
}


@pytest.mark.parametrize("name", sorted(LOSS_PAIRS))
def test_loss_matches_torch(name, rng):
    make_ours, torch_fn, make = LOSS_PAIRS[name]
    y_pred, y_true = make(rng)
    value, grad, lt, gt = _loss_pair(make_ours(), torch_fn, y_pred, y_true)
    compare(f"{name} loss", np.float64(value), lt)
    compare(f"{name} grad", grad, gt)


def test_every_registered_loss_has_a_torch_reference():
    covered = {type(make()).__name__ for make, _, _ in LOSS_PAIRS.values()}
    assert set(sn.registry.LOSSES) - covered == set()


def test_cross_entropy_labels_matches_torch(rng):
    z, labels = 3 * rng.standard_normal((7, 4)), rng.integers(0, 4, 7)
    value, grad, lt, gt = _loss_pair(sn.losses.SoftmaxCrossEntropy(), nn.functional.cross_entropy, z, labels)
    compare("ce labels loss", np.float64(value), lt)
    compare("ce labels grad", grad, gt)


def test_cross_entropy_sequence_labels_matches_torch(rng):
    """(N, T, C) logits with (N, T) labels: torch wants (N, C, T), so the class axis is moved."""
    z, labels = 2 * rng.standard_normal((3, 5, 4)), rng.integers(0, 4, (3, 5))
    value, grad, lt, gt = _loss_pair(sn.losses.SoftmaxCrossEntropy(), nn.functional.cross_entropy, z, labels,
                                     torch_pred=lambda t: t.permute(0, 2, 1))
    compare("ce seq loss", np.float64(value), lt)
    compare("ce seq grad", grad, gt)


def test_bce_with_logits_extreme_logits_match_torch():
    z = np.array([[-1e4], [-50.0], [0.0], [50.0], [1e4]])
    y = np.array([[1.0], [0.0], [1.0], [1.0], [0.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, grad, lt, gt = _loss_pair(sn.losses.BinaryCrossEntropyWithLogits(),
                                         nn.functional.binary_cross_entropy_with_logits, z, y)
    compare("bce-logits extreme loss", np.float64(value), lt, atol=1e-8 * float(lt.detach()))
    compare("bce-logits extreme grad", grad, gt)


# -------------------------------------------------------------- optimizers
SHAPES = [(4, 3), (3,), (2, 2, 2)]

OPT_PAIRS = {
    "sgd": (lambda: sn.optimizers.SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd-momentum": (lambda: sn.optimizers.SGD(lr=0.1, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "sgd-nesterov": (lambda: sn.optimizers.SGD(lr=0.05, momentum=0.8, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    "sgd-weight-decay": (lambda: sn.optimizers.SGD(lr=0.1, momentum=0.5, weight_decay=0.01),
                         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.01)),
    "adagrad": (lambda: sn.optimizers.AdaGrad(lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "adagrad-weight-decay": (lambda: sn.optimizers.AdaGrad(lr=0.1, weight_decay=0.1),
                             lambda p: torch.optim.Adagrad(p, lr=0.1, weight_decay=0.1)),
    "rmsprop": (lambda: sn.optimizers.RMSProp(lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "rmsprop-momentum": (lambda: sn.optimizers.RMSProp(lr=0.01, rho=0.9, momentum=0.9, weight_decay=0.01),
                         lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.01)),
    "adam": (lambda: sn.optimizers.Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam-weight-decay": (lambda: sn.optimizers.Adam(lr=0.01, beta1=0.8, beta2=0.99, weight_decay=0.1),
                          lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    "adamw": (lambda: sn.optimizers.AdamW(lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
    "adamw-0.2": (lambda: sn.optimizers.AdamW(lr=0.02, weight_decay=0.2, eps=1e-6),
                  lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.2, eps=1e-6)),
}


def _run_optimizers(ours, make_torch, rng, steps=6, schedule=None):
    """Apply the same gradient sequence to the same parameters in both libraries."""
    params = [rng.standard_normal(s) for s in SHAPES]
    tparams = [tt(p, requires_grad=True) for p in params]
    topt = make_torch(tparams)
    tsched = schedule(topt) if schedule is not None else None
    for step in range(steps):
        grads = [rng.standard_normal(s) * (step + 1) for s in SHAPES]
        for t, g in zip(tparams, grads):
            t.grad = tt(g)
        topt.step()
        if tsched is not None:
            tsched.step()
        ours.step([(f"{i}/w", p, g.copy()) for i, (p, g) in enumerate(zip(params, grads))])
        for i, (p, t) in enumerate(zip(params, tparams)):
            compare(f"param {i} after step {step + 1}", p, t)
    return params, tparams


@pytest.mark.parametrize("name", sorted(OPT_PAIRS))
def test_optimizer_matches_torch(name, rng):
    make_ours, make_torch = OPT_PAIRS[name]
    _run_optimizers(make_ours(), make_torch, rng)


def test_every_registered_optimizer_has_a_torch_reference():
    covered = {type(make()).__name__ for make, _ in OPT_PAIRS.values()}
    assert set(sn.registry.OPTIMIZERS) - covered == set()


@pytest.mark.parametrize("max_norm", [0.5, 1e3, "boundary"])
def test_clip_norm_matches_torch(max_norm, rng):
    grads = [rng.standard_normal(s) for s in SHAPES]
    if max_norm == "boundary":  # norm == max_norm: torch still scales by max_norm / (norm + 1e-6)
        max_norm = float(np.sqrt(sum(np.vdot(g, g) for g in grads)))
    tgrads = [tt(g) for g in grads]
    tparams = [tt(np.zeros(s), requires_grad=True) for s in SHAPES]
    for p, g in zip(tparams, tgrads):
        p.grad = g.clone()
    total_t = nn.utils.clip_grad_norm_(tparams, max_norm)
    total = sn.optimizers.clip_grad_norm(grads, max_norm)
    compare("total norm", np.float64(total), total_t)
    for i, (g, p) in enumerate(zip(grads, tparams)):
        compare(f"clipped grad {i}", g, p.grad)


def test_clip_norm_inside_sgd_matches_torch(rng):
    def torch_opt(params):
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
        step = opt.step

        def clipped_step():
            nn.utils.clip_grad_norm_(params, 1.0)
            step()

        opt.step = clipped_step
        return opt

    _run_optimizers(sn.optimizers.SGD(lr=0.1, momentum=0.9, clip_norm=1.0), torch_opt, rng)


# --------------------------------------------------------------- schedules
SCHEDULE_PAIRS = {
    "step": (lambda: sn.schedules.StepDecay(0.1, step_size=3, gamma=0.5),
             lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)),
    "exponential": (lambda: sn.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9),
                    lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)),
    "cosine": (lambda: sn.schedules.CosineDecay(0.1, decay_steps=10, min_lr=0.001),
               lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)),
    # linear warm-up over 4 steps: lr (k + 1) / 4, then constant
    "warmup": (lambda: sn.schedules.WarmUp(0.1, warmup_steps=4),
               lambda opt: torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=3)),
}


@pytest.mark.parametrize("name", sorted(SCHEDULE_PAIRS))
def test_schedule_matches_torch_lr_scheduler(name):
    make_ours, make_torch = SCHEDULE_PAIRS[name]
    ours = make_ours()
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = make_torch(opt)
    for step in range(11):
        compare(f"{name} lr at step {step}", np.float64(ours(step)), np.float64(opt.param_groups[0]["lr"]),
                atol=1e-12)
        opt.step()
        sched.step()


@pytest.mark.parametrize("name", sorted(SCHEDULE_PAIRS))
def test_optimizer_with_schedule_matches_torch(name, rng):
    make_ours, make_torch = SCHEDULE_PAIRS[name]
    _run_optimizers(sn.optimizers.SGD(lr=make_ours(), momentum=0.9),
                    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), rng, steps=8, schedule=make_torch)


def test_reference_tolerance_is_strict():
    """Guard against loosening the tolerance by accident."""
    assert ATOL <= 1e-8
    assert "atol" in inspect.signature(compare).parameters


@pytest.mark.parametrize("loss_name", ["crossentropy", "mse"])
def test_fit_matches_a_torch_training_loop(loss_name, rng):
    """Sequential.fit (no shuffling, float64) = the usual torch loop, batch by batch, to 1e-8."""
    x = rng.standard_normal((10, 4))
    y = rng.integers(0, 3, 10) if loss_name == "crossentropy" else rng.standard_normal((10, 3))
    ours = sn.Sequential([L.Dense(4, 6), L.Tanh(), L.Dense(6, 3)], seed=2, dtype="float64")
    ours.compile(loss=loss_name, optimizer=sn.optimizers.Adam(lr=0.01, weight_decay=0.01))
    ours.build((4,))
    theirs = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    for i in (0, 2):
        _copy_weights(ours.layers[i], theirs[i])
    opt = torch.optim.Adam(theirs.parameters(), lr=0.01, weight_decay=0.01)
    loss_fn = nn.functional.cross_entropy if loss_name == "crossentropy" else nn.functional.mse_loss
    ours.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    for _ in range(3):
        for lo in range(0, 10, 4):
            opt.zero_grad()
            loss_fn(theirs(tt(x[lo:lo + 4])), tt(y[lo:lo + 4])).backward()
            opt.step()
    for i in (0, 2):
        compare(f"W{i} after 3 epochs", ours.layers[i].params["W"], theirs[i].weight.T)
        compare(f"b{i} after 3 epochs", ours.layers[i].params["b"], theirs[i].bias)

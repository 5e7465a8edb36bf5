"""The script's training loop: draw a batch, lossFun, clip, update, print the loss.

Each optimizer and clipping mode is written as app/engine/optim.py and train.py compute it, in
the same order of operations, so the numbers agree with the server's to the last few bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.optim import OPTIMIZERS
from app.export.template import exact_floats, render

OPTIMIZER_CODE = {
    "sgd": '''
def update(grads):
    """Plain gradient descent: p -= learning_rate g."""
    for name, p in params.items():
        p -= learning_rate * grads[name]
''',
    "momentum": '''
def update(grads):
    """Classical momentum (Polyak 1964): v = mu v - learning_rate g; p += v."""
    for name, p in params.items():
        v = velocity[name]
        v *= mu
        v -= learning_rate * grads[name]
        p += v
''',
    "adagrad": '''
def update(grads):
    """Adagrad as in min-char-rnn (Duchi et al. 2011): mem += g^2; p -= lr g / sqrt(mem + eps)."""
    for name, p in params.items():
        g = grads[name]
        mem[name] += g * g  # sum of squared gradients
        p -= learning_rate * g / np.sqrt(mem[name] + eps)
''',
    "rmsprop": '''
def update(grads):
    """RMSProp (Tieleman & Hinton 2012): s = rho s + (1 - rho) g^2; p -= lr g / (sqrt(s) + eps)."""
    for name, p in params.items():
        g, s = grads[name], mean_square[name]
        s *= rho
        s += (1.0 - rho) * g * g  # running mean square
        p -= learning_rate * g / (np.sqrt(s) + eps)
''',
    "adam": '''
def update(grads):
    """Adam with bias correction (Kingma & Ba 2015)."""
    global updates
    updates += 1
    for name, p in params.items():
        g, m, v = grads[name], first[name], second[name]
        m *= beta1
        m += (1.0 - beta1) * g  # first moment
        v *= beta2
        v += (1.0 - beta2) * g * g  # second moment
        m_hat = m / (1.0 - beta1**updates)  # bias corrections
        v_hat = v / (1.0 - beta2**updates)
        p -= learning_rate * m_hat / (np.sqrt(v_hat) + eps)
''',
}
# each optimizer's state: the script's name for it, and the engine's slot name
SLOTS = {
    "momentum": [("velocity", "v")],
    "adagrad": [("mem", "mem")],
    "rmsprop": [("mean_square", "s")],
    "adam": [("first", "m"), ("second", "v")],
}

LOOP = """
cursor = $cursor
for iteration in range($first, $last):
    inputs, targets, mask, stateful, cursor = next_batch(cursor)
    if not stateful:  # a new sequence starts from h = 0
        h = np.zeros((mask.shape[1], H))
        c = np.zeros((mask.shape[1], H))  ##lstm
    loss, grads, h, c = loss_fun(inputs, targets, mask, h, c)  ##lstm
    loss, grads, h = loss_fun(inputs, targets, mask, h)  ##!lstm
    norm = np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))  # global gradient norm
    if norm > clip_threshold:  # rescale to norm clip_threshold (Pascanu et al. 2013)  ##norm
        for g in grads.values():  ##norm
            g *= clip_threshold / norm  ##norm
    for g in grads.values():  ##value
        np.clip(g, -clip_threshold, clip_threshold, out=g)  # as min-char-rnn's [-5, 5]  ##value
    if np.isfinite(norm):  # a NaN or infinite gradient is never applied
        update(grads)
    print(f"iteration {iteration + 1}: loss {float(loss)!r}")
"""


def _slot_code(variable: str, slot: str, state: Mapping[str, object] | None) -> str:
    """One per-parameter state table: the run's arrays exactly, or zeros for a fresh optimizer."""
    prefix = f"{slot}/"
    saved = {k.removeprefix(prefix): v for k, v in (state or {}).items() if k.startswith(prefix)}
    if not saved:
        return f"{variable} = {{name: np.zeros_like(p) for name, p in params.items()}}"
    entries = [
        f'    "{param}": {exact_floats(np.asarray(value, dtype=np.float64), 8)},'
        for param, value in saved.items()
    ]
    return "\n".join([f"{variable} = {{", *entries, "}"])


def optimizer_state_code(name: str, state: Mapping[str, object] | None) -> str:
    """The optimizer's hyperparameters and per-parameter state: zeros, or the run's exactly."""
    hyper: dict[str, Any] = {**OPTIMIZERS[name].defaults, **(dict(state) if state else {})}
    lines = [f"{key} = {float(hyper[key])!r}" for key in OPTIMIZERS[name].defaults]
    lines += [_slot_code(variable, slot, state) for variable, slot in SLOTS.get(name, [])]
    if name == "adam":
        updates = int(str(state["t"])) if state else 0
        lines.append(f"updates = {updates}  # updates applied so far")
    return "\n".join(lines) + "\n" + OPTIMIZER_CODE[name]


def loop_code(lstm: bool, clip_mode: str, cursor: int | None, first: int, last: int) -> str:
    """The training loop from iteration `first` to `last`, starting at `cursor`."""
    tags = {clip_mode, *(["lstm"] if lstm else [])}
    return render(LOOP, tags, {"cursor": repr(cursor), "first": first, "last": last})


def carried_state_code(state: np.ndarray | None, hidden: int, lstm: bool) -> str:
    """The state carried out of the last batch (h, and the LSTM's c), or None before any."""
    if state is None:
        return ("h = c = None" if lstm else "h = None") + "  # set by the first batch"
    lines = ["# The state the last batch ended in, carried on if the next batch continues it."]
    lines.append(f"h = {exact_floats(np.asarray(state)[:, :hidden])}")
    if lstm:
        lines.append(f"c = {exact_floats(np.asarray(state)[:, hidden:])}")
    return "\n".join(lines)

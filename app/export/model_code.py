"""The script's model: its parameters (drawn from the seed or embedded), output head and lossFun.

The forward and backward passes follow the engine's order of operations (app/engine/unroll.py,
heads.py, train.py) so the printed losses match the server's in float64.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from app.engine import InitSpec, ModelSpec, param_shapes
from app.engine.params import recurrent_names
from app.export.template import exact_floats, render

SOFTMAX = '''
def output(h, target):
    """Softmax over the scores W_hy h + b_y, and the cross-entropy -log p[target] of each row."""
    logits = h @ W_hy.T + b_y  # (B, O)
    shifted = logits - logits.max(axis=1, keepdims=True)  # so that exp cannot overflow
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    p = e / total  # probabilities of the next token
    return p, np.log(total[:, 0]) - shifted[np.arange(len(h)), target]


def output_back(p, target, weight):
    """dL/dscores = (p - onehot(target)) * weight: backprop into the softmax's input."""
    dy = p.copy()
    dy[np.arange(len(p)), target] -= 1.0
    return dy * weight[:, None]
'''

LINEAR = '''
def output(h, target):
    """The prediction y = W_hy h + b_y, and the squared error 1/2 ||y - target||^2 of each row."""
    y = h @ W_hy.T + b_y  # (B, O)
    diff = y - target
    return y, 0.5 * np.sum(diff * diff, axis=1)


def output_back(y, target, weight):
    """dL/dy = (y - target) * weight."""
    return (y - target) * weight[:, None]
'''

LOSS_FUN = '''
def loss_fun(inputs, targets, mask, h0, c0):  ##lstm
def loss_fun(inputs, targets, mask, h0):  ##!lstm
    """Forward through the T steps, then back through time: min-char-rnn's lossFun, batched.

    inputs, targets: (T, B) token ids or (T, B, D) values; mask (T, B): 1 where a loss counts.
    Returns the loss (summed over the steps, averaged over the B sequences), every parameter's
    gradient and the state to carry into the next batch.
    """
    T, B = mask.shape
    weight = mask / B  # each loss's weight in the total
    hs, ys, caches = {-1: h0}, {}, {}
    cs = {-1: c0}  ##lstm
    losses = np.zeros((T, B))
    for t in range(T):
        x = np.eye(V)[inputs[t]]  # x_t: one-hot rows (B, V)  ##onehot
        x = E[inputs[t]]  # x_t: the tokens' embedding rows (B, D)  ##embedding
        x = inputs[t]  # x_t (B, D)  ##real
        hs[t], cs[t], caches[t] = step(x, hs[t - 1], cs[t - 1])  ##lstm
        hs[t], caches[t] = step(x, hs[t - 1])  ##!lstm
        ys[t], step_losses = output(hs[t], targets[t])
        losses[t] = step_losses * mask[t]  # padding (mask 0) costs nothing
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    dh_next = np.zeros_like(h0)  # dL/dh_t arriving from the steps after t  ##full
    dc_next = np.zeros_like(c0)  ##full_lstm
    # Truncated BPTT (Williams & Peng 1990): each loss flows back K steps at most, so  ##truncated
    # the losses still flowing are carried apart: slot t % K takes the loss at t and  ##truncated
    # drops the one from step t + K, which has gone its K steps.  ##truncated
    dh_live = np.zeros((K, B, H))  ##truncated
    dc_live = np.zeros((K, B, H))  ##truncated_lstm
    for t in reversed(range(T)):
        dy = output_back(ys[t], targets[t], weight[t])
        grads["W_hy"] += dy.T @ hs[t]
        grads["b_y"] += dy.sum(axis=0)
        dh = dy @ W_hy + dh_next  # from the output at t and from the steps after it  ##full
        da, dh_next, dc_next = step_back(caches[t], dh, dc_next)  ##full_lstm
        da, dh_next = step_back(caches[t], dh)  ##full_other
        dh_live[t % K] = dy @ W_hy  ##truncated
        dc_live[t % K] = 0.0  ##truncated_lstm
        da, dh_live, dc_live = step_back(caches[t], dh_live, dc_live)  ##truncated_lstm
        da, dh_live = step_back(caches[t], dh_live)  ##truncated_other
        da = {k: d.sum(axis=0) for k, d in da.items()}  # every live loss's share  ##truncated
        add_grads(grads, caches[t], da)
        dx = sum(d @ params["W_x" + k] for k, d in da.items())  # dL/dx_t  ##embedding
        np.add.at(grads["E"], inputs[t], dx)  # into the embedding rows looked up  ##embedding
    loss = losses.sum() / B
    return loss, grads, hs[T - 1], cs[T - 1]  ##lstm
    return loss, grads, hs[T - 1]  ##!lstm
'''

RECURRENT = '''
def recurrent_matrix():
    """A recurrent weight matrix, drawn as the server draws it."""
    W = weights_rng.standard_normal((H, H)) * init_scale  # Gaussian  ##gaussian
    q, r = np.linalg.qr(weights_rng.standard_normal((H, H)))  ##orthogonal
    W = q * np.sign(np.diag(r))  # Haar-random orthogonal (Mezzadri 2007)  ##orthogonal
    W = np.eye(H)  # identity recurrence (Le, Jaitly & Hinton 2015)  ##identity
    W *= spectral_radius / np.abs(np.linalg.eigvals(W)).max()  # largest |eigenvalue|  ##radius
    return W
'''


def model_tags(spec: ModelSpec, truncation: int | None) -> set[str]:
    """The template tags of a model: cell kind, input kind, full or truncated BPTT."""
    lstm = spec.cell == "lstm"
    mode = "full" if truncation is None else "truncated"
    return {
        *(["lstm"] if lstm else []),
        spec.input_kind,
        mode,
        f"{mode}_{'lstm' if lstm else 'other'}",
    }


def loss_code(spec: ModelSpec, truncation: int | None) -> str:
    """The output head and lossFun of a model."""
    head = SOFTMAX if spec.head == "softmax" else LINEAR
    return head + render(LOSS_FUN, model_tags(spec, truncation))


SYMBOLS = {"W_x": "(H, D)", "W_h": "(H, H)", "b_": "H", "E": "(V, D)", "W_hy": "(O, H)"}


def _symbolic_shape(name: str) -> str:
    """A parameter's shape in the script's size names."""
    if name == "b_y":
        return "O"
    for prefix in ("W_hy", "E", "W_x", "W_h", "b_"):
        if name.startswith(prefix):
            return SYMBOLS[prefix]
    raise ValueError(f"no shape for {name}")


def seeded_params_code(spec: ModelSpec, init: InitSpec) -> str:
    """Parameters drawn from the seed in the server's order (app/engine/params.py)."""
    tags = {init.scheme, *(["radius"] if init.spectral_radius is not None else [])}
    lines = [
        "weights_rng = np.random.default_rng(seed)  # the weights' generator; the data has its own",
        render(RECURRENT, tags),
        "# Drawn in this order, so the same seed gives the server's weights bit for bit.",
    ]
    recurrent = set(recurrent_names(spec))
    for name in param_shapes(spec):
        shape = _symbolic_shape(name)
        if name in recurrent:
            value = "recurrent_matrix()"
        elif name == "E":
            value = f"weights_rng.standard_normal({shape})  # embedding rows, one per token"
        elif name.startswith("b_"):
            value = (
                "np.ones(H)  # forget gate open at the start"
                if name == "b_f"
                else f"np.zeros({shape})"
            )
        else:
            value = f"weights_rng.standard_normal({shape}) * init_scale"
        lines.append(f"{name} = {value}")
    return "\n".join(lines)


def embedded_params_code(params: Mapping[str, np.ndarray], spec: ModelSpec) -> str:
    """The run's current parameters, exactly."""
    lines = ["# The run's weights at export time, exact to the last bit."]
    for name in param_shapes(spec):
        lines.append(f"{name} = {exact_floats(np.asarray(params[name], dtype=np.float64))}")
    return "\n".join(lines)


def params_dict_code(spec: ModelSpec) -> str:
    """params: every parameter by name, in the server's order (the gradient norm sums so)."""
    names = list(param_shapes(spec))
    items = "\n".join(f'    "{name}": {name},' for name in names)
    return f"params = {{\n{items}\n}}"

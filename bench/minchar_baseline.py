"""min-char-rnn's lossFun (Karpathy, 2015), kept as the speed baseline for the engine.

The loop is the original's: one-hot column vectors multiplied by W_xh, per-step outer products
for every weight gradient, dictionaries of per-step values. Only the globals became arguments
and the final clipping was left out, so it does exactly forward + full BPTT, as the engine's
loss_and_grads does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def init(vocab_size: int, hidden_size: int, rng: np.random.Generator) -> dict[str, Array]:
    """min-char-rnn's parameters: randn * 0.01 weights, zero biases, column-vector layout."""
    return {
        "Wxh": rng.standard_normal((hidden_size, vocab_size)) * 0.01,
        "Whh": rng.standard_normal((hidden_size, hidden_size)) * 0.01,
        "Why": rng.standard_normal((vocab_size, hidden_size)) * 0.01,
        "bh": np.zeros((hidden_size, 1)),
        "by": np.zeros((vocab_size, 1)),
    }


def loss_fun(
    p: dict[str, Array], inputs: list[int], targets: list[int], hprev: Array
) -> tuple[float, dict[str, Array], Array]:
    """inputs, targets are lists of integers; hprev is (H, 1). Returns loss, grads, last h."""
    Wxh, Whh, Why, bh, by = p["Wxh"], p["Whh"], p["Why"], p["bh"], p["by"]
    vocab_size = Wxh.shape[1]
    xs: dict[int, Array] = {}
    hs: dict[int, Array] = {}
    ys: dict[int, Array] = {}
    ps: dict[int, Array] = {}
    hs[-1] = np.copy(hprev)
    loss = 0.0
    # forward pass
    for t in range(len(inputs)):
        xs[t] = np.zeros((vocab_size, 1))  # encode in 1-of-k representation
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)  # hidden state
        ys[t] = np.dot(Why, hs[t]) + by  # unnormalized log probabilities for next chars
        ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))  # probabilities for next chars
        loss += -np.log(ps[t][targets[t], 0])  # softmax (cross-entropy loss)
    # backward pass: compute gradients going backwards
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1  # backprop into y
        dWhy += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(Why.T, dy) + dhnext  # backprop into h
        dhraw = (1 - hs[t] * hs[t]) * dh  # backprop through tanh nonlinearity
        dbh += dhraw
        dWxh += np.dot(dhraw, xs[t].T)
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)
    grads = {"Wxh": dWxh, "Whh": dWhh, "Why": dWhy, "bh": dbh, "by": dby}
    return float(loss), grads, hs[len(inputs) - 1]

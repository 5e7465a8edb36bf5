"""torch's documented recurrences in NumPy, and .safetensors files laid out as torch saves them.

Written from the torch.nn.RNN, nn.LSTM and nn.GRU documentation, not from the engine: gates are
stacked in torch's order, each bias pair is added separately, and the GRU's reset multiplies
(W_hn h + b_hn). No torch is needed: safetensors.numpy writes the same bytes torch's would.
"""

from __future__ import annotations

import json

import numpy as np
from safetensors.numpy import save

GATES = {"nn.RNN": 1, "nn.LSTM": 4, "nn.GRU": 3}


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def torch_tensors(
    module: str,
    D: int,
    H: int,
    *,
    seed: int = 0,
    vocab: int = 0,
    outputs: int = 0,
    prefix: str = "rnn.",
    bias: bool = True,
    dtype: type = np.float32,
) -> dict[str, np.ndarray]:
    """A random state_dict with torch's names and shapes: rnn.*_l0, embedding.weight, head.*."""
    rng = np.random.default_rng(seed)
    G = GATES[module]

    def draw(*shape: int) -> np.ndarray:
        return (0.6 * rng.standard_normal(shape)).astype(dtype)

    tensors = {f"{prefix}weight_ih_l0": draw(G * H, D), f"{prefix}weight_hh_l0": draw(G * H, H)}
    if bias:
        tensors[f"{prefix}bias_ih_l0"] = draw(G * H)
        tensors[f"{prefix}bias_hh_l0"] = draw(G * H)
    if vocab:
        tensors["embedding.weight"] = draw(vocab, D)
    if outputs:
        tensors["head.weight"] = draw(outputs, H)
        tensors["head.bias"] = draw(outputs)
    return tensors


def safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    return save(tensors)


def sidecar_json(**fields: object) -> str:
    return json.dumps(fields)


def torch_forward(
    module: str,
    tensors: dict[str, np.ndarray],
    xs: np.ndarray,
    *,
    prefix: str = "rnn.",
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, np.ndarray | None]:
    """(h_t for every step (T, B, H), head outputs (T, B, O) or None) of torch's equations."""
    t64 = {name: value.astype(np.float64) for name, value in tensors.items()}
    W_ih, W_hh = t64[f"{prefix}weight_ih_l0"], t64[f"{prefix}weight_hh_l0"]
    H = W_hh.shape[1]
    b_ih = t64.get(f"{prefix}bias_ih_l0", np.zeros(W_hh.shape[0]))
    b_hh = t64.get(f"{prefix}bias_hh_l0", np.zeros(W_hh.shape[0]))
    T, B = xs.shape[:2]
    h, c = np.zeros((B, H)), np.zeros((B, H))
    hs = np.zeros((T, B, H))
    for t in range(T):
        gi = xs[t] @ W_ih.T + b_ih  # W_i* x_t + b_i*, gate blocks stacked in torch's order
        gh = h @ W_hh.T + b_hh  # W_h* h_{t-1} + b_h*
        if module == "nn.RNN":
            a = gi + gh
            h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
        elif module == "nn.LSTM":  # blocks i, f, g, o
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        else:  # nn.GRU, blocks r, z, n: the reset multiplies (W_hn h + b_hn)
            r = sigmoid(gi[:, :H] + gh[:, :H])
            z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
            n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
            h = (1 - z) * n + z * h
        hs[t] = h
    if "head.weight" not in t64:
        return hs, None
    return hs, hs @ t64["head.weight"].T + t64.get("head.bias", 0.0)

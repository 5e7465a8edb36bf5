"""Recurrent cells behind one small interface, so a single driver unrolls and backprops them all.

Notation: step t reads x_t and h_{t-1} and writes h_t. Row-vector batches: h is (B, H), so the
textbook W_hh h_{t-1} is computed as h_{t-1} @ W_hh.T. Every cell stacks its blocks' pre-
activations a_t = W_x x_t + W_h h_{t-1} + b into one (B, G*H) array; the input half W_x x_t + b
is computed for all T at once by the driver and handed to `forward` as `xw_t`.

Parameters of block k are W_x{k} (H, D), W_h{k} (H, H) and b_{k} (H,):

- rnn, blocks ("h",): h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), f in tanh, relu, sigmoid, linear.
- lstm, blocks ("i", "f", "o", "g") (Hochreiter & Schmidhuber 1997, forget gate of Gers et al.
  2000): i, f, o = sigmoid(W_x. x_t + W_h. h_{t-1} + b_.), g = tanh(W_xg x_t + W_hg h_{t-1} + b_g),
  c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).
- gru, blocks ("z", "r", "h") (Cho et al. 2014): z, r = sigmoid(...),
  h~_t = tanh(W_xh x_t + W_hh (r * h_{t-1}) + b_h), h_t = z * h_{t-1} + (1 - z) * h~_t.
- gru_torch, blocks ("z", "r", "h"), torch.nn.GRU's form with an extra bias b_hh: see
  app.engine.cells_torch (cell_types maps every name to its class).

`backward` and `jvp` index the tape with `idx`: an int t for one step, or e.g. (t, slice(0, 1))
or (slice(None), slice(0, 1)) to read batch element 0 at one or all steps. They only broadcast,
so dh may carry extra leading axes (several loss sources, identity seeds) over the cached values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.engine.activations import activate, derivative_from_output, sigmoid
from app.engine.types import Array, Params

BLOCKS: dict[str, tuple[str, ...]] = {
    "rnn": ("h",),
    "lstm": ("i", "f", "o", "g"),
    "gru": ("z", "r", "h"),
    "gru_torch": ("z", "r", "h"),  # torch.nn.GRU's form, in app.engine.cells_torch
}
# (H,) parameters a cell has beyond W_x{k}, W_h{k} and b_{k}: torch's GRU's b_hn, inside the reset
EXTRA_BIASES: dict[str, tuple[str, ...]] = {"gru_torch": ("b_hh",)}

Index = Any  # an int step, or a tuple of int/slice selecting steps and batch elements
Weights = tuple[Array, ...]  # a cell's recurrent weights for one pass


@dataclass
class Tape:
    """Preallocated per-step buffers of one unrolled sequence, filled step by step by `forward`."""

    hs: Array  # (T+1, B, H): hs[0] is the initial state h_{-1}, hs[t+1] is h_t
    A: Array  # (T, B, G*H) stacked pre-activations a_t
    G: Array  # (T, B, G*H) stacked block outputs (gates, candidate)
    cs: Array | None = None  # (T+1, B, H) LSTM cell states, cs[t+1] = c_t
    aux: Array | None = None  # (T, B, H) LSTM tanh(c_t), or GRU r_t * h_{t-1}
    dG: Array | None = None  # (T, B, G*H) local derivatives of G w.r.t. A, set by `finish`
    daux: Array | None = None  # (T, B, H) LSTM 1 - tanh(c_t)^2, set by `finish`
    h_prev: Array = field(init=False)  # (T, B, H) view: h_{t-1} at step t
    c_prev: Array | None = field(init=False)  # (T, B, H) view: c_{t-1} at step t

    def __post_init__(self) -> None:
        self.h_prev = self.hs[:-1]
        self.c_prev = None if self.cs is None else self.cs[:-1]


class Cell(ABC):
    """The recurrence of one cell type: a step forward, a step backward and a tangent step."""

    name: str
    blocks: tuple[str, ...]

    def __init__(self, hidden_size: int, activation: str = "tanh") -> None:
        self.H = hidden_size
        self.activation = activation

    @property
    def width(self) -> int:
        """G * H, the width of the stacked pre-activations."""
        return len(self.blocks) * self.H

    def allocate(self, T: int, B: int, dtype: np.dtype[Any]) -> Tape:
        """Empty buffers for T steps of a batch of B."""
        H = self.H
        return Tape(
            hs=np.empty((T + 1, B, H), dtype),
            A=np.empty((T, B, self.width), dtype),
            G=np.empty((T, B, self.width), dtype),
        )

    @abstractmethod
    def weights(self, params: Params) -> Weights:
        """The recurrent weights in the layout `forward` and `backward` use."""

    @abstractmethod
    def forward(self, tape: Tape, t: int, xw_t: Array, w: Weights) -> None:
        """Step t: write a_t, the block outputs and h_t (and c_t) into the tape."""

    @abstractmethod
    def finish(self, tape: Tape) -> None:
        """After the forward pass: local derivatives for all T in one vectorised pass."""

    @abstractmethod
    def backward(
        self, tape: Tape, idx: Index, dh: Array, dc: Array | None, w: Weights
    ) -> tuple[Array, Array, Array | None]:
        """(dL/da_t, dL/dh_{t-1}, dL/dc_{t-1}) from dL/dh_t and dL/dc_t (None for zero)."""

    def state_gradient(self, tape: Tape, idx: Index, dh: Array, dc: Array | None) -> Array | None:
        """dL/dc_t of a cell with a cell state (None here: the state is h alone)."""
        return None

    @abstractmethod
    def jvp(self, tape: Tape, idx: Index, v: Array, w: Weights) -> Array:
        """(dh_t/dh_{t-1}) v, the tangent of h_t for a tangent v of h_{t-1}, c_{t-1} held fixed."""

    @abstractmethod
    def recurrent_grads(self, tape: Tape, dA: Array, steps: slice) -> dict[str, Array]:
        """dL/dW_h{k} summed over `steps`, given dL/da (n, B, G*H) for those steps."""

    @abstractmethod
    def display(self, tape: Tape) -> tuple[Array, dict[str, Array]]:
        """(candidate pre-activation (T, B, H), named gates (T, B, H)) as views of the tape."""

    def candidate(self, stacked: Array) -> Array:
        """The candidate's block (the one making h_t, or c_t's update) of a stacked (..., G*H)
        array: the last block here."""
        return stacked[..., (len(self.blocks) - 1) * self.H :]


def _outer_sum(d: Array, x: Array) -> Array:
    """sum over steps and batch of the outer products d x^T: (n, B, K), (n, B, M) -> (K, M)."""
    return d.reshape(-1, d.shape[-1]).T @ x.reshape(-1, x.shape[-1])


class VanillaCell(Cell):
    """h_t = f(W_xh x_t + W_hh h_{t-1} + b_h) (Elman 1990)."""

    name = "rnn"
    blocks = BLOCKS["rnn"]

    def allocate(self, T: int, B: int, dtype: np.dtype[Any]) -> Tape:
        """Buffers where the block output G is h_t itself (a view of hs)."""
        tape = super().allocate(T, B, dtype)
        tape.G = tape.hs[1:]
        return tape

    def weights(self, params: Params) -> Weights:
        """(W_hh, W_hh.T)."""
        return params["W_hh"], params["W_hh"].T

    def forward(self, tape: Tape, t: int, xw_t: Array, w: Weights) -> None:
        """a_t = W_hh h_{t-1} + (W_xh x_t + b_h); h_t = f(a_t)."""
        a = tape.A[t]
        np.matmul(tape.hs[t], w[1], out=a)  # W_hh h_{t-1}
        a += xw_t  # + W_xh x_t + b_h
        activate(self.activation, a, out=tape.hs[t + 1])  # h_t = f(a_t)

    def finish(self, tape: Tape) -> None:
        """f'(a_t) for all steps, from h_t."""
        tape.dG = derivative_from_output(self.activation, tape.hs[1:])

    def backward(
        self, tape: Tape, idx: Index, dh: Array, dc: Array | None, w: Weights
    ) -> tuple[Array, Array, Array | None]:
        """Backprop through f and W_hh."""
        assert tape.dG is not None
        da = dh * tape.dG[idx]  # backprop through the nonlinearity
        return da, da @ w[0], None  # dL/dh_{t-1} = W_hh^T da

    def jvp(self, tape: Tape, idx: Index, v: Array, w: Weights) -> Array:
        """diag(f'(a_t)) W_hh v."""
        assert tape.dG is not None
        return (v @ w[1]) * tape.dG[idx]

    def recurrent_grads(self, tape: Tape, dA: Array, steps: slice) -> dict[str, Array]:
        """dW_hh = sum_t da_t h_{t-1}^T."""
        return {"W_hh": _outer_sum(dA, tape.h_prev[steps])}

    def display(self, tape: Tape) -> tuple[Array, dict[str, Array]]:
        """The pre-activation a_t; no gates."""
        return self.candidate(tape.A), {}


class LSTMCell(Cell):
    """Long short-term memory with input, forget and output gates (blocks i, f, o, g)."""

    name = "lstm"
    blocks = BLOCKS["lstm"]

    def allocate(self, T: int, B: int, dtype: np.dtype[Any]) -> Tape:
        """Buffers plus the cell states c and tanh(c)."""
        tape = super().allocate(T, B, dtype)
        tape.cs = np.empty((T + 1, B, self.H), dtype)
        tape.aux = np.empty((T, B, self.H), dtype)
        tape.__post_init__()
        return tape

    def weights(self, params: Params) -> Weights:
        """(W_h, W_h.T) with W_h = [W_hi; W_hf; W_ho; W_hg] stacked (4H, H)."""
        W_h = np.concatenate([params["W_hi"], params["W_hf"], params["W_ho"], params["W_hg"]])
        return W_h, W_h.T

    def forward(self, tape: Tape, t: int, xw_t: Array, w: Weights) -> None:
        """Gates from [x_t, h_{t-1}], then c_t = f c_{t-1} + i g and h_t = o tanh(c_t)."""
        assert tape.cs is not None and tape.aux is not None
        H = self.H
        a, g = tape.A[t], tape.G[t]
        np.matmul(tape.hs[t], w[1], out=a)  # W_h h_{t-1} for all four blocks
        a += xw_t  # + W_x x_t + b
        sigmoid(a[:, : 3 * H], out=g[:, : 3 * H])  # i, f, o gates
        np.tanh(a[:, 3 * H :], out=g[:, 3 * H :])  # candidate g
        c = tape.cs[t + 1]
        np.multiply(g[:, H : 2 * H], tape.cs[t], out=c)  # f * c_{t-1}
        c += g[:, :H] * g[:, 3 * H :]  # + i * g
        tc = np.tanh(c, out=tape.aux[t])  # tanh(c_t)
        np.multiply(g[:, 2 * H : 3 * H], tc, out=tape.hs[t + 1])  # h_t = o * tanh(c_t)

    def finish(self, tape: Tape) -> None:
        """sigmoid' = s (1 - s) for i, f, o; tanh' = 1 - g^2 for g; 1 - tanh(c)^2."""
        assert tape.aux is not None
        H3 = 3 * self.H
        dG = np.empty_like(tape.G)
        np.multiply(tape.G[..., :H3], 1.0 - tape.G[..., :H3], out=dG[..., :H3])
        np.subtract(1.0, tape.G[..., H3:] ** 2, out=dG[..., H3:])
        tape.dG = dG
        tape.daux = 1.0 - tape.aux**2

    def backward(
        self, tape: Tape, idx: Index, dh: Array, dc: Array | None, w: Weights
    ) -> tuple[Array, Array, Array | None]:
        """Backprop through h = o tanh(c), c = f c_{t-1} + i g, the gates and W_h."""
        assert tape.dG is not None and tape.daux is not None and tape.aux is not None
        assert tape.c_prev is not None
        H = self.H
        g = tape.G[idx]
        tc = tape.aux[idx]
        dct = self.state_gradient(tape, idx, dh, dc)
        dgates = np.concatenate(
            [
                dct * g[..., 3 * H :],  # d i = dc * g
                dct * tape.c_prev[idx],  # d f = dc * c_{t-1}
                dh * tc,  # d o = dh * tanh(c)
                dct * g[..., :H],  # d g = dc * i
            ],
            axis=-1,
        )
        da = dgates * tape.dG[idx]  # through sigmoid and tanh
        return da, da @ w[0], dct * g[..., H : 2 * H]  # W_h^T da; dc_{t-1} = dc * f

    def state_gradient(self, tape: Tape, idx: Index, dh: Array, dc: Array | None) -> Array:
        """dL/dc_t from dL/dh_t and dL/dc_t arriving from step t + 1 (None for zero)."""
        assert tape.daux is not None
        H = self.H
        dct = dh * tape.G[idx][..., 2 * H : 3 * H] * tape.daux[idx]  # through h = o * tanh(c)
        return dct if dc is None else dct + dc  # plus the cell state's path from step t + 1

    def jvp(self, tape: Tape, idx: Index, v: Array, w: Weights) -> Array:
        """Tangent of h_t for a tangent v of h_{t-1}, with c_{t-1} fixed."""
        assert tape.dG is not None and tape.daux is not None and tape.aux is not None
        assert tape.c_prev is not None
        H = self.H
        g = tape.G[idx]
        dg = (v @ w[1]) * tape.dG[idx]  # tangents of i, f, o, g
        dc = (
            dg[..., :H] * g[..., 3 * H :]
            + dg[..., H : 2 * H] * tape.c_prev[idx]
            + g[..., :H] * dg[..., 3 * H :]
        )  # tangent of c = f c_{t-1} + i g
        o = g[..., 2 * H : 3 * H]
        return dg[..., 2 * H : 3 * H] * tape.aux[idx] + o * tape.daux[idx] * dc

    def recurrent_grads(self, tape: Tape, dA: Array, steps: slice) -> dict[str, Array]:
        """dW_hk = sum_t da_k,t h_{t-1}^T for each block k."""
        stacked = _outer_sum(dA, tape.h_prev[steps])  # (4H, H)
        H = self.H
        return {f"W_h{k}": stacked[j * H : (j + 1) * H] for j, k in enumerate(self.blocks)}

    def display(self, tape: Tape) -> tuple[Array, dict[str, Array]]:
        """Candidate pre-activation; gates i, f, o, g and the cell state c."""
        assert tape.cs is not None
        H = self.H
        gates = {k: tape.G[..., j * H : (j + 1) * H] for j, k in enumerate(self.blocks)}
        gates["c"] = tape.cs[1:]
        return self.candidate(tape.A), gates


class GRUCell(Cell):
    """Gated recurrent unit with update gate z and reset gate r (Cho et al. 2014)."""

    name = "gru"
    blocks = BLOCKS["gru"]

    def allocate(self, T: int, B: int, dtype: np.dtype[Any]) -> Tape:
        """Buffers plus r * h_{t-1}, the candidate's recurrent input."""
        tape = super().allocate(T, B, dtype)
        tape.aux = np.empty((T, B, self.H), dtype)
        return tape

    def weights(self, params: Params) -> Weights:
        """(W_hzr, W_hzr.T, W_hh, W_hh.T) with W_hzr = [W_hz; W_hr] stacked (2H, H)."""
        W_hzr = np.concatenate([params["W_hz"], params["W_hr"]])
        return W_hzr, W_hzr.T, params["W_hh"], params["W_hh"].T

    def forward(self, tape: Tape, t: int, xw_t: Array, w: Weights) -> None:
        """z, r from [x_t, h_{t-1}]; candidate from r * h_{t-1}; h_t interpolates."""
        assert tape.aux is not None
        H2 = 2 * self.H
        a, g, hp = tape.A[t], tape.G[t], tape.hs[t]
        a_zr, a_n = a[:, :H2], a[:, H2:]
        np.matmul(hp, w[1], out=a_zr)  # W_hz h_{t-1}, W_hr h_{t-1}
        a_zr += xw_t[:, :H2]
        sigmoid(a_zr, out=g[:, :H2])  # z, r gates
        rh = np.multiply(g[:, self.H : H2], hp, out=tape.aux[t])  # r * h_{t-1}
        np.matmul(rh, w[3], out=a_n)  # W_hh (r * h_{t-1})
        a_n += xw_t[:, H2:]
        n = np.tanh(a_n, out=g[:, H2:])  # candidate h~_t
        h = np.subtract(hp, n, out=tape.hs[t + 1])
        h *= g[:, : self.H]
        h += n  # h_t = z * h_{t-1} + (1 - z) * h~_t

    def finish(self, tape: Tape) -> None:
        """sigmoid' for z, r and tanh' for the candidate."""
        H2 = 2 * self.H
        dG = np.empty_like(tape.G)
        np.multiply(tape.G[..., :H2], 1.0 - tape.G[..., :H2], out=dG[..., :H2])
        np.subtract(1.0, tape.G[..., H2:] ** 2, out=dG[..., H2:])
        tape.dG = dG

    def backward(
        self, tape: Tape, idx: Index, dh: Array, dc: Array | None, w: Weights
    ) -> tuple[Array, Array, Array | None]:
        """Backprop through the interpolation, the candidate, the gates and both W_h."""
        assert tape.dG is not None
        H, H2 = self.H, 2 * self.H
        g, dG, hp = tape.G[idx], tape.dG[idx], tape.h_prev[idx]
        z, r, n = g[..., :H], g[..., H:H2], g[..., H2:]
        da_n = (dh - dh * z) * dG[..., H2:]  # through (1 - z) * h~ and tanh
        drh = da_n @ w[2]  # dL/d(r * h_{t-1}) = W_hh^T da_n
        da_zr = np.concatenate([dh * (hp - n), drh * hp], axis=-1) * dG[..., :H2]  # dz, dr
        dh_prev = dh * z + drh * r + da_zr @ w[0]  # direct path, via r * h, via the gates
        return np.concatenate([da_zr, da_n], axis=-1), dh_prev, None

    def jvp(self, tape: Tape, idx: Index, v: Array, w: Weights) -> Array:
        """Tangent of h_t for a tangent v of h_{t-1}."""
        assert tape.dG is not None
        H, H2 = self.H, 2 * self.H
        g, dG, hp = tape.G[idx], tape.dG[idx], tape.h_prev[idx]
        z, r, n = g[..., :H], g[..., H:H2], g[..., H2:]
        dzr = (v @ w[1]) * dG[..., :H2]  # tangents of z, r
        drh = dzr[..., H:] * hp + r * v  # tangent of r * h_{t-1}
        dn = (drh @ w[3]) * dG[..., H2:]  # tangent of h~
        return dzr[..., :H] * (hp - n) + z * v + (1.0 - z) * dn

    def recurrent_grads(self, tape: Tape, dA: Array, steps: slice) -> dict[str, Array]:
        """dW_hz, dW_hr against h_{t-1}; dW_hh against r * h_{t-1}."""
        assert tape.aux is not None
        H, H2 = self.H, 2 * self.H
        zr = _outer_sum(dA[..., :H2], tape.h_prev[steps])  # (2H, H)
        return {"W_hz": zr[:H], "W_hr": zr[H:], "W_hh": _outer_sum(dA[..., H2:], tape.aux[steps])}

    def display(self, tape: Tape) -> tuple[Array, dict[str, Array]]:
        """Candidate pre-activation; gates z, r and the candidate h~."""
        H = self.H
        gates = {"z": tape.G[..., :H], "r": tape.G[..., H : 2 * H], "h_tilde": tape.G[..., 2 * H :]}
        return self.candidate(tape.A), gates

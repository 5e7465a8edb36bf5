"""The shared driver: input encoding, the output head, the BPTT sweep and parameter gradients.

Forward/Backward (step by step, for display) and loss_and_grads (the fast training path) are
thin loops over these pieces. Input and output projections are single matrix products over all
T steps; only the recurrence itself runs in the Python loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.cell_types import make_cell
from app.engine.cells import Cell, Tape, Weights
from app.engine.heads import head_backward
from app.engine.params import check_params, param_shapes
from app.engine.spec import ModelSpec
from app.engine.types import Array


@dataclass(frozen=True)
class Model:
    """The parameters arranged for one pass: the cell, stacked input weights, the head."""

    spec: ModelSpec
    cell: Cell
    w: Weights  # the cell's recurrent weights
    W_x: Array  # (G*H, D) input weights of all blocks, stacked
    b: Array  # (G*H,) biases of all blocks, stacked
    lookup: Array | None  # (V, G*H) = W_x^T + b: a one-hot input's whole input projection
    params: Mapping[str, Array]
    dtype: np.dtype[Any]
    names: tuple[str, ...]  # parameter names in canonical order


def build_model(params: Mapping[str, Array], spec: ModelSpec) -> Model:
    """Validate `params` against `spec` and stack them for the cell."""
    check_params(params, spec)
    cell = make_cell(spec.cell, spec.hidden_size, spec.activation)
    if len(cell.blocks) == 1:
        (k,) = cell.blocks
        W_x, b = params[f"W_x{k}"], params[f"b_{k}"]
    else:
        W_x = np.concatenate([params[f"W_x{k}"] for k in cell.blocks])
        b = np.concatenate([params[f"b_{k}"] for k in cell.blocks])
    lookup = W_x.T + b if spec.input_kind == "onehot" else None
    w = cell.weights(dict(params))
    names = tuple(param_shapes(spec))
    return Model(spec, cell, w, W_x, b, lookup, params, np.dtype(spec.dtype), names)


@dataclass(frozen=True)
class Batch:
    """Validated inputs, targets and loss mask of one sequence batch, laid out (T, B, ...)."""

    tokens: Array | None  # (T, B) int token ids (onehot, embedding)
    X: Array | None  # (T, B, D) real inputs or embedding rows; None for one-hot
    targets: Array | None  # (T, B) int or (T, B, O) float; None without a head
    mask: Array | None  # (T, B) loss weights; None means all ones
    T: int
    B: int


def _int_tokens(name: str, values: Any, size: int, mask: Array | None = None) -> Array:
    """Validate a (T, B) array of token ids in [0, size), ignoring masked-out positions."""
    arr = np.asarray(values)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be a (T, B) integer array; got {arr.dtype} {arr.shape}")
    checked = arr if mask is None else arr[mask != 0]
    if checked.size and (checked.min() < 0 or checked.max() >= size):
        raise ValueError(
            f"{name} must lie in [0, {size}); got values in [{checked.min()}, {checked.max()}]"
        )
    if mask is not None:
        arr = np.where(mask != 0, arr, 0)  # padding positions may hold anything
    return arr


def make_batch(model: Model, inputs: Any, targets: Any, loss_mask: Any = None) -> Batch:
    """Check shapes, types and ranges; look up the embedding rows for an embedding input."""
    spec, dtype = model.spec, model.dtype
    tokens, X, (T, B) = _inputs(spec, inputs, dtype)
    if T < 1 or B < 1:
        raise ValueError(f"inputs must have at least one step and one sequence; got T={T}, B={B}")
    mask: Array | None = None
    if loss_mask is not None:
        mask = np.asarray(loss_mask, dtype=dtype)
        if mask.shape != (T, B) or not np.isfinite(mask).all():
            raise ValueError(f"loss_mask must be finite with shape {(T, B)}; got {mask.shape}")
    tgt = _targets(spec, targets, mask, (T, B), dtype)
    if spec.input_kind == "embedding":
        X = model.params["E"][tokens]  # (T, B, D_e) embedding lookup: the x_t actually used
    return Batch(tokens, X, tgt, mask, T, B)


def _inputs(
    spec: ModelSpec, inputs: Any, dtype: np.dtype[Any]
) -> tuple[Array | None, Array | None, tuple[int, int]]:
    """(token ids (T, B), None, (T, B)) for tokens, or (None, real inputs (T, B, D), (T, B))."""
    if spec.tokens:
        tokens = _int_tokens("inputs", inputs, spec.input_size)
        return tokens, None, (tokens.shape[0], tokens.shape[1])
    X = np.asarray(inputs, dtype=dtype)
    if X.ndim != 3 or X.shape[2] != spec.input_size:
        raise ValueError(f"inputs must be (T, B, {spec.input_size}) floats; got {X.shape}")
    return None, X, (X.shape[0], X.shape[1])


def _targets(
    spec: ModelSpec, targets: Any, mask: Array | None, TB: tuple[int, int], dtype: np.dtype[Any]
) -> Array | None:
    """Validated targets: none without a head, (T, B) token ids, or (T, B, O) real values."""
    if spec.head == "none":
        if targets is not None:
            raise ValueError("targets must be None for a model without a head (head='none')")
        return None
    if spec.head == "softmax":
        tgt = _int_tokens("targets", targets, spec.output_size, mask)
        if tgt.shape != TB:
            raise ValueError(f"targets must have shape {TB}; got {tgt.shape}")
        return tgt
    tgt = np.asarray(targets, dtype=dtype)
    if tgt.shape != (*TB, spec.output_size):
        raise ValueError(f"targets must have shape {(*TB, spec.output_size)}; got {tgt.shape}")
    if mask is not None:
        tgt = np.where(mask[..., None] != 0, tgt, 0.0)  # padding positions may hold anything
    return tgt


def project_inputs(model: Model, batch: Batch) -> Array:
    """W_x x_t + b for all T steps and all blocks at once: (T, B, G*H)."""
    return project(model, batch.tokens, batch.X)


def project(model: Model, tokens: Array | None, X: Array | None) -> Array:
    """W_x x + b for token ids (T, B) or input vectors (T, B, D): (T, B, G*H)."""
    if model.lookup is not None:
        assert tokens is not None
        return model.lookup[tokens]  # index instead of multiplying one-hot vectors
    assert X is not None
    T, B, D = X.shape
    xw = X.reshape(T * B, D) @ model.W_x.T  # one product for the whole sequence
    xw += model.b
    return xw.reshape(T, B, -1)


def onehot(tokens: Array, size: int, dtype: np.dtype[Any]) -> Array:
    """One-hot vectors (..., size): the x_t a token stands for (display, gradient scatter)."""
    flat = tokens.reshape(-1)
    out = np.zeros((flat.shape[0], size), dtype)
    out[np.arange(flat.shape[0]), flat] = 1.0
    return out.reshape(*tokens.shape, size)


def initial_state(model: Model, h0: Any, B: int) -> tuple[Array, Array | None]:
    """(h0, c0) (B, H) from None (zeros), a (B, H) or (H,) state, or a carried LSTM [h, c]."""
    spec, H = model.spec, model.spec.hidden_size
    c0 = np.zeros((B, H), model.dtype) if spec.cell == "lstm" else None
    if h0 is None:
        return np.zeros((B, H), model.dtype), c0
    state = np.asarray(h0, dtype=model.dtype)
    widths = {H, spec.state_size}
    if state.ndim == 1:
        state = np.broadcast_to(state, (B, state.shape[0]))
    if state.ndim != 2 or state.shape[0] != B or state.shape[1] not in widths:
        allowed = " or ".join(f"({B}, {w})" for w in sorted(widths))
        raise ValueError(
            f"h0 must have shape {allowed} (or one row to broadcast); got {np.shape(h0)}"
        )
    if state.shape[1] == 2 * H and c0 is not None:
        return state[:, :H].copy(), state[:, H:].copy()
    return state.copy(), c0


def start_tape(model: Model, T: int, B: int, h0: Any) -> Tape:
    """Buffers for T steps with the initial state written in."""
    tape = model.cell.allocate(T, B, model.dtype)
    tape.hs[0], c0 = initial_state(model, h0, B)
    if tape.cs is not None:
        assert c0 is not None
        tape.cs[0] = c0
    return tape


def carry(tape: Tape, i: int = -1) -> Array:
    """The state after hs[i] to pass back as h0: h (B, H), or [h, c] (B, 2H) for an LSTM."""
    if tape.cs is None:
        return tape.hs[i].copy()
    return np.concatenate([tape.hs[i], tape.cs[i]], axis=-1)


def output_logits(model: Model, h: Array) -> Array:
    """W_hy h + b_y for any leading shape (..., H) -> (..., O)."""
    W_hy, b_y = model.params["W_hy"], model.params["b_y"]
    lead = h.shape[:-1]
    logits = h.reshape(-1, h.shape[-1]) @ W_hy.T  # one product for all steps given
    logits += b_y
    return logits.reshape(*lead, -1)


def loss_scale(batch: Batch, dtype: np.dtype[Any]) -> Array:
    """The weight of each (t, b) loss in the total: m_tb / B, so losses are per sequence."""
    if batch.mask is None:
        return np.full((batch.T, batch.B), 1.0 / batch.B, dtype)
    return batch.mask / batch.B


def head_gradients(model: Model, batch: Batch, ys: Array) -> tuple[Array, Array]:
    """(dL/dlogits (T, B, O), the head's share of dL/dh_t (T, B, H)) from the outputs ys."""
    assert batch.targets is not None
    dlogits = head_backward(model.spec.head, ys, batch.targets, loss_scale(batch, model.dtype))
    dh = dlogits.reshape(-1, dlogits.shape[-1]) @ model.params["W_hy"]  # W_hy^T dlogits
    return dlogits, dh.reshape(batch.T, batch.B, -1)


class Sweep:
    """The BPTT recurrence, one step at a time from t = T-1 down to 0.

    Full BPTT carries one running dL/dh. Truncated BPTT with k carries each loss's gradient
    separately in a ring of k slots, so each flows back at most k steps (Williams & Peng 1990):
    slot t mod k takes the loss at t and is dropped when the loss at t - k replaces it.
    """

    def __init__(
        self,
        model: Model,
        tape: Tape,
        dh_ext: Array,
        dc_ext: Array | None = None,
        truncation: int | None = None,
    ) -> None:
        if truncation is not None and (isinstance(truncation, bool) or truncation < 1):
            raise ValueError(f"truncation must be a positive number of steps; got {truncation!r}")
        self.model, self.tape, self.cell, self.w = model, tape, model.cell, model.w
        self.dh_ext, self.dc_ext = dh_ext, dc_ext  # (T, B, H) gradients arriving from outside
        T, B, H = dh_ext.shape
        self.k = truncation
        self.t = T - 1
        self.dA = np.empty((T, B, self.cell.width), dh_ext.dtype)  # dL/da_t, filled as we go
        lstm = tape.cs is not None
        self.fed: tuple[Array, Array | None] | None = None  # what the cell was given at step t
        if truncation is None:
            self.dh: Array = np.zeros((B, H), dh_ext.dtype)  # dL/dh_t from steps after t
            self.dc: Array | None = np.zeros((B, H), dh_ext.dtype) if lstm else None
        else:
            self.dh = np.zeros((truncation, B, H), dh_ext.dtype)  # one slot per live loss
            self.dc = np.zeros((truncation, B, H), dh_ext.dtype) if lstm else None

    @property
    def done(self) -> bool:
        """Whether step 0 has been processed."""
        return self.t < 0

    def step(self) -> tuple[int, Array]:
        """Process step t: return (t, dL/dh_t (B, H)); dL/da_t lands in self.dA[t]."""
        t = self.t
        if t < 0:
            raise RuntimeError("backward pass is done: every step from T-1 to 0 was processed")
        if self.k is None:
            dh = self.dh + self.dh_ext[t]  # dL/dh_t: from the future plus from outside (loss)
            dc = self.dc
            if dc is not None and self.dc_ext is not None:
                dc = dc + self.dc_ext[t]
            self.fed = (dh, dc)
            self.dA[t], self.dh, self.dc = self.cell.backward(self.tape, t, dh, dc, self.w)
        else:
            slot = t % self.k
            self.dh[slot] = self.dh_ext[t]  # the loss at t replaces the one at t + k
            if self.dc is not None:
                self.dc[slot] = 0.0 if self.dc_ext is None else self.dc_ext[t]
            dh = self.dh.sum(axis=0)
            self.fed = (self.dh, self.dc)
            dA, self.dh, self.dc = self.cell.backward(self.tape, t, self.dh, self.dc, self.w)
            self.dA[t] = dA.sum(axis=0)
        self.t = t - 1
        return t, dh

    def state_gradient(self) -> Array | None:
        """dL/dc_t (B, H) of the step just processed, for a cell with a cell state (else None)."""
        if self.fed is None:
            raise RuntimeError("no step processed yet")
        dc = self.cell.state_gradient(self.tape, self.t + 1, *self.fed)
        if dc is None or self.k is None:
            return dc
        return dc.sum(axis=0)  # truncated: the live losses' slots together

    def initial_state_grads(self) -> tuple[Array, Array | None]:
        """(dL/dh0, dL/dc0) (B, H) once done: what flows into the initial state."""
        if not self.done:
            raise RuntimeError("the initial state's gradient is known only after step 0")
        if self.k is None:
            return self.dh, self.dc
        return self.dh.sum(axis=0), None if self.dc is None else self.dc.sum(axis=0)


def param_grads(
    model: Model, batch: Batch, tape: Tape, dA: Array, dlogits: Array | None, steps: slice
) -> dict[str, Array]:
    """Each parameter's gradient summed over `steps`, given dL/da and dL/dlogits there."""
    spec, cell = model.spec, model.cell
    dA_s = dA[steps]  # (n, B, G*H)
    flat = dA_s.reshape(-1, dA_s.shape[-1])
    grads: dict[str, Array] = {}
    if model.lookup is not None:
        assert batch.tokens is not None
        x = onehot(batch.tokens[steps].reshape(-1), spec.input_size, model.dtype)  # (n B, V)
    else:
        assert batch.X is not None
        x = batch.X[steps].reshape(flat.shape[0], -1)  # (n B, D)
    dW_x = flat.T @ x  # sum_t da_t x_t^T for all blocks, (G*H, D)
    db = flat.sum(axis=0)
    H = spec.hidden_size
    recurrent = cell.recurrent_grads(tape, dA_s, steps)
    grads.update(recurrent)  # every W_h{k}, and any recurrent bias (torch's GRU's b_hh)
    for j, k in enumerate(cell.blocks):
        grads[f"W_x{k}"] = dW_x[j * H : (j + 1) * H]
        grads[f"b_{k}"] = db[j * H : (j + 1) * H]
    if spec.input_kind == "embedding":
        assert batch.tokens is not None
        dX = flat @ model.W_x  # dL/dx_t = W_x^T da_t, (n B, D_e)
        rows = onehot(batch.tokens[steps].reshape(-1), spec.input_size, model.dtype)
        grads["E"] = rows.T @ dX  # scatter-add into the rows that were looked up
    if dlogits is not None:
        d = dlogits[steps].reshape(-1, dlogits.shape[-1])
        grads["W_hy"] = d.T @ tape.hs[1:][steps].reshape(d.shape[0], -1)  # sum_t dy_t h_t^T
        grads["b_y"] = d.sum(axis=0)
    return {name: grads[name] for name in model.names}


def run_forward(model: Model, batch: Batch, h0: Any) -> Tape:
    """The whole forward recurrence, no records: the lean loop of the training path."""
    xw = project_inputs(model, batch)  # (T, B, G*H): W_x x_t + b for every step
    tape = start_tape(model, batch.T, batch.B, h0)
    forward, w = model.cell.forward, model.w
    for t in range(batch.T):
        forward(tape, t, xw[t], w)  # the recurrence, the only per-step work
    model.cell.finish(tape)
    return tape


def run_backward(
    model: Model,
    batch: Batch,
    tape: Tape,
    dh_ext: Array,
    dlogits: Array | None,
    *,
    dc_ext: Array | None = None,
    truncation: int | None = None,
) -> tuple[dict[str, Array], Sweep]:
    """The whole BPTT sweep, then every parameter's gradient in one product per weight."""
    sweep = Sweep(model, tape, dh_ext, dc_ext, truncation)
    step = sweep.step
    for _ in range(batch.T):
        step()
    return param_grads(model, batch, tape, sweep.dA, dlogits, slice(0, batch.T)), sweep

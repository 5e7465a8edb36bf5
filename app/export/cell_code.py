"""The script's recurrent cells: one step forward, one step back and the step's weight gradients.

Each is written as the engine computes it (app/engine/cells.py, cells_torch.py), one block per
gate instead of stacked blocks, with batches as rows: W h is written h @ W.T. step_back takes
dL/dh_t with any extra leading axes (truncated BPTT carries several losses at once).
"""

from __future__ import annotations

from app.export.template import render

ACTIVATIONS = {  # f(a), f'(a) written through h = f(a) as backprop uses it, and why
    "tanh": ("np.tanh(a)", "1.0 - h * h", "tanh' = 1 - tanh^2"),
    "relu": ("np.maximum(a, 0)", "h > 0", "relu' = 1 where a > 0, else 0"),
    "sigmoid": ("sigmoid(a)", "h * (1.0 - h)", "sigmoid' = s (1 - s)"),
    "linear": ("a", "1.0", "the identity's derivative"),
}

SIGMOID = '''
def sigmoid(a):
    """1 / (1 + e^-a), written with tanh so that it cannot overflow."""
    return np.tanh(a * 0.5) * 0.5 + 0.5
'''

RNN = '''
def step(x, h_prev):
    """h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), f = $activation (Elman 1990)."""
    a = h_prev @ W_hh.T + (x @ W_xh.T + b_h)  # pre-activation a_t (B, H)
    h = $forward
    return h, {"x": x, "h_prev": h_prev, "h": h}


def step_back(cache, dh):
    """({block: dL/da_t}, dL/dh_{t-1}) from dL/dh_t."""
    h = cache["h"]
    da = dh * ($derivative)  # backprop through f: $why
    return {"h": da}, da @ W_hh  # dL/dh_{t-1} = W_hh^T da


def add_grads(grads, cache, da):
    """Add step t's share: dW_xh += da x_t^T, dW_hh += da h_{t-1}^T, db_h += da."""
    grads["W_xh"] += da["h"].T @ cache["x"]
    grads["W_hh"] += da["h"].T @ cache["h_prev"]
    grads["b_h"] += da["h"].sum(axis=0)
'''

LSTM = '''
def step(x, h_prev, c_prev):
    """One LSTM step (Hochreiter & Schmidhuber 1997; forget gate of Gers et al. 2000)."""
    i = sigmoid(h_prev @ W_hi.T + (x @ W_xi.T + b_i))  # input gate
    f = sigmoid(h_prev @ W_hf.T + (x @ W_xf.T + b_f))  # forget gate
    o = sigmoid(h_prev @ W_ho.T + (x @ W_xo.T + b_o))  # output gate
    g = np.tanh(h_prev @ W_hg.T + (x @ W_xg.T + b_g))  # candidate
    c = f * c_prev + i * g  # c_t = f c_{t-1} + i g
    tc = np.tanh(c)
    h = o * tc  # h_t = o tanh(c_t)
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "o": o, "g": g}
    return h, c, {**cache, "tc": tc}


def step_back(cache, dh, dc):
    """({gate: dL/da_t}, dL/dh_{t-1}, dL/dc_{t-1}) from dL/dh_t and dL/dc_t."""
    i, f, o, g, tc = cache["i"], cache["f"], cache["o"], cache["g"], cache["tc"]
    dc = dh * o * (1.0 - tc * tc) + dc  # through h = o tanh(c), plus what c_t passes on
    da = {
        "i": dc * g * (i * (1.0 - i)),  # through c = f c_{t-1} + i g, then the sigmoid
        "f": dc * cache["c_prev"] * (f * (1.0 - f)),
        "o": dh * tc * (o * (1.0 - o)),
        "g": dc * i * (1.0 - g * g),  # then tanh
    }
    dh_prev = sum(d @ params["W_h" + k] for k, d in da.items())  # sum_k W_hk^T da_k
    return da, dh_prev, dc * f  # dL/dc_{t-1} = dc f


def add_grads(grads, cache, da):
    """Add step t's share: for each gate k, da_k x_t^T, da_k h_{t-1}^T and da_k."""
    for k, d in da.items():
        grads["W_x" + k] += d.T @ cache["x"]
        grads["W_h" + k] += d.T @ cache["h_prev"]
        grads["b_" + k] += d.sum(axis=0)
'''

GRU = '''
def step(x, h_prev):
    """One GRU step as Cho et al. (2014): the reset gate applies to h_{t-1} before W_hh."""
    z = sigmoid(h_prev @ W_hz.T + (x @ W_xz.T + b_z))  # update gate
    r = sigmoid(h_prev @ W_hr.T + (x @ W_xr.T + b_r))  # reset gate
    rh = r * h_prev
    n = np.tanh(rh @ W_hh.T + (x @ W_xh.T + b_h))  # candidate h~_t
    h = (h_prev - n) * z + n  # h_t = z h_{t-1} + (1 - z) h~_t
    return h, {"x": x, "h_prev": h_prev, "z": z, "r": r, "rh": rh, "n": n}


def step_back(cache, dh):
    """({gate: dL/da_t}, dL/dh_{t-1}) from dL/dh_t."""
    z, r, n, h_prev = cache["z"], cache["r"], cache["n"], cache["h_prev"]
    da_h = (dh - dh * z) * (1.0 - n * n)  # through (1 - z) h~ and tanh
    drh = da_h @ W_hh  # dL/d(r h_{t-1})
    da = {"z": dh * (h_prev - n) * (z * (1.0 - z)), "r": drh * h_prev * (r * (1.0 - r)), "h": da_h}
    dh_prev = dh * z + drh * r + da["z"] @ W_hz + da["r"] @ W_hr
    return da, dh_prev


def add_grads(grads, cache, da):
    """Add step t's share; W_hh multiplied r h_{t-1}, the other W_h* multiplied h_{t-1}."""
    for k, d in da.items():
        grads["W_x" + k] += d.T @ cache["x"]
        grads["b_" + k] += d.sum(axis=0)
    grads["W_hz"] += da["z"].T @ cache["h_prev"]
    grads["W_hr"] += da["r"].T @ cache["h_prev"]
    grads["W_hh"] += da["h"].T @ cache["rh"]
'''

GRU_TORCH = '''
def step(x, h_prev):
    """One GRU step as torch.nn.GRU: the reset gate applies to W_hh h_{t-1} + b_hh."""
    z = sigmoid(h_prev @ W_hz.T + (x @ W_xz.T + b_z))  # update gate
    r = sigmoid(h_prev @ W_hr.T + (x @ W_xr.T + b_r))  # reset gate
    u = h_prev @ W_hh.T + b_hh  # torch's W_hn h + b_hn
    n = np.tanh(r * u + (x @ W_xh.T + b_h))  # candidate n_t
    h = (h_prev - n) * z + n  # h_t = (1 - z) n_t + z h_{t-1}
    return h, {"x": x, "h_prev": h_prev, "z": z, "r": r, "u": u, "n": n}


def step_back(cache, dh):
    """({gate: dL/da_t}, dL/dh_{t-1}) from dL/dh_t."""
    z, r, u, n, h_prev = cache["z"], cache["r"], cache["u"], cache["n"], cache["h_prev"]
    da_h = (dh - dh * z) * (1.0 - n * n)  # through (1 - z) n and tanh
    da = {"z": dh * (h_prev - n) * (z * (1.0 - z)), "r": da_h * u * (r * (1.0 - r)), "h": da_h}
    du = da_h * r  # dL/du_t
    dh_prev = dh * z + da["z"] @ W_hz + da["r"] @ W_hr + du @ W_hh
    return da, dh_prev


def add_grads(grads, cache, da):
    """Add step t's share; W_hh and b_hh receive dL/du_t = da_h r."""
    for k, d in da.items():
        grads["W_x" + k] += d.T @ cache["x"]
        grads["b_" + k] += d.sum(axis=0)
    du = da["h"] * cache["r"]
    grads["W_hz"] += da["z"].T @ cache["h_prev"]
    grads["W_hr"] += da["r"].T @ cache["h_prev"]
    grads["W_hh"] += du.T @ cache["h_prev"]
    grads["b_hh"] += du.sum(axis=0)
'''

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "gru_torch": GRU_TORCH}


def cell_code(cell: str, activation: str) -> str:
    """The step functions of a cell (and the sigmoid they use)."""
    forward, derivative, why = ACTIVATIONS[activation]
    uses_sigmoid = cell != "rnn" or activation == "sigmoid"
    code = render(
        CELLS[cell],
        (),
        {"activation": activation, "forward": forward, "derivative": derivative, "why": why},
    )
    return (SIGMOID if uses_sigmoid else "") + code

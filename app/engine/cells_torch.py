"""The GRU in PyTorch's form, so weights trained with torch.nn.GRU run here exactly as in torch.

torch.nn.GRU (its documentation) applies the reset gate after the recurrent product:

    r_t = sigmoid(W_xr x_t + W_hr h_{t-1} + b_r)
    z_t = sigmoid(W_xz x_t + W_hz h_{t-1} + b_z)
    n_t = tanh(W_xh x_t + b_h + r_t * (W_hh h_{t-1} + b_hh))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

where Cho et al. (2014), the engine's "gru", reset h_{t-1} before it: W_hh (r_t * h_{t-1}). The
candidate's recurrent bias b_hh (torch's b_hn) sits inside the reset, so it cannot merge into
b_h; torch's b_ir + b_hr and b_iz + b_hz do merge into b_r and b_z. Blocks and names follow the
engine's GRU (z, r, and h for the candidate n_t), so the views show both forms alike.
"""

from __future__ import annotations

import numpy as np

from app.engine.activations import sigmoid
from app.engine.cells import BLOCKS, GRUCell, Index, Tape, Weights, _outer_sum
from app.engine.types import Array, Params


class TorchGRUCell(GRUCell):
    """Gated recurrent unit with the reset applied to W_hh h_{t-1} + b_hh (torch.nn.GRU).

    Its tape is the GRU's: z, r and the candidate in G, and in aux the candidate's recurrent
    input, here u_t = W_hh h_{t-1} + b_hh (Cho's: r * h_{t-1}); finish and display are shared.
    """

    name = "gru_torch"
    blocks = BLOCKS["gru_torch"]

    def weights(self, params: Params) -> Weights:
        """(W_h, W_h.T, b_hh) with W_h = [W_hz; W_hr; W_hh] stacked (3H, H)."""
        W_h = np.concatenate([params["W_hz"], params["W_hr"], params["W_hh"]])
        return W_h, W_h.T, params["b_hh"]

    def forward(self, tape: Tape, t: int, xw_t: Array, w: Weights) -> None:
        """z, r and u from h_{t-1} in one product; the candidate reads r * u; h_t interpolates."""
        assert tape.aux is not None
        H, H2 = self.H, 2 * self.H
        a, g, hp = tape.A[t], tape.G[t], tape.hs[t]
        np.matmul(hp, w[1], out=a)  # W_hz h_{t-1}, W_hr h_{t-1}, W_hh h_{t-1}
        u = np.add(a[:, H2:], w[2], out=tape.aux[t])  # u_t = W_hh h_{t-1} + b_hh
        a[:, :H2] += xw_t[:, :H2]
        sigmoid(a[:, :H2], out=g[:, :H2])  # z, r gates
        a_n = np.multiply(g[:, H:H2], u, out=a[:, H2:])  # r * u
        a_n += xw_t[:, H2:]  # + W_xh x_t + b_h
        n = np.tanh(a_n, out=g[:, H2:])  # candidate n_t
        h = np.subtract(hp, n, out=tape.hs[t + 1])
        h *= g[:, :H]
        h += n  # h_t = z * h_{t-1} + (1 - z) * n_t

    def backward(
        self, tape: Tape, idx: Index, dh: Array, dc: Array | None, w: Weights
    ) -> tuple[Array, Array, Array | None]:
        """Backprop through the interpolation, the candidate, r * u, the gates and W_h."""
        assert tape.dG is not None and tape.aux is not None
        H, H2 = self.H, 2 * self.H
        g, dG, hp, u = tape.G[idx], tape.dG[idx], tape.h_prev[idx], tape.aux[idx]
        z, r, n = g[..., :H], g[..., H:H2], g[..., H2:]
        da_n = (dh - dh * z) * dG[..., H2:]  # through (1 - z) * n and tanh
        dz = dh * (hp - n)  # h_t = n + z * (h_{t-1} - n)
        dr = da_n * u  # a_n = r * u + ...
        da = np.concatenate([dz, dr, da_n], axis=-1)
        da[..., :H2] *= dG[..., :H2]  # through the sigmoids
        du = da_n * r  # dL/du_t, u_t = W_hh h_{t-1} + b_hh
        dW_in = np.concatenate([da[..., :H2], du], axis=-1)  # what reaches the product W_h h
        return da, dh * z + dW_in @ w[0], None  # direct path plus W_h^T [da_z, da_r, du]

    def jvp(self, tape: Tape, idx: Index, v: Array, w: Weights) -> Array:
        """Tangent of h_t for a tangent v of h_{t-1}."""
        assert tape.dG is not None and tape.aux is not None
        H, H2 = self.H, 2 * self.H
        g, dG, hp, u = tape.G[idx], tape.dG[idx], tape.h_prev[idx], tape.aux[idx]
        z, r, n = g[..., :H], g[..., H:H2], g[..., H2:]
        wv = v @ w[1]  # W_h v for all three blocks
        dzr = wv[..., :H2] * dG[..., :H2]  # tangents of z, r
        dn = (dzr[..., H:] * u + r * wv[..., H2:]) * dG[..., H2:]  # tangent of n
        return dzr[..., :H] * (hp - n) + z * v + (1.0 - z) * dn

    def recurrent_grads(self, tape: Tape, dA: Array, steps: slice) -> dict[str, Array]:
        """dW_hz, dW_hr, dW_hh against h_{t-1}, the candidate's through r; db_hh the same sum."""
        H, H2 = self.H, 2 * self.H
        du = dA[..., H2:] * tape.G[steps][..., H:H2]  # dL/du_t = dL/da_n * r_t
        dW = _outer_sum(np.concatenate([dA[..., :H2], du], axis=-1), tape.h_prev[steps])
        return {
            "W_hz": dW[:H],
            "W_hr": dW[H:H2],
            "W_hh": dW[H2:],
            "b_hh": du.reshape(-1, H).sum(axis=0),
        }

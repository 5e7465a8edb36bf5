// The gradient-flow matrix: how much of the loss at step t reaches the state at step k, as
// ||dL_t/dh_k|| relative to ||dL_t/dh_t|| (its value where it starts), on a log colour scale:
// white where it holds up, purple where it fades (vanishing), orange where it grows (exploding).
// Rows fill in as BPTT walks back; hover shows the absolute value. Redrawn ≤ 10 times a second.
// For an encoder-decoder the rows are the decoder's losses, and a dashed line marks where the
// encoder's states end: what crosses it went through the context vector.

import { FLOW_PLOTLY, PALETTE } from "../colors.js";
import { batched } from "../frame_batcher.js";
import { formatNumber } from "../format.js";
import { draw, scaleElement, stepTicks } from "../plot.js";

const SPAN = 4; // the colour scale covers 10^-4 .. 10^4

export function mount(root, stream) {
  const caption = document.createElement("p");
  caption.className = "caption";
  const plot = document.createElement("div");
  plot.className = "plot";
  const scale = scaleElement(FLOW_PLOTLY, [[0, "10⁻⁴"], [0.25, "10⁻²"], [0.5, "1"], [0.75, "10²"], [1, "10⁴"]], "× its start:");
  root.append(caption, scale, plot);
  let rows = [];
  let T = 0;
  let encoderLen = 0;

  // The encoder-decoder's boundary: a dashed cross at the context, each half named.
  const boundary = () => {
    if (!(encoderLen > 0 && encoderLen < T)) return { shapes: [], annotations: [] };
    const at = encoderLen - 0.5;
    const dashed = { color: PALETTE.neutral, width: 2, dash: "dash" };
    const label = (x, text, anchor) => ({
      x, xref: "x", y: 1, yref: "paper", yanchor: "bottom", xanchor: anchor, text, showarrow: false,
      font: { size: 12, color: PALETTE.neutral },
    });
    return {
      shapes: [
        { type: "line", x0: at, x1: at, y0: -0.5, y1: T - 0.5, line: dashed },
        { type: "line", x0: -0.5, x1: T - 0.5, y0: at, y1: at, line: dashed },
        { type: "rect", x0: -0.5, x1: T - 0.5, y0: -0.5, y1: at, fillcolor: "#e9edf2", opacity: 0.6, line: { width: 0 }, layer: "below" },
      ],
      annotations: [label(at - 0.2, "encoder states ←", "right"), label(at + 0.2, "→ decoder", "left")],
    };
  };

  const render = batched(() => {
    const z = [];
    const absolute = [];
    const bad = { x: [], y: [] };
    let reach = null; // log10 of how much of the latest counted loss's gradient reaches h_0
    for (let t = 0; t < T; t++) {
      const row = rows[t];
      const own = row ? row[t] : null;
      z.push(Array.from({ length: T }, (_, k) => {
        if (!row || k > t) return null;
        const v = row[k];
        if (!Number.isFinite(v) || !Number.isFinite(own)) {
          bad.x.push(k);
          bad.y.push(t);
          return null;
        }
        if (!(v > 0) || !(own > 0)) return null;
        return Math.max(-SPAN, Math.min(SPAN, Math.log10(v / own)));
      }));
      absolute.push(Array.from({ length: T }, (_, k) => (row && k <= t ? row[k] : null)));
    }
    for (let t = T - 1; t >= 0 && reach === null; t--) reach = z[t][0];
    const traces = [{
      type: "heatmap", z, customdata: absolute, colorscale: FLOW_PLOTLY, zmin: -SPAN, zmax: SPAN, zmid: 0,
      xgap: T > 24 ? 0 : 1, ygap: T > 24 ? 0 : 1,
      hovertemplate: "loss at t=%{y}, state k=%{x}<br>‖∂L_t/∂h_k‖ = %{customdata:.3e}<br>× 10^%{z:.1f} of its start<extra></extra>",
      showscale: false,
    }];
    if (bad.x.length) {
      traces.push({ type: "scatter", mode: "markers", x: bad.x, y: bad.y, marker: { symbol: "x", color: PALETTE.nonFinite, size: 8 }, hovertemplate: "inf/NaN<extra></extra>" });
    }
    const marks = boundary();
    draw(plot, traces, {
      margin: { l: 50, r: 8, t: marks.shapes.length ? 22 : 4, b: 42 },
      ...marks,
      xaxis: { title: { text: "state h_k" }, range: [-0.5, Math.max(T, 1) - 0.5], dtick: stepTicks(T), showgrid: false, zeroline: false },
      yaxis: { title: { text: "loss L_t" }, range: [Math.max(T, 1) - 0.5, -0.5], dtick: stepTicks(T), showgrid: false, zeroline: false },
    });
    const target = encoderLen > 0 ? "the encoder's first state h₀, through the context vector," : "h₀";
    caption.textContent = reach === null
      ? `Rows fill in as BPTT passes: how much of L_t reaches each earlier h_k${encoderLen > 0 ? " (the encoder's steps have no loss)" : ""}.`
      : `The last loss's gradient reaches ${target} × ${formatNumber(10 ** reach, 2)} of its size at its own step${reach <= -SPAN ? " or less" : ""}${bad.x.length ? "; black ✕: inf/NaN" : ""}.`;
  }, { heavy: true, minIntervalMs: 100, name: "flow matrix", element: plot });

  const start = (frame) => {
    T = frame.seq_len ?? frame.tokens.length;
    encoderLen = frame.encoder_len ?? 0;
    rows = [];
    render();
  };
  stream.on("hello", start);
  stream.on("sequence", start);
  stream.on("backward", (frame) => {
    if (frame.flow_row.length) rows[frame.t] = frame.flow_row;
    render();
  });
}

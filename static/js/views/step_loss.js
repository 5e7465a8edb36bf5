// Per-step loss L_t as bars and their sum, L = Σ_t L_t, updated in place as steps arrive.

import { batched } from "../frame_batcher.js";
import { formatNumber } from "../protocol.js";

const LAYOUT = {
  margin: { l: 56, r: 16, t: 12, b: 44 },
  xaxis: { title: { text: "time step t" }, dtick: 1, fixedrange: true },
  yaxis: { title: { text: "L_t" }, rangemode: "tozero", fixedrange: true },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { size: 15 },
  bargap: 0.25,
};

export function mount(root, stream) {
  const total = document.createElement("p");
  total.className = "equation";
  const plot = document.createElement("div");
  plot.className = "plot";
  root.append(total, plot);
  let losses = [];
  let tokens = [];

  const render = batched(() => {
    const x = losses.map((_, t) => t);
    const text = losses.map((l, t) => (l === null ? "" : `${tokens[t] ?? ""}`));
    const y = losses.map((l) => (Number.isFinite(l) ? l : null));
    window.Plotly.react(
      plot,
      [{ type: "bar", x, y, text, textposition: "none", marker: { color: "#2166ac" },
        hovertemplate: "t=%{x}<br>L_t=%{y:.3f}<extra></extra>" }],
      { ...LAYOUT, xaxis: { ...LAYOUT.xaxis, range: [-0.5, Math.max(losses.length, 1) - 0.5] } },
      { displaylogo: false, responsive: true },
    );
    const seen = losses.filter((l) => l !== null);
    const sum = seen.reduce((a, b) => a + b, 0);
    total.textContent = seen.length
      ? `L = Σ L_t = ${seen.map((l) => formatNumber(l, 2)).join(" + ")} = ${formatNumber(sum, 3)}`
      : "L = Σ L_t: step forward to see each step's loss";
  });

  const start = (frame) => {
    tokens = frame.tokens;
    losses = new Array(frame.seq_len).fill(null);
    render();
  };
  stream.on("hello", start);
  stream.on("sequence", start);
  stream.on("forward", (frame) => {
    losses[frame.t] = frame.loss;
    render();
  });
}

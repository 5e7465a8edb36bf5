// The hidden state as a heatmap, units × time, on a diverging scale centred at 0 that is darkest
// at |h| = 1, so saturated tanh units stand out; the share of saturated values is written above.
// Redrawn at most 10 times a second. inf/NaN cells are marked with a black ✕.

import { DIVERGING_PLOTLY, PALETTE } from "../colors.js";
import { batched } from "../frame_batcher.js";
import { draw, finiteOrNull, scaleElement, stepTicks } from "../plot.js";

const SATURATED = 0.95;

export function mount(root, stream) {
  const caption = document.createElement("p");
  caption.className = "caption";
  const plot = document.createElement("div");
  plot.className = "plot";
  let scale = scaleElement(DIVERGING_PLOTLY, [[0, "−1"], [0.5, "0"], [1, "+1"]], "h:");
  root.append(caption, scale, plot);
  let shownLimit = 1;
  let columns = []; // per t: h_t (H,)
  let T = 0;
  let bounded = true;
  let activation = "tanh";
  let units = 1; // hidden_size, for the axis before any h_t arrives

  const render = batched(() => {
    const H = columns.find(Boolean)?.length ?? 0;
    const z = Array.from({ length: H }, (_, unit) =>
      Array.from({ length: T }, (_, t) => (columns[t] ? finiteOrNull(columns[t][unit]) : null)),
    );
    let peak = 1e-6;
    let saturated = 0;
    let count = 0;
    const bad = { x: [], y: [] };
    columns.forEach((h, t) => {
      if (!h) return;
      h.forEach((v, unit) => {
        if (!Number.isFinite(v)) {
          bad.x.push(t);
          bad.y.push(unit);
          return;
        }
        count += 1;
        peak = Math.max(peak, Math.abs(v));
        if (Math.abs(v) > SATURATED) saturated += 1;
      });
    });
    const limit = bounded ? 1 : peak;
    const traces = [{
      type: "heatmap", z, colorscale: DIVERGING_PLOTLY, zmin: -limit, zmax: limit, zmid: 0,
      xgap: T > 24 ? 0 : 1, ygap: H > 24 ? 0 : 1,
      hovertemplate: "unit %{y}, t=%{x}: h=%{z:.3f}<extra></extra>",
      showscale: false,
    }];
    if (bad.x.length) {
      traces.push({ type: "scatter", mode: "markers", x: bad.x, y: bad.y, marker: { symbol: "x", color: PALETTE.nonFinite, size: 8 }, hovertemplate: "inf/NaN<extra></extra>" });
    }
    if (limit !== shownLimit) {
      shownLimit = limit;
      const text = limit === 1 ? "1" : limit.toPrecision(2);
      const fresh = scaleElement(DIVERGING_PLOTLY, [[0, `−${text}`], [0.5, "0"], [1, `+${text}`]], "h:");
      scale.replaceWith(fresh);
      scale = fresh;
    }
    draw(plot, traces, {
      margin: { l: 44, r: 8, t: 4, b: 42 },
      xaxis: { title: { text: "time step t" }, range: [-0.5, Math.max(T, 1) - 0.5], dtick: stepTicks(T), showgrid: false, zeroline: false },
      yaxis: { title: { text: "unit" }, range: [Math.max(H, units) - 0.5, -0.5], dtick: Math.max(H, units) <= 12 ? 1 : null, showgrid: false, zeroline: false },
    });
    const share = bounded
      ? `saturated (|h| > ${SATURATED}): ${saturated} of ${count} (${Math.round((100 * saturated) / count)}%)`
      : `largest |h| = ${peak.toPrecision(3)} (${activation}: unbounded)`;
    caption.textContent = count
      ? `${H} units × ${T} steps; ${share}${bad.x.length ? `; ${bad.x.length} inf/NaN` : ""}`
      : "Step forward to fill in h_t, one column per step.";
  }, { heavy: true, minIntervalMs: 100, name: "hidden heatmap", element: plot });

  const start = (frame) => {
    columns = [];
    T = frame.seq_len ?? frame.tokens.length;
    render();
  };
  stream.on("hello", (frame) => {
    const { cell } = frame.config;
    activation = cell === "rnn" ? frame.config.activation : cell;
    bounded = cell !== "rnn" || activation === "tanh" || activation === "sigmoid";
    units = frame.config.hidden_size;
    start(frame);
  });
  stream.on("sequence", start);
  stream.on("forward", (frame) => {
    columns[frame.t] = frame.h;
    render();
  });
}

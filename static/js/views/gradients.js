// The gradient flowing back in time: ||dL/dh_t|| per step on a log axis, filled in right to left
// as BPTT walks from the last step to the first, over shaded bands (purple: vanishing, below
// 1e-3; orange: exploding, above 10), with ||dh_t/dh_{t-1}|| (the factor each step multiplies
// the gradient by) beside it, and for an LSTM ||dL/dc_t||, the gradient along its cell state.
// Pascanu, Mikolov & Bengio (2013) explain both ends; the caption also says where on the way
// the gradient was smallest, since a dip (saturated tanh) can hide between two healthy ends.

import { EXPLODING_TEXT, GRADIENT_BANDS, PALETTE, VANISHING_TEXT, gradientColour } from "../colors.js";
import { formatNumber } from "../format.js";
import { batched } from "../frame_batcher.js";
import { BAND_MARGIN, LOG_CEILING, draw, legendElement, logAxis, logsOf, nonFiniteBand, stepTicks } from "../plot.js";

const positive = (x) => (Number.isFinite(x) && x > 0 ? x : null);
const CELL_STATE = PALETTE.model;

// What happened to a gradient walked back from its first entry to its last, in words.
function verdict(done) {
  const [lastT, lastN] = done[done.length - 1];
  const [firstT, firstN] = done[0];
  const ratio = firstN / lastN;
  if (!Number.isFinite(ratio)) return `it overflowed`;
  if (ratio < 1e-3) return "it vanishes";
  if (ratio > 1e3) return "it explodes";
  const [lowT, lowN] = done.reduce((low, entry) => (entry[1] < low[1] ? entry : low));
  if (lowN / lastN < 1e-2 && lowT !== firstT && lowT !== lastT) {
    return `on the way it fell to × ${formatNumber(lowN / lastN, 2)} (t = ${lowT}), then recovered`;
  }
  return "it holds up";
}

export function mount(root, stream) {
  const caption = document.createElement("p");
  caption.className = "caption";
  const plot = document.createElement("div");
  plot.className = "plot";
  const legend = legendElement([
    { label: "‖∂L/∂h_t‖", colour: PALETTE.neutral, mark: "dot" },
    { label: "‖∂h_t/∂h_t−1‖ (per step)", colour: "#8a94a3", mark: "dash" },
  ]);
  const cellLegend = legendElement([{ label: "‖∂L/∂c_t‖ along the cell state", colour: CELL_STATE }]);
  root.append(caption, legend, cellLegend, plot);
  let norms = [];
  let jacobians = [];
  let cells = []; // ||dL/dc_t||, for a cell with a cell state
  let T = 0;

  const render = batched(() => {
    const x = norms.map((_, t) => t);
    const logs = logsOf(norms, jacobians, cells);
    const low = Math.max(-LOG_CEILING, Math.floor(Math.min(GRADIENT_BANDS.vanishingBelow - 1, ...logs.map((l) => l - 0.5))));
    const high = Math.min(LOG_CEILING, Math.ceil(Math.max(GRADIENT_BANDS.explodingAbove + 1, ...logs.map((l) => l + 0.5))));
    const overflow = norms.map((n, t) => (n !== null && !Number.isFinite(n) ? t : null)).filter((t) => t !== null);
    const band = nonFiniteBand(high);
    const traces = [
      {
        type: "scatter", mode: "lines+markers", name: "‖∂h_t/∂h_t−1‖", x, y: jacobians.map(positive),
        line: { color: "#8a94a3", width: 1.5, dash: "dot" }, marker: { size: 5, color: "#8a94a3" },
        hovertemplate: "t=%{x}: ‖∂h_t/∂h_t−1‖ = %{y:.3g}<extra></extra>",
      },
      {
        type: "scatter", mode: "lines+markers", name: "‖∂L/∂h_t‖", x, y: norms.map(positive),
        line: { color: PALETTE.neutral, width: 2.5 },
        marker: { size: 11, color: norms.map((n) => (n === null ? "#ccc" : gradientColour(n))), line: { color: "#fff", width: 1 } },
        hovertemplate: "t=%{x}: ‖∂L/∂h_t‖ = %{y:.3e}<extra></extra>",
      },
    ];
    const hasCells = cells.some((n) => n !== null);
    cellLegend.hidden = !hasCells;
    if (hasCells) {
      traces.push({
        type: "scatter", mode: "lines+markers", name: "‖∂L/∂c_t‖", x, y: cells.map(positive),
        line: { color: CELL_STATE, width: 3 }, marker: { size: 8, symbol: "square", color: CELL_STATE },
        hovertemplate: "t=%{x}: ‖∂L/∂c_t‖ = %{y:.3e}<extra></extra>",
      });
    }
    if (overflow.length) {
      traces.push({
        type: "scatter", mode: "markers", name: "inf/NaN", x: overflow, y: overflow.map(() => band.y),
        marker: { symbol: "triangle-up", size: 13, color: PALETTE.nonFinite },
        customdata: overflow.map((t) => formatNumber(norms[t])), hovertemplate: "t=%{x}: ‖∂L/∂h_t‖ = %{customdata}<extra></extra>",
      });
    }
    const shade = (y0, y1, colour) => ({ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0, y1, fillcolor: colour, opacity: 0.13, line: { width: 0 }, layer: "below" });
    const label = (text, y, yanchor, colour) => ({ xref: "paper", x: 1, xanchor: "right", yref: "y", y, yanchor, text, showarrow: false, font: { color: colour } });
    draw(plot, traces, {
      margin: { l: overflow.length ? BAND_MARGIN : 64, r: 8, t: 8, b: 40 },
      shapes: [
        shade(10 ** low, 10 ** GRADIENT_BANDS.vanishingBelow, PALETTE.vanishing),
        shade(10 ** GRADIENT_BANDS.explodingAbove, 10 ** high, PALETTE.exploding),
        ...(overflow.length ? [band.shape] : []),
      ],
      // Each band names itself at its own edge (bottom, top), so the names never meet.
      annotations: [
        label("vanishing", low, "bottom", VANISHING_TEXT),
        label("exploding", high, "top", EXPLODING_TEXT),
      ],
      xaxis: { title: { text: "time step t" }, range: [-0.5, Math.max(T, 1) - 0.5], dtick: stepTicks(T) },
      yaxis: { ...logAxis(low, high, { band: overflow.length > 0 }), title: { text: "norm (log scale)" } },
    });
    const done = norms.map((n, t) => [t, n]).filter(([, n]) => n !== null);
    if (!done.length) {
      caption.textContent = "Step backward (←) to send the gradient back through time, from t = T−1 to 0.";
      return;
    }
    const [lastT, lastN] = done[done.length - 1];
    const [firstT, firstN] = done[0];
    if (done.length < 2) {
      caption.textContent = `‖∂L/∂h_${lastT}‖ = ${formatNumber(lastN, 3)}; keep stepping back.`;
      return;
    }
    const along = cells.map((n, t) => [t, n]).filter(([, n]) => n !== null);
    const cellText = along.length > 1
      ? ` Along the cell state, ‖∂L/∂c_t‖ changed × ${formatNumber(along[0][1] / along[along.length - 1][1], 2)}: ${verdict(along)}.`
      : "";
    caption.textContent = `From t = ${lastT} back to t = ${firstT} the gradient changed × ${formatNumber(firstN / lastN, 2)}: ${verdict(done)}.${cellText}`;
  }, { heavy: true, minIntervalMs: 80, name: "gradient norms", element: plot });

  const start = (frame) => {
    T = frame.seq_len ?? frame.tokens.length;
    norms = new Array(T).fill(null);
    jacobians = new Array(T).fill(null);
    cells = new Array(T).fill(null);
    render();
  };
  stream.on("hello", start);
  stream.on("sequence", start);
  stream.on("backward", (frame) => {
    norms[frame.t] = frame.dh_norm;
    jacobians[frame.t] = frame.t > 0 ? frame.jacobian_norm : null;
    cells[frame.t] = frame.dc_norm ?? null;
    render();
  });
}

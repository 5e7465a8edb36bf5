// The gradient flowing back in time: ||dL/dh_t|| per step on a log axis, filled in right to left
// as BPTT walks from the last step to the first, over shaded bands (purple: vanishing, below
// 1e-3; orange: exploding, above 10), with ||dh_t/dh_{t-1}|| (the factor each step multiplies
// the gradient by) beside it. Pascanu, Mikolov & Bengio (2013) explain both ends.

import { EXPLODING_TEXT, GRADIENT_BANDS, PALETTE, VANISHING_TEXT, gradientColour } from "../colors.js";
import { formatNumber } from "../format.js";
import { batched } from "../frame_batcher.js";
import { BAND_MARGIN, LOG_CEILING, draw, legendElement, logAxis, logsOf, nonFiniteBand, stepTicks } from "../plot.js";

const positive = (x) => (Number.isFinite(x) && x > 0 ? x : null);

export function mount(root, stream) {
  const caption = document.createElement("p");
  caption.className = "caption";
  const plot = document.createElement("div");
  plot.className = "plot";
  const legend = legendElement([
    { label: "‖∂L/∂h_t‖", colour: PALETTE.neutral, mark: "dot" },
    { label: "‖∂h_t/∂h_t−1‖ (per step)", colour: "#8a94a3", mark: "dash" },
  ]);
  root.append(caption, legend, plot);
  let norms = [];
  let jacobians = [];
  let T = 0;

  const render = batched(() => {
    const x = norms.map((_, t) => t);
    const logs = logsOf(norms, jacobians);
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
    const ratio = firstN / lastN;
    const verdict = !Number.isFinite(ratio) || Number.isNaN(ratio) ? "it overflowed" : ratio < 1e-3 ? "it vanishes" : ratio > 1e3 ? "it explodes" : "it holds up";
    caption.textContent = `From t = ${lastT} back to t = ${firstT} the gradient changed × ${formatNumber(firstN / lastN, 2)}: ${verdict}.`;
  }, { heavy: true, minIntervalMs: 80, name: "gradient norms", element: plot });

  const start = (frame) => {
    T = frame.seq_len ?? frame.tokens.length;
    norms = new Array(T).fill(null);
    jacobians = new Array(T).fill(null);
    render();
  };
  stream.on("hello", start);
  stream.on("sequence", start);
  stream.on("backward", (frame) => {
    norms[frame.t] = frame.dh_norm;
    jacobians[frame.t] = frame.t > 0 ? frame.jacobian_norm : null;
    render();
  });
}

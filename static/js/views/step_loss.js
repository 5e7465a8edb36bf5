// Per-step loss L_t as bars and their sum, L = Σ_t L_t, filled in as the forward pass moves.
// The equation is text (cheap, every frame); the bars are a Plotly chart, redrawn at most ten
// times a second. An infinite or NaN loss shows as a black bar marked ∞ or NaN.

import { PALETTE } from "../colors.js";
import { batched } from "../frame_batcher.js";
import { formatNumber, inputLabels } from "../format.js";
import { draw, niceCeil, stepTicks } from "../plot.js";

const TERMS = 6; // terms written out in the sum before eliding the middle

export function mount(root, stream) {
  const total = document.createElement("p");
  total.className = "equation";
  const plot = document.createElement("div");
  plot.className = "plot";
  root.append(total, plot);
  let losses = [];
  let tokens = [];
  let active = null;

  const writeSum = batched(() => {
    const seen = losses.map((l, t) => [t, l]).filter(([, l]) => l !== null);
    if (!seen.length) {
      total.textContent = "L = Σ L_t: step forward to see each step's loss";
      return;
    }
    const sum = seen.reduce((a, [, l]) => a + l, 0);
    const terms = seen.map(([, l]) => formatNumber(l, 2));
    const written = terms.length > TERMS ? [...terms.slice(0, 3), "…", ...terms.slice(-2)] : terms;
    const count = terms.length > TERMS ? ` (${terms.length} steps)` : "";
    total.textContent = `L = Σ L_t = ${written.join(" + ")} = ${formatNumber(sum, 3)}${count}`;
    total.classList.toggle("has-nonfinite", !Number.isFinite(sum));
  });

  const drawBars = batched(() => {
    const x = losses.map((_, t) => t);
    const finite = losses.filter((l) => Number.isFinite(l));
    const top = niceCeil(Math.max(1, ...finite) * 1.05);
    const y = losses.map((l) => (l === null ? null : Number.isFinite(l) ? l : top));
    const colours = losses.map((l, t) => (Number.isFinite(l) || l === null ? (t === active ? PALETTE.target : PALETTE.model) : PALETTE.nonFinite));
    const text = losses.map((l) => (l !== null && !Number.isFinite(l) ? formatNumber(l) : ""));
    draw(
      plot,
      [{
        type: "bar", x, y, text, textposition: "inside", insidetextanchor: "end",
        textfont: { color: PALETTE.nonFiniteText }, marker: { color: colours },
        customdata: tokens, hovertemplate: "t=%{x} (input %{customdata})<br>L_t=%{y:.3f}<extra></extra>",
      }],
      {
        bargap: 0.2,
        xaxis: { title: { text: "time step t" }, dtick: stepTicks(x.length), range: [-0.5, Math.max(x.length, 1) - 0.5] },
        yaxis: { title: { text: "L_t" }, range: [0, top] },
      },
    );
  }, { heavy: true, minIntervalMs: 80, name: "loss bars", element: plot });

  const render = () => {
    writeSum();
    drawBars();
  };
  const start = (frame) => {
    tokens = inputLabels(frame);
    losses = new Array(frame.seq_len ?? frame.tokens.length).fill(null);
    active = null;
    render();
  };
  stream.on("hello", start);
  stream.on("sequence", start);
  stream.on("forward", (frame) => {
    losses[frame.t] = frame.counted === false ? null : frame.loss;
    active = frame.t;
    render();
  });
  stream.on("backward", () => {
    if (active === null) return;
    active = null;
    drawBars();
  });
}

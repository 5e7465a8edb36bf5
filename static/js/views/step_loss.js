// Per-step loss L_t as bars and their sum, L = Σ_t L_t, filled in as the forward pass moves.
// The equation is text (cheap, every frame); the bars are a Plotly chart, redrawn at most ten
// times a second, on a log axis once a loss explodes. An infinite or NaN loss shows as a black
// bar reaching into a band marked ∞ / NaN.

import { PALETTE } from "../colors.js";
import { formatNumber, inputLabels } from "../format.js";
import { batched } from "../frame_batcher.js";
import { draw, lossAxis, stepTicks } from "../plot.js";

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
    const broken = losses.some((l) => l !== null && !Number.isFinite(l));
    const { yaxis, top, band, margin } = lossAxis(finite, broken, "L_t", 1);
    const y = losses.map((l) => (l === null ? null : Number.isFinite(l) ? l : top));
    const colours = losses.map((l, t) => (Number.isFinite(l) || l === null ? (t === active ? PALETTE.target : PALETTE.model) : PALETTE.nonFinite));
    const shown = losses.map((l) => (l === null ? "" : formatNumber(l, 3)));
    draw(
      plot,
      [{
        type: "bar", x, y, marker: { color: colours },
        customdata: tokens.map((token, t) => [token, shown[t]]),
        hovertemplate: "t=%{x} (input %{customdata[0]})<br>L_t=%{customdata[1]}<extra></extra>",
      }],
      {
        bargap: 0.2,
        margin: { l: margin ?? 50 },
        shapes: band ? [band.shape] : [],
        xaxis: { title: { text: "time step t" }, dtick: stepTicks(x.length), range: [-0.5, Math.max(x.length, 1) - 0.5] },
        yaxis,
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

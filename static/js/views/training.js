// Training: the loss of every iteration and min-char-rnn's smoothed loss, perplexity, the
// held-out metric (sent now and then while training), and clipping events marked on the curve.
// Fed by update frames (one iteration stepped through) and progress frames (training).
// Redrawn at most four times a second; long runs keep at most MAX_POINTS points.

import { PALETTE } from "../colors.js";
import { formatNumber } from "../format.js";
import { batched } from "../frame_batcher.js";
import { draw, emptyNote, legendElement, lossAxis, niceCeil } from "../plot.js";

const MAX_POINTS = 3000;

// A value as the loss axis can draw it: finite, and above zero on a log axis.
const positiveOr = (x, yaxis) => (Number.isFinite(x) && (yaxis.type !== "log" || x > 0) ? x : null);

export function mount(root, stream) {
  const stats = document.createElement("dl");
  stats.className = "stats";
  const hint = document.createElement("p");
  hint.className = "caption";
  const plot = document.createElement("div");
  plot.className = "plot";
  const legend = legendElement([
    { label: "loss per iteration", colour: PALETTE.faint },
    { label: "smoothed", colour: PALETTE.smooth },
    { label: "held-out", colour: PALETTE.target, mark: "diamond" },
    { label: "clipped", colour: PALETTE.exploding, mark: "tick" },
  ]);
  root.append(stats, hint, legend, plot);
  let points = []; // { iteration, loss, smooth, clipped }
  let heldout = []; // { iteration, value }
  let heldoutName = "loss";
  let latest = {};
  let clippedTotal = 0;
  let skippedTotal = 0;

  const entry = (name, value, title = "") => {
    const dt = Object.assign(document.createElement("dt"), { textContent: name, title });
    const dd = document.createElement("dd");
    dd.textContent = typeof value === "number" ? formatNumber(value, 3) : value;
    if (typeof value === "number" && !Number.isFinite(value)) dd.className = "nonfinite";
    return [dt, dd];
  };

  const render = batched(() => {
    const xs = points.map((p) => p.iteration);
    const clipped = points.filter((p) => p.clipped);
    const finite = [...points.flatMap((p) => [p.loss, p.smooth]), ...heldout.map((h) => h.value)].filter(Number.isFinite);
    const broken = points.filter((p) => !Number.isFinite(p.loss));
    const { yaxis, floor, band, margin } = lossAxis(finite, broken.length > 0, "loss L (sum over steps)");
    const traces = [
      { type: "scatter", mode: points.length < 40 ? "lines+markers" : "lines", name: "loss", x: xs, y: points.map((p) => positiveOr(p.loss, yaxis)), line: { color: PALETTE.faint, width: 1.5 }, marker: { size: 6, color: PALETTE.model } },
      { type: "scatter", mode: "lines", name: "smoothed", x: xs, y: points.map((p) => positiveOr(p.smooth, yaxis)), line: { color: PALETTE.smooth, width: 3 }, connectgaps: true },
      { type: "scatter", mode: "markers", name: `held-out ${heldoutName}`, x: heldout.map((h) => h.iteration), y: heldout.map((h) => positiveOr(h.value, yaxis)), marker: { color: PALETTE.target, size: 9, symbol: "diamond" } },
      { type: "scatter", mode: "markers", name: "clipped", x: clipped.map((p) => p.iteration), y: clipped.map(() => floor), marker: { color: PALETTE.exploding, symbol: "line-ns-open", size: 10, line: { width: 2 } }, hovertemplate: "iteration %{x}: gradient clipped<extra></extra>" },
    ];
    if (band) {
      traces.push({ type: "scatter", mode: "markers", name: "inf/NaN", x: broken.map((p) => p.iteration), y: broken.map(() => band.y), marker: { color: PALETTE.nonFinite, symbol: "x", size: 9 }, hovertemplate: "iteration %{x}: loss is not finite<extra></extra>" });
    }
    draw(plot, traces, {
      margin: { l: margin ?? 58, r: 10, t: 8, b: 40 },
      shapes: band ? [band.shape] : [],
      annotations: points.length ? [] : [emptyNote("no update yet")],
      xaxis: { title: { text: "iteration" }, range: [0, niceCeil(Math.max(10, ...xs.slice(-1)))] },
      yaxis,
    });
    const rows = [
      ...entry("iteration", String(latest.iteration ?? 0)),
      ...entry("loss", latest.loss ?? "–"),
      ...entry("smoothed", latest.smooth ?? "–", "min-char-rnn's smoothed loss: 0.999 of the last value plus 0.001 of this loss, started at a uniform guess's loss (ln V per counted target)"),
      ...entry("perplexity per target", latest.perplexity ?? "–", "exp(mean loss per counted target) of the latest iteration: the number of equally likely choices it amounts to"),
    ];
    const held = latest.heldout ? Object.entries(latest.heldout) : [];
    if (held.length) for (const [name, value] of held) rows.push(...entry(`held-out ${name}`, value));
    else rows.push(...entry("held-out", "–", "sent by the server now and then while training"));
    rows.push(...entry("clipped", String(clippedTotal), "iterations whose gradient was clipped"));
    if (skippedTotal) rows.push(...entry("skipped", `${skippedTotal} (inf/NaN)`));
    stats.replaceChildren(...rows);
    hint.textContent = points.length ? "" : "Press train ⟳ (T) to train continuously, or finish an iteration (Enter): each update adds a point.";
    hint.hidden = points.length > 0;
  }, { heavy: true, minIntervalMs: 250, name: "training", element: plot });

  const add = (point) => {
    points.push(point);
    if (points.length > MAX_POINTS) points = points.filter((p, i) => i % 2 === 0 || p.clipped);
  };

  stream.on("hello", () => {
    points = [];
    heldout = [];
    latest = {};
    clippedTotal = 0;
    skippedTotal = 0;
    render();
  });
  stream.on("update", (frame) => {
    add({ iteration: frame.iteration + 1, loss: frame.loss, smooth: frame.smooth_loss, clipped: frame.clipped });
    clippedTotal += frame.clipped ? 1 : 0;
    skippedTotal += frame.finite ? 0 : 1;
    latest = {
      ...latest, iteration: frame.iteration + 1, loss: frame.loss, smooth: frame.smooth_loss,
      perplexity: frame.perplexity ?? undefined,
    };
    render();
  });
  stream.on("progress", (frame) => {
    add({ iteration: frame.iteration, loss: frame.loss, smooth: frame.smooth_loss, clipped: frame.clipped > 0 });
    clippedTotal += frame.clipped;
    skippedTotal += frame.skipped;
    if (frame.heldout) {
      heldoutName = "loss" in frame.heldout ? "loss" : Object.keys(frame.heldout)[0] ?? "metric";
      heldout.push({ iteration: frame.iteration, value: frame.heldout[heldoutName] });
    }
    latest = {
      iteration: frame.iteration, loss: frame.loss, smooth: frame.smooth_loss,
      perplexity: frame.perplexity ?? undefined, heldout: frame.heldout ?? latest.heldout,
    };
    render();
  });
}

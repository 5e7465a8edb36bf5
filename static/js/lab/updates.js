// Each update of each run: the loss, and the gradient's global norm before and after clipping
// (Pascanu, Mikolov & Bengio 2013: g <- c g / ||g|| when ||g|| > c). A non-finite gradient is
// not applied; it is drawn as a cross at the top of the chart, never silently left out.

import { batched } from "../frame_batcher.js";
import { formatNumber } from "../protocol.js";
import { GRID, PLOT_CONFIG, baseLayout, logExtent, logTicks } from "./palette.js";

// The norm the optimizer was given, as the server measured it (by norm: min(||g||, c); by value
// the norm of the cut gradient, whose direction changed too).
export function normAfter(update) {
  if (!update.finite || !Number.isFinite(update.norm_after_clip)) return NaN;
  return update.norm_after_clip;
}

// series: [{ stream, label, colour, clip: () => ({ mode, threshold }) }]
export function mountUpdates(root, series) {
  const lossPlot = document.createElement("div");
  lossPlot.className = "lab-plot update-plot";
  const normPlot = document.createElement("div");
  normPlot.className = "lab-plot update-plot";
  root.append(lossPlot, normPlot);
  const history = series.map(() => []);
  const visible = series.map(() => true);

  const markNonFinite = (points, value, top) =>
    points.map((p) => (Number.isFinite(value(p)) ? null : top));

  const render = batched(() => {
    const lossTraces = [];
    const normTraces = [];
    let topLoss = 1;
    let topNorm = 1;
    for (const points of history) {
      for (const p of points) {
        if (Number.isFinite(p.loss)) topLoss = Math.max(topLoss, p.loss);
        if (Number.isFinite(p.norm_before_clip)) topNorm = Math.max(topNorm, p.norm_before_clip);
      }
    }
    const lossCeiling = topLoss * 3;
    const normCeiling = topNorm * 3;
    series.forEach((s, i) => {
      const points = history[i];
      const on = visible[i];
      const x = points.map((p) => p.iteration);
      lossTraces.push(
        {
          type: "scatter", mode: "lines+markers", x, y: points.map((p) => (Number.isFinite(p.loss) && p.loss > 0 ? p.loss : null)),
          line: { color: s.colour, width: 3 }, marker: { size: 5, color: s.colour }, visible: on,
          name: `${s.label} loss`, hovertemplate: `${s.label}: iteration %{x}<br>loss %{y:.4g}<extra></extra>`,
        },
        {
          type: "scatter", mode: "markers", x, y: markNonFinite(points, (p) => p.loss, lossCeiling), visible: on,
          marker: { symbol: "x-thin", size: 12, line: { width: 3, color: s.colour } },
          name: `${s.label} non-finite loss`, hovertemplate: `${s.label}: iteration %{x}<br>loss is NaN/∞<extra></extra>`,
        },
      );
      const clip = s.clip();
      normTraces.push(
        {
          type: "scatter", mode: "lines+markers", x, y: points.map((p) => (Number.isFinite(p.norm_before_clip) && p.norm_before_clip > 0 ? p.norm_before_clip : null)),
          line: { color: s.colour, width: 2, dash: "dot" }, marker: { size: 5, color: s.colour }, visible: on,
          name: `${s.label} ‖g‖ before clipping`, hovertemplate: `${s.label}: ‖g‖ before clipping %{y:.3g}<extra></extra>`,
        },
        {
          type: "scatter", mode: "lines", x, y: points.map((p) => p.after),
          line: { color: s.colour, width: 3.5 }, visible: on,
          name: `${s.label} ‖g‖ applied`, hovertemplate: `${s.label}: ‖g‖ applied %{y:.3g}<extra></extra>`,
        },
        {
          type: "scatter", mode: "markers", x, y: markNonFinite(points, (p) => (p.finite ? p.norm_before_clip : NaN), normCeiling), visible: on,
          marker: { symbol: "x-thin", size: 12, line: { width: 3, color: s.colour } },
          name: `${s.label} skipped`, hovertemplate: `${s.label}: iteration %{x}<br>non-finite gradient: update skipped<extra></extra>`,
        },
        {
          type: "scatter", mode: "lines", visible: on && clip.mode === "norm" && x.length > 0,
          x: x.length ? [x[0], x.at(-1)] : [], y: x.length ? [clip.threshold, clip.threshold] : [],
          line: { color: s.colour, width: 1.5, dash: "dash" }, name: `${s.label} threshold c`, hovertemplate: `${s.label}: c = %{y}<extra></extra>`,
        },
      );
    });
    const xaxis = { title: { text: "iteration" }, gridcolor: GRID, fixedrange: true, rangemode: "tozero" };
    const all = history.flat();
    const lossTicks = logTicks(...logExtent(all.map((p) => p.loss), [lossCeiling]));
    const normTicks = logTicks(...logExtent(all.map((p) => p.norm_before_clip), all.map((p) => p.after), [normCeiling]));
    window.Plotly.react(lossPlot, lossTraces, baseLayout({
      xaxis, yaxis: { title: { text: "loss (log)" }, type: "log", exponentformat: "power", gridcolor: GRID, fixedrange: true, ...lossTicks },
      uirevision: "loss",
    }), PLOT_CONFIG);
    window.Plotly.react(normPlot, normTraces, baseLayout({
      xaxis, yaxis: { title: { text: "‖g‖ (log)" }, type: "log", exponentformat: "power", gridcolor: GRID, fixedrange: true, ...normTicks },
      uirevision: "norm",
    }), PLOT_CONFIG);
    normPlot.dataset.drawn = String(Number(normPlot.dataset.drawn ?? 0) + 1);
  });

  series.forEach((s, i) => {
    s.stream.on("hello", () => {
      history[i] = [];
      render();
    });
    s.stream.on("update", (frame) => {
      const after = normAfter(frame);
      history[i].push({ ...frame, after: Number.isFinite(after) && after > 0 ? after : null });
      render();
    });
  });
  render();
  return {
    history: (i) => history[i],
    setVisible(i, show) {
      visible[i] = show;
      render();
    },
    refresh: render,
  };
}

// One sentence about the latest update: was it clipped, by how much, or skipped?
export function describeUpdate(update, clip) {
  if (!update) return "no update yet";
  const before = update.norm_before_clip;
  if (!update.finite || !Number.isFinite(before)) {
    return `‖g‖ = ${formatNumber(before)}: non-finite, so the update was skipped`;
  }
  if (clip.mode === "none") return `‖g‖ = ${formatNumber(before)}, applied as it is (no clipping)`;
  if (!update.clipped) return `‖g‖ = ${formatNumber(before)} ≤ c = ${clip.threshold}: not clipped`;
  if (clip.mode === "norm") {
    return `‖g‖ = ${formatNumber(before)} > c: rescaled to ${formatNumber(clip.threshold)} (× ${formatNumber(clip.threshold / before)})`;
  }
  return `‖g‖ = ${formatNumber(before)}: every component cut to ±${clip.threshold} (the direction changes too)`;
}

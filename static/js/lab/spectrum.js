// W_hh's eigenvalues on the complex plane, with the unit circle, the 1/γ circle and the circle of
// the largest singular value σ_max (Pascanu, Mikolov & Bengio 2013): σ_max < 1/γ is sufficient
// for vanishing gradients; σ_max > 1/γ is necessary for exploding ones.

import { batched } from "../frame_batcher.js";
import { formatNumber } from "../protocol.js";
import { GRID, INK, MUTED, PLOT_CONFIG, baseLayout } from "./palette.js";

const RING = Array.from({ length: 181 }, (_, i) => (i * 2 * Math.PI) / 180);

function circle(radius) {
  if (!Number.isFinite(radius) || radius <= 0) return { x: [], y: [] };
  return { x: RING.map((a) => radius * Math.cos(a)), y: RING.map((a) => radius * Math.sin(a)) };
}

const SYMBOLS = ["circle", "diamond-open", "square-open"];

// series: [{ stream, label, colour }]
export function mountSpectrum(root, series) {
  const plot = document.createElement("div");
  plot.className = "lab-plot spectrum-plot";
  root.append(plot);
  const frames = series.map(() => null);
  const visible = series.map(() => true);

  const render = batched(() => {
    const shown = frames.filter((f, i) => f && visible[i]);
    const inverseGammas = [...new Set(shown.map((f) => 1 / f.gamma).filter((g) => Number.isFinite(g) && Math.abs(g - 1) > 1e-9))];
    const MAX_EXTENT = 12;
    let extent = 1.15;
    for (const f of shown) {
      for (const v of [f.spectral_radius, f.largest_singular_value, 1 / f.gamma]) {
        if (Number.isFinite(v) && v * 1.1 <= MAX_EXTENT) extent = Math.max(extent, v * 1.1);
      }
    }
    // A run whose W_hh has blown up is off the chart: say so rather than draw nothing.
    const offChart = series
      .map((s, i) => ({ s, f: frames[i], on: visible[i] }))
      .filter(({ f, on }) => on && f && !(f.spectral_radius <= extent))
      .map(({ s, f }) => `${s.label}: ρ = ${formatNumber(f.spectral_radius, 2)}, off the chart`);
    const unit = circle(1);
    const traces = [
      { type: "scatter", mode: "lines", ...unit, line: { color: INK, width: 2 }, hoverinfo: "skip", name: "|λ| = 1" },
    ];
    for (let i = 0; i < 2; i++) {
      const radius = inverseGammas[i];
      traces.push({
        type: "scatter", mode: "lines", ...circle(radius), line: { color: INK, width: 2, dash: "dash" },
        hoverinfo: "skip", name: "1/γ", visible: radius !== undefined,
      });
    }
    series.forEach((s, i) => {
      const f = frames[i];
      const on = Boolean(f) && visible[i];
      traces.push({
        type: "scatter", mode: "lines", ...circle(f?.largest_singular_value), visible: on,
        line: { color: s.colour, width: 1.5, dash: "dot" }, hoverinfo: "skip", name: `${s.label} σ_max`,
      });
      const real = f?.eigenvalues_real ?? [];
      const imag = f?.eigenvalues_imag ?? [];
      const ok = real.map((r, j) => Number.isFinite(r) && Number.isFinite(imag[j]));
      traces.push({
        type: "scatter", mode: "markers", visible: on, name: `${s.label} eigenvalues`,
        x: real.filter((_, j) => ok[j]), y: imag.filter((_, j) => ok[j]),
        marker: { color: s.colour, size: 10, symbol: SYMBOLS[i % SYMBOLS.length], line: { color: s.colour, width: 2 } },
        hovertemplate: `${s.label}: λ = %{x:.3f} %{y:+.3f}i<extra></extra>`,
      });
    });
    const annotations = [
      ...offChart.map((text, i) => ({ xref: "paper", yref: "paper", x: 0.02, y: 0.98 - i * 0.08, text, showarrow: false, xanchor: "left", yanchor: "top", font: { size: 13, color: INK }, bgcolor: "rgba(255,255,255,0.85)" })),
      ...inverseGammas.map((g) => ({ x: -g * Math.SQRT1_2, y: g * Math.SQRT1_2, text: `1/γ = ${g.toFixed(g < 10 ? 2 : 0)}`, showarrow: false, xanchor: "right", yanchor: "bottom", font: { size: 13, color: INK } })),
    ];
    const axis = { range: [-extent, extent], zeroline: true, zerolinecolor: "#c4cad3", gridcolor: GRID, fixedrange: true, color: MUTED };
    const layout = baseLayout({
      margin: { l: 48, r: 10, t: 8, b: 40 },
      xaxis: { ...axis, title: { text: "Re λ" } },
      yaxis: { ...axis, title: { text: "Im λ" }, scaleanchor: "x", scaleratio: 1 },
      annotations,
      uirevision: "spectrum",
    });
    window.Plotly.react(plot, traces, layout, PLOT_CONFIG);
    plot.dataset.drawn = String(Number(plot.dataset.drawn ?? 0) + 1);
  });

  series.forEach((s, i) => {
    s.stream.on("spectrum", (frame) => {
      frames[i] = frame;
      render();
    });
  });
  render();
  return {
    element: plot,
    frame: (i) => frames[i],
    setVisible(i, show) {
      visible[i] = show;
      render();
    },
  };
}

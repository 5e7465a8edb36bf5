// Series colours for runs drawn on one chart: the page palette's blue and orange (colour-blind
// safe), and its purple for a third run. Line style differs too, so print and greyscale work.

import { PALETTE } from "../colors.js";

export const RUN_COLOURS = {
  A: PALETTE.model, // blue
  B: PALETTE.exploding, // orange
  C: PALETTE.vanishing, // purple
};

export const INK = "#1d232b";
export const MUTED = "#5b6573";
export const GRID = "#e3e7ec";

// Layout shared by the lab's charts: large type for a projector, transparent backgrounds.
export function baseLayout(extra = {}) {
  return {
    margin: { l: 80, r: 14, t: 10, b: 48 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { size: 14, color: INK, family: "DejaVu Sans, system-ui, sans-serif" },
    showlegend: false,
    hovermode: "closest",
    ...extra,
  };
}

export const PLOT_CONFIG = { displaylogo: false, responsive: true, displayModeBar: false, showSendToCloud: false };

// Log-axis ticks: 1, 2, 3, 5 times powers of ten written out (0.2, 0.5, 1) within a decade or
// two; powers of ten, at most about five of them, beyond. No data yet: a fixed 0.1 to 10,
// labelled at the powers of ten only.
export function logTicks(lo, hi) {
  const span = hi - lo;
  if (!Number.isFinite(span)) return { dtick: 1, range: [-1.3, 1.3], autorange: false };
  if (span >= 1.5) return { dtick: Math.max(1, Math.ceil(span / 5)) };
  const values = [];
  for (let k = Math.floor(lo) - 1; k <= Math.ceil(hi); k++) {
    for (const m of [1, 2, 3, 5]) {
      const v = m * 10 ** k;
      if (Math.log10(v) >= lo - 0.15 && Math.log10(v) <= hi + 0.15) values.push(v);
    }
  }
  const text = (v) => (v >= 0.01 && v < 1e4 ? String(Number(v.toPrecision(1))) : v.toExponential(0));
  return { tickmode: "array", tickvals: values, ticktext: values.map(text) };
}

// [log10 min, log10 max] of the positive finite values of some arrays.
export function logExtent(...arrays) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of arrays) {
    for (const v of values) {
      if (Number.isFinite(v) && v > 0) {
        lo = Math.min(lo, Math.log10(v));
        hi = Math.max(hi, Math.log10(v));
      }
    }
  }
  return [lo, hi];
}

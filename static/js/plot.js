// Shared Plotly settings: transparent backgrounds, the page's font (larger in presenter mode),
// no logo, PNG export at projector resolution, responsive sizing, nothing that sends a chart off
// the machine. Charts are only ever updated with Plotly.react (never newPlot per step) and only
// SVG traces are used: without a GPU, WebGL traces are slower, and a page gets only ~16 WebGL
// contexts.
//
// plotly.js (the vendored partial bundle, about 410 kB compressed) is loaded only when a chart
// first draws, after the next paint: the page's own views show first, and charts drawn before it
// arrives are drawn, in their latest state, as soon as it is there.

import { superscript } from "./format.js";
import { state } from "./page_state.js";

export const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  showSendToCloud: false,
  showEditInChartStudio: false,
  modeBarButtonsToRemove: [
    "select2d", "lasso2d", "autoScale2d", "toggleSpikelines", "zoomIn2d", "zoomOut2d",
    "hoverClosestCartesian", "hoverCompareCartesian", "sendDataToCloud", "editInChartStudio",
  ],
  toImageButtonOptions: { format: "png", scale: 2 },
};

let loading = null;

// plotly.js, fetched once from the URL the page names, checked against its pinned hash.
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  loading ??= new Promise((resolve, reject) => {
    requestAnimationFrame(() => setTimeout(() => {
      const root = document.documentElement;
      const script = Object.assign(document.createElement("script"), { src: root.dataset.plotly });
      script.integrity = root.dataset.plotlyIntegrity;
      script.addEventListener("load", () => resolve(window.Plotly));
      script.addEventListener("error", () => reject(new Error("plotly.js did not load")));
      document.head.append(script);
    }));
  });
  return loading;
}

const pending = new Map(); // element -> its latest [traces, layout, config], until plotly.js is here

// Plotly.react, now or (the latest call per element) once plotly.js has loaded.
export function react(element, traces, layout, config) {
  if (window.Plotly) {
    window.Plotly.react(element, traces, layout, config);
    return;
  }
  if (!pending.size) {
    loadPlotly().then(() => {
      for (const [target, args] of pending) window.Plotly.react(target, ...args);
      pending.clear();
    });
  }
  pending.set(element, [traces, layout, config]);
}

export function theme() {
  const presenter = Boolean(state.get("presenter"));
  return {
    presenter,
    size: presenter ? 24 : 13, // presenter: nothing under 20 px, exponents (7/8 of it) included
    ink: presenter ? "#000000" : "#1d232b",
    grid: presenter ? "#b9c0c8" : "#e3e7ec",
    line: presenter ? 3 : 2,
  };
}

function axis(base, overrides) {
  const t = theme();
  return {
    gridcolor: t.grid,
    zerolinecolor: t.grid,
    linecolor: t.ink,
    tickfont: { size: t.size, color: t.ink },
    title: { font: { size: t.size, color: t.ink } },
    automargin: false, // margins are set per chart: automargin costs Plotly a second layout pass
    fixedrange: true,
    ...base,
    ...overrides,
    ...(overrides?.title ? { title: { font: { size: t.size, color: t.ink }, ...overrides.title } } : {}),
  };
}

export function layout(overrides = {}) {
  const t = theme();
  const { xaxis, yaxis, margin, ...rest } = overrides;
  const m = { l: 50, r: 10, t: 8, b: 36, ...margin };
  const k = t.size / 13; // larger type needs wider margins for the tick labels
  return {
    margin: { l: Math.round(m.l * k), r: m.r, t: Math.round(m.t * k), b: Math.round(m.b * k) },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { size: t.size, family: "DejaVu Sans, sans-serif", color: t.ink },
    showlegend: false,
    hoverlabel: { font: { size: t.size } },
    xaxis: axis({}, xaxis),
    yaxis: axis({}, yaxis),
    ...rest,
  };
}

const drawn = new Map(); // element -> its latest [traces, overrides], to redraw in a new theme

export function draw(element, traces, overrides) {
  drawn.set(element, [traces, overrides]);
  react(element, traces, layout(overrides), PLOT_CONFIG);
}

// Presenter mode changes the type size: redraw every chart's latest state in the new theme.
state.watch("presenter", () => {
  for (const [element, [traces, overrides]] of drawn) {
    if (!element.isConnected) drawn.delete(element);
    else react(element, traces, layout(overrides), PLOT_CONFIG);
  }
});

// Non-finite numbers cannot be plotted: null leaves a gap, and the caller says why in text.
export const finiteOrNull = (x) => (Number.isFinite(x) ? x : null);

// The largest power of ten an axis reaches: doubles end near 1e308, and a range past them
// would draw "NaN" ticks.
export const LOG_CEILING = 300;
export const BAND_MARGIN = 96; // px left of a log axis whose ticks include "not finite"

// log10 of the finite positive values among some arrays.
export function logsOf(...arrays) {
  return arrays.flat().filter((v) => Number.isFinite(v) && v > 0).map(Math.log10);
}

// Whether values span so many decades (or reach so high) that a linear axis would flatten them.
export function spansDecades(values, decades = 3, above = 1e4) {
  const logs = logsOf(values);
  if (!logs.length) return false;
  const high = Math.max(...logs);
  return high - Math.min(...logs) > decades || high > Math.log10(above);
}

// A log axis from 10^low to 10^high, labelled only at powers of ten, at most about `ticks` of
// them, so labels never crowd however many decades the data span. `band`: one more decade on
// top for inf/NaN (see nonFiniteBand), labelled "not finite" as a tick of its own, clear of the
// others by a sixth of the axis.
export function logAxis(low, high, { ticks = 6, band = false } = {}) {
  const lo = Math.max(-LOG_CEILING, Math.floor(low));
  const hi = Math.max(lo + 1, Math.min(LOG_CEILING, Math.ceil(high)));
  const top = band ? hi + 1 : hi;
  const step = Math.max(1, Math.ceil((hi - lo) / ticks));
  const labels = [];
  for (let k = Math.ceil(lo / step) * step; k <= hi; k += step) {
    if (!band || k <= hi + 0.5 - (top - lo) / ticks) labels.push([10 ** k, k === 0 ? "1" : k === 1 ? "10" : `10${superscript(k)}`]);
  }
  if (band) labels.push([10 ** (hi + 0.5), "not finite"]);
  return {
    type: "log",
    range: [lo, top],
    tickmode: "array",
    tickvals: labels.map(([value]) => value),
    ticktext: labels.map(([, text]) => text),
  };
}

// Where a log chart shows inf/NaN: a grey band one decade high above the finite values (log10
// `top`; logAxis names it), with the non-finite points marked inside it at `y`.
export function nonFiniteBand(top) {
  return {
    y: 10 ** (top + 0.5),
    shape: {
      type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: 10 ** top, y1: 10 ** (top + 1),
      fillcolor: "#000000", opacity: 0.1, line: { width: 0 }, layer: "below",
    },
  };
}

// A loss axis: linear from 0 while the values are of one size (topped at a nice number, at
// least `least`); log once they span decades or some overflowed (`broken`), with the band for
// inf/NaN above the finite values. `top`: where a bar for inf/NaN ends; `floor`: the bottom;
// `margin`: the room its labels need on the left ("not finite" is wider than a power of ten).
export function lossAxis(finite, broken, title, least = 0.1) {
  if (!broken && !spansDecades(finite)) {
    const top = niceCeil(Math.max(least, ...finite) * 1.05);
    return { yaxis: { title: { text: title }, range: [0, top] }, top, floor: 0, band: null };
  }
  const logs = logsOf(finite);
  const low = logs.length ? Math.min(...logs) - 0.3 : -1;
  const high = Math.ceil(Math.min(LOG_CEILING, logs.length ? Math.max(...logs) + 0.3 : 1));
  const top = broken ? high + 1 : high;
  return {
    yaxis: { ...logAxis(low, high, { band: broken }), title: { text: `${title.split(" (")[0]} (log)` } },
    top: 10 ** top,
    floor: 10 ** Math.floor(low),
    band: broken ? nonFiniteBand(high) : null,
    margin: broken ? BAND_MARGIN : undefined,
  };
}

// A note in the middle of an empty chart, saying how to fill it.
export function emptyNote(text) {
  return { xref: "paper", yref: "paper", x: 0.5, y: 0.5, text, showarrow: false, font: { color: "#5b6573" } };
}

// The next "nice" number at or above x (1, 2 or 5 times a power of ten): axis ranges that move in
// steps, so most redraws change only the traces, not the axes (a relayout costs Plotly 2-3x).
export function niceCeil(x) {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  const m = x / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

// A chart's legend as HTML above it: drawn once, so Plotly has no legend to lay out per redraw.
// items: [{ label, colour, mark: "line" | "dash" | "dot" | "diamond" | "tick" }]
export function legendElement(items) {
  const legend = document.createElement("p");
  legend.className = "chart-legend";
  for (const { label, colour, mark = "line" } of items) {
    const key = document.createElement("span");
    key.className = `mark ${mark}`;
    key.style.setProperty("--colour", colour);
    const text = document.createElement("span");
    text.textContent = label;
    legend.append(key, text);
  }
  return legend;
}

// Tick spacing for a time axis of T steps: every step while they fit, then every 5 or 10.
export function stepTicks(T) {
  return T <= 12 ? 1 : T <= 40 ? 5 : 10;
}

// A colour scale as HTML beside a heatmap (cheaper than Plotly's colorbar, redrawn per update):
// stops as Plotly colorscales write them, labels as [position 0..1, text].
export function scaleElement(stops, labels, title = "") {
  const scale = document.createElement("div");
  scale.className = "colour-scale";
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.style.background = `linear-gradient(to right, ${stops.map(([at, colour]) => `${colour} ${at * 100}%`).join(", ")})`;
  const ticks = document.createElement("span");
  ticks.className = "ticks";
  for (const [at, text] of labels) {
    const tick = Object.assign(document.createElement("span"), { textContent: text });
    tick.style.left = `${at * 100}%`;
    ticks.append(tick);
  }
  const name = Object.assign(document.createElement("span"), { className: "name", textContent: title });
  scale.append(name, bar, ticks);
  return scale;
}

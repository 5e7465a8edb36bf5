// Shared Plotly settings: transparent backgrounds, the page's font (larger in presenter mode),
// no logo, PNG export at projector resolution, responsive sizing. Charts are only ever updated
// with Plotly.react (never newPlot per step) and only SVG traces are used: without a GPU,
// WebGL traces are slower, and a page gets only ~16 WebGL contexts.

import { state } from "./page_state.js";

export const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: [
    "select2d", "lasso2d", "autoScale2d", "toggleSpikelines", "zoomIn2d", "zoomOut2d",
    "hoverClosestCartesian", "hoverCompareCartesian",
  ],
  toImageButtonOptions: { format: "png", scale: 2 },
};

export function theme() {
  const presenter = Boolean(state.get("presenter"));
  return {
    presenter,
    size: presenter ? 17 : 13,
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
  window.Plotly.react(element, traces, layout(overrides), PLOT_CONFIG);
}

// Presenter mode changes the type size: redraw every chart's latest state in the new theme.
state.watch("presenter", () => {
  for (const [element, [traces, overrides]] of drawn) {
    if (!element.isConnected) drawn.delete(element);
    else window.Plotly.react(element, traces, layout(overrides), PLOT_CONFIG);
  }
});

// Non-finite numbers cannot be plotted: null leaves a gap, and the caller says why in text.
export const finiteOrNull = (x) => (Number.isFinite(x) ? x : null);

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

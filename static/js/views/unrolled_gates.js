// Inside a gated cell (LSTM, GRU), drawn on its column of the unrolled network: the cell state
// c_t as a rail running through the top of every cell, the way c_{t-1} -> c_t is drawn in most
// LSTM diagrams; each gate as a thin strip of its H units in the cell, named by the cell's own
// gate names (i, f, o, g; z, r, h_tilde; any other cell's too); h_t as the last strip. Walking
// back, ||dL/dc_t|| travels right to left along the rail beside ||dL/dh_t||, with its value.

import { diverging, gradientBand } from "../colors.js";
import { formatNumber, subscript } from "../format.js";
import { el } from "../svg.js";
import { BAND_COLOUR, ROW, drawGradient } from "./unrolled_layout.js";

// Gates that squash with tanh into [-1, 1] are drawn like h; the sigmoid gates, in [0, 1],
// from white (closed) to green (open).
const CANDIDATES = new Set(["g", "h_tilde", "n"]);
const NAMES = {
  i: "input gate", f: "forget gate", o: "output gate", g: "candidate", z: "update gate",
  r: "reset gate", h_tilde: "candidate h̃", n: "candidate n", c: "cell state",
};
const LETTERS = { h_tilde: "h̃" };
const OPEN = [[0, [247, 252, 245]], [0.5, [116, 196, 118]], [1, [0, 68, 27]]]; // ColorBrewer Greens

const RAIL = ROW.cell + 13; // the cell state's line, through the top of each cell
const GATE_ROW = 10; // px per gate strip
const GAP = 3; // px between strips
const ROWS_TOP = { full: 40, mid: 40, compact: 25 }; // below the rail and ||dL/dc_t||
const ROWS_TOP_STATELESS = { full: 30, mid: 28, compact: 8 }; // below the h_t title
const STATE = "c"; // the gate entry that is a state, not a gate

export function gateColour(name, value) {
  if (CANDIDATES.has(name)) return diverging(value);
  if (!Number.isFinite(value)) return diverging(value); // black, never mistaken for closed
  const s = Math.max(0, Math.min(1, value));
  const [x1, c1] = OPEN[s <= 0.5 ? 1 : 2];
  const [x0, c0] = OPEN[s <= 0.5 ? 0 : 1];
  const k = (s - x0) / (x1 - x0);
  const [r, g, b] = c0.map((v, i) => Math.round(v + (c1[i] - v) * k));
  return `rgb(${r},${g},${b})`;
}

export function gateLabel(name) {
  return LETTERS[name] ?? name;
}

export function gateName(name) {
  return NAMES[name] ?? name;
}

// The names of a forward frame's gate strips, in the cell's order (the cell state apart).
export function gateNames(frame) {
  return Object.keys(frame.gates ?? {}).filter((name) => name !== STATE);
}

// What the legend says about the inside of these cells.
export function legendText(frame) {
  const rows = gateNames(frame).map((name) => `${gateLabel(name)} ${gateName(name)}`).join(", ");
  const state = frame.gates?.[STATE] ? "c: the cell state, on the line through every cell · " : "";
  return `inside each cell, top to bottom: ${state}${rows} (gates: white = 0 closed, green = 1 open) · h_t`;
}

// One strip of values: a row of unit rectangles at (x0, y), `width` wide, `height` tall (a
// title, if the strip has one, stays first).
function strip(parent, values, x0, y, width, height, colour) {
  const n = values.length;
  const unit = Math.min(width / n, 24);
  const left = x0 + (width - n * unit) / 2;
  if (parent.querySelectorAll("rect").length !== n) {
    const title = parent.querySelector("title");
    const size = Math.max(unit - (unit > 6 ? 1 : 0), 0.6);
    parent.replaceChildren(
      ...(title ? [title] : []),
      ...Array.from({ length: n }, (_, i) => el("rect", { x: left + i * unit, y, width: size, height, class: "unit" })),
    );
  }
  const rects = parent.querySelectorAll("rect");
  for (let i = 0; i < n; i++) rects[i].setAttribute("fill", colour(values[i]));
  return rects;
}

function build(column, g, t, prefix) {
  const { cx } = column;
  const group = el("g", { class: "gated" });
  // The rail: c_{t-1} comes in from the left, c_t leaves to the right (to the next cell).
  const last = t + 1 === g.T;
  const rail = el("line", {
    x1: cx - g.col / 2, y1: RAIL, x2: last ? cx + g.cellW / 2 + 12 : cx + g.col / 2, y2: RAIL, class: "cell-rail",
  });
  if (last) rail.setAttribute("marker-end", `url(#${prefix}-fwd)`);
  const state = el("g", { class: "cell-state" });
  state.append(el("title", {}, `c${subscript(t)}, the cell state`));
  const gates = el("g", { class: "gate-strips" });
  const hidden = el("g", { class: "strip gated-h" });
  const letters = el("g", { class: "gate-letters" });
  const gradC = el("line", {
    x1: cx + g.col - g.cellW / 2 - 3, y1: RAIL + 9, x2: cx + g.cellW / 2 + 3, y2: RAIL + 9, class: "grad grad-c",
  });
  const cLabel = el("text", { x: cx, y: ROW.cell + 34, class: "grad-label grad-c-label" }, "");
  const track = el("g", { class: "cell-track" }); // the cell state's: shown for a cell that has one
  track.append(rail, ...(t + 1 < g.T ? [gradC] : []), state, ...(g.mode !== "compact" ? [cLabel] : []));
  group.append(track, gates, hidden, letters);
  column.group.append(group);
  column.gated = { group, track, state, gates, hidden, letters, gradC, cLabel, names: "" };
  return column.gated;
}

// The strips' geometry in this cell: width, left edge, and where the rows start.
function box(column, g) {
  const full = g.mode === "full";
  const width = g.cellW - (full ? 34 : g.mode === "mid" ? 10 : 6);
  const left = column.cx - width / 2 + (full ? 8 : 0);
  return { width, left, full };
}

// Draw the cell's insides from its forward frame (the plain h strip is hidden meanwhile).
export function drawGated(column, g, f, t, prefix) {
  const inside = column.gated ?? build(column, g, t, prefix);
  const state = f.gates[STATE];
  inside.group.style.display = "";
  inside.track.style.display = state ? "" : "none";
  column.strip.style.display = "none";
  column.cellLabel?.style.setProperty("display", state ? "none" : "");
  column.gradLabel.setAttribute("y", ROW.cell + ROW.cellH - 5); // below the h strip
  const { width, left, full } = box(column, g);
  const names = gateNames(f);
  const rowsTop = ROW.cell + (state ? ROWS_TOP : ROWS_TOP_STATELESS)[g.mode];
  const rowY = (j) => rowsTop + j * (GATE_ROW + GAP);
  if (state) strip(inside.state, state, left, RAIL - 6, width, 12, diverging);
  const layout = `${names.join()} ${rowsTop}`;
  if (inside.names !== layout) {
    inside.names = layout;
    inside.hidden.replaceChildren(); // redrawn at its new place
    inside.gates.replaceChildren(...names.map((name) => el("g", { class: "gate", "data-gate": name })));
    const letter = (y, text) => el("text", { x: left - 9, y, class: "gate-letter" }, text);
    inside.letters.replaceChildren(
      ...(full ? [...names, "h"].map((name, j) => letter(rowY(j) + GATE_ROW - 1, gateLabel(name))) : []),
      ...(full && state ? [letter(RAIL + 4, "c")] : []),
    );
  }
  names.forEach((name, j) => {
    strip(inside.gates.children[j], f.gates[name], left, rowY(j), width, GATE_ROW, (v) => gateColour(name, v));
  });
  const units = strip(inside.hidden, f.h, left, rowY(names.length) + 1, width, GATE_ROW, diverging);
  units.forEach((unit, i) => unit.classList.toggle("saturated", Math.abs(f.h[i]) > 0.95));
}

// Walking back: ||dL/dc_t|| along the rail, with its value under the cell state.
export function drawCellGradient(column, g, b, prefix) {
  const inside = column.gated;
  if (!inside) return;
  const norm = b?.dc_norm;
  const shown = norm !== null && norm !== undefined;
  drawGradient(inside.gradC, norm, !shown, prefix);
  inside.cLabel.textContent = shown ? `${g.mode === "full" ? "‖∂L/∂c‖ " : ""}${formatNumber(norm, 2)}` : "";
  inside.cLabel.setAttribute("fill", shown ? BAND_COLOUR[gradientBand(norm)] : "none");
}

// A plain cell (or a step not computed yet): nothing of the inside shows.
export function hideGated(column) {
  if (!column.gated) return;
  column.gated.group.style.display = "none";
  column.cellLabel?.style.removeProperty("display");
  column.gradLabel.setAttribute("y", ROW.cell + ROW.cellH - 9);
}

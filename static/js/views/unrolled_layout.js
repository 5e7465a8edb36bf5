// The unrolled network's geometry: how wide a time step's column is for a sequence length and a
// width, the rows it is drawn in, the arrow heads, and the labels of the shared weights.

import { PALETTE } from "../colors.js";
import { el } from "../svg.js";

const MAX_COL = 172;
const MIN_COL = 46;
const MARGIN = 24;
// Rows, top to bottom (px in the drawing's own units).
export const ROW = { legend: 18, loss: 46, out: 54, outH: 52, cell: 146, cellH: 90, input: 270, inH: 40, t: 328, height: 338 };
export const BAND_COLOUR = {
  vanishing: PALETTE.vanishing,
  neutral: PALETTE.neutral,
  exploding: PALETTE.exploding,
  nonfinite: PALETTE.nonFinite,
};

// Short sequences are drawn larger, up to what the width allows and about half the window's
// height (presenter mode: a bit more); long ones at 1:1, scrolling sideways.
export function layoutFor(T, width0, tallest) {
  const natural = 2 * MARGIN + Math.max(T, 1) * MAX_COL;
  // Between: shrink to at most 0.8 so a few steps too many still fit without scrolling.
  const fitted = width0 / (2 * MARGIN + Math.max(T, 1) * MIN_COL);
  const scale = fitted < 1 ? Math.max(0.8, fitted) : Math.max(1, Math.min(1.6, width0 / natural, tallest / ROW.height));
  const available = Math.max(320, width0 / scale);
  const col = Math.max(MIN_COL, Math.min(MAX_COL, Math.floor((available - 2 * MARGIN) / Math.max(T, 1))));
  const mode = col >= 118 ? "full" : col >= 76 ? "mid" : "compact";
  const width = Math.max(available, 2 * MARGIN + T * col);
  const x0 = (width - T * col) / 2;
  return {
    T, col, mode, width, x0, scale,
    cellW: Math.max(24, Math.min(118, col - (mode === "compact" ? 18 : 40))),
    outW: Math.max(34, Math.min(136, col - 10)),
    inW: Math.max(34, Math.min(104, col - 10)),
  };
}

// Arrow heads: grey for the forward pass, one per gradient band for BPTT.
export function arrowDefs(prefix) {
  const defs = el("defs");
  const marker = (id, colour) => {
    const m = el("marker", {
      id: `${prefix}-${id}`, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 9, markerHeight: 9,
      markerUnits: "userSpaceOnUse", orient: "auto-start-reverse",
    });
    m.append(el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }));
    defs.append(m);
  };
  marker("fwd", "#7d8794");
  for (const [band, colour] of Object.entries(BAND_COLOUR)) marker(band, colour);
  return defs;
}

// W_xh, W_hy and W_hh, labelled once per network (the encoder's and the decoder's), and the
// line between encoder and decoder. Pointing at a label highlights that weight at every step.
export function weightLabels(svg, g, encoderLen) {
  const cx = (t) => g.x0 + t * g.col + g.col / 2;
  const starts = encoderLen > 0 ? [0, encoderLen] : [0];
  const labels = el("g", { class: "w-labels" });
  for (const start of starts) {
    if (start >= g.T) continue;
    const x = cx(start);
    const wLabel = (key, lx, ly, text, anchor = "start") => {
      labels.append(el("text", { x: lx, y: ly, class: `w-label w-${key} ${anchor}`, "data-weight": key }, text));
    };
    const side = g.mode === "compact" ? 3 : 6;
    wLabel("xh", x + side, (ROW.input + ROW.cell + ROW.cellH) / 2 + 6, "W_xh");
    wLabel("hy", x + side, (ROW.out + ROW.outH + ROW.cell) / 2 + 6, "W_hy");
    const end = encoderLen > 0 && start === 0 ? encoderLen : g.T; // this network's last step + 1
    if (g.mode === "full" && start + 1 < end) {
      wLabel("hh", x + g.col / 2, ROW.cell + ROW.cellH / 2 - 22, "W_hh", "middle");
    } else {
      // Narrower columns: above the cells, over a later recurrence, clear of W_hy's label.
      const gap = g.mode === "mid" ? 1 : 2;
      if (start + gap + 1 < end) wLabel("hh", x + (gap + 0.5) * g.col, ROW.cell - 5, "W_hh", "middle");
    }
  }
  if (encoderLen > 0 && encoderLen < g.T) {
    const x = g.x0 + encoderLen * g.col;
    labels.append(el("line", { x1: x, y1: ROW.out - 8, x2: x, y2: ROW.t + 20, class: "phase-line" }));
    labels.append(el("text", { x: x - 8, y: ROW.t + 20, class: "phase end" }, "← encoder reads"));
    labels.append(el("text", { x: x + 8, y: ROW.t + 20, class: "phase start" }, "decoder writes →"));
  }
  labels.append(el("text", { x: 8, y: ROW.legend, class: "note start" },
    g.mode === "compact" ? "one W_xh, W_hh, W_hy for all steps" : "one W_xh, W_hh, W_hy shared by every step (point at a W to see it recur)"));
  for (const node of labels.querySelectorAll("[data-weight]")) {
    node.addEventListener("pointerenter", () => (svg.dataset.highlight = node.dataset.weight));
    node.addEventListener("pointerleave", () => delete svg.dataset.highlight);
  }
  return labels;
}

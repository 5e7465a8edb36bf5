// The unrolled network: one cell per time step, the same weights at every step, lit up as the
// forward pass moves right and the gradient flows back left.

import { diverging, gradientColour } from "../colors.js";
import { formatNumber } from "../protocol.js";

const SVG = "http://www.w3.org/2000/svg";
const COL = 170; // px between time steps
const TOP = 58; // output boxes
const CELL_Y = 168;
const CELL_H = 86;
const INPUT_Y = 318;
const HEIGHT = 368;

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

export function mount(root, stream) {
  root.classList.add("unrolled");
  const svg = el("svg", { role: "img", "aria-label": "the network unrolled through time" });
  root.append(svg);
  let columns = [];
  let hidden = 3;

  function build(tokens, targets) {
    svg.replaceChildren();
    const T = tokens.length;
    const width = 60 + T * COL;
    svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    svg.style.minWidth = `${Math.min(width, 60 + 8 * COL) * 0.6}px`;
    const defs = el("defs");
    defs.innerHTML =
      '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="4" markerHeight="4"' +
      ' orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker>';
    svg.append(defs);
    columns = tokens.map((token, t) => buildColumn(t, token, targets[t]));
    if (T > 0) {
      // Shared weights labelled once: they are the same matrices at every step.
      const cx = 40 + COL / 2;
      const label = (x, y, text) => svg.append(el("text", { x, y, class: "w-label" }, text));
      label(cx + 10, (INPUT_Y - 20 + CELL_Y + CELL_H) / 2 + 5, "W_xh");
      label(cx + 10, (TOP + 56 + CELL_Y) / 2 + 5, "W_hy");
      if (T > 1) svg.append(el("text", { x: cx + COL / 2, y: CELL_Y + CELL_H / 2 - 10, class: "w-label mid" }, "W_hh"));
      svg.append(el("text", { x: 12, y: 20, class: "note" }, "the same W_xh, W_hh, W_hy at every step"));
    }
  }

  function buildColumn(t, token, target) {
    const x = 40 + t * COL;
    const cx = x + COL / 2;
    const g = el("g", { class: "step pending", "data-t": t });
    // h_{t-1} -> h_t
    const recur = el("line", {
      x1: x - COL / 2 + 55, y1: CELL_Y + CELL_H / 2, x2: cx - 55, y2: CELL_Y + CELL_H / 2,
      class: "arrow recur", "marker-end": "url(#arrow)",
    });
    if (t > 0) g.append(recur);
    g.append(el("line", { x1: cx, y1: INPUT_Y - 22, x2: cx, y2: CELL_Y + CELL_H + 4, class: "arrow", "marker-end": "url(#arrow)" }));
    g.append(el("line", { x1: cx, y1: CELL_Y - 4, x2: cx, y2: TOP + 58, class: "arrow", "marker-end": "url(#arrow)" }));
    const cell = el("rect", { x: cx - 55, y: CELL_Y, width: 110, height: CELL_H, rx: 12, class: "cell" });
    g.append(cell);
    g.append(el("text", { x: cx, y: CELL_Y + 24, class: "cell-label" }, `h${sub(t)}`));
    const strip = el("g", { class: "strip" });
    g.append(strip);
    const grad = el("text", { x: cx, y: CELL_Y + CELL_H - 10, class: "grad-label" }, "");
    g.append(grad);
    // output above
    const out = el("rect", { x: cx - 62, y: TOP, width: 124, height: 56, rx: 8, class: "out" });
    g.append(out);
    const outText = el("text", { x: cx, y: TOP + 24, class: "out-top" }, "y" + sub(t));
    const outProb = el("text", { x: cx, y: TOP + 46, class: "out-prob" }, `target “${target}”`);
    g.append(outText, outProb);
    const loss = el("text", { x: cx, y: TOP - 10, class: "loss-label" }, "");
    g.append(loss);
    // input below
    g.append(el("rect", { x: cx - 30, y: INPUT_Y - 20, width: 60, height: 40, rx: 8, class: "in" }));
    g.append(el("text", { x: cx, y: INPUT_Y + 7, class: "in-token" }, token));
    g.append(el("text", { x: cx, y: INPUT_Y + 40, class: "t-label" }, `t = ${t}`));
    svg.append(g);
    return { g, cx, strip, outText, outProb, loss, grad, recur, target };
  }

  function drawStrip(column, h) {
    const n = h.length;
    const w = Math.min(22, 96 / n);
    const x0 = column.cx - (n * w) / 2;
    column.strip.replaceChildren(
      ...Array.from(h, (v, i) =>
        el("rect", { x: x0 + i * w, y: CELL_Y + 34, width: w - 1, height: 24, fill: diverging(v), class: "unit" }),
      ),
    );
  }

  const onSequence = (frame) => {
    build(frame.tokens, frame.targets);
  };
  stream.on("hello", (frame) => {
    hidden = frame.config.hidden_size;
    onSequence(frame);
  });
  stream.on("sequence", onSequence);
  stream.on("forward", (frame) => {
    const column = columns[frame.t];
    if (!column) return;
    for (const c of columns) c.g.classList.remove("active");
    column.g.classList.remove("pending");
    column.g.classList.add("done", "active");
    drawStrip(column, frame.h);
    const best = frame.top[0];
    column.outText.textContent = `${best.token}  ${formatNumber(best.p, 2)}`;
    column.outProb.textContent = `p(“${frame.target_token}”) = ${formatNumber(frame.target_prob, 2)}`;
    column.g.classList.toggle("correct", best.token === frame.target_token);
    column.loss.textContent = `L${sub(frame.t)} = ${formatNumber(frame.loss, 2)}`;
  });
  stream.on("backward", (frame) => {
    const column = columns[frame.t];
    if (!column) return;
    for (const c of columns) c.g.classList.remove("active");
    column.g.classList.add("active", "back");
    column.grad.textContent = `‖∂L/∂h‖ ${formatNumber(frame.dh_norm, 2)}`;
    const colour = gradientColour(frame.dh_norm);
    column.grad.setAttribute("fill", colour);
    const width = Math.max(1.5, Math.min(9, 3 + Math.log10(Math.max(frame.dh_norm, 1e-12))));
    column.recur.style.stroke = colour;
    column.recur.style.strokeWidth = `${width}px`;
  });
  return { hiddenSize: () => hidden };
}

function sub(t) {
  return String(t).replace(/\d/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[d]);
}

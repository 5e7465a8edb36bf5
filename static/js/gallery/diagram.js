// A small unrolled diagram for one architecture, live on its own run: where inputs enter (below),
// where outputs and losses leave (above), and, for an encoder-decoder, where the context vector c
// passes from the encoder to the decoder. Steps light up as forward frames arrive; the recurrent
// arrows take the gradient's colour as BPTT walks back.

import { diverging, gradientColour } from "../colors.js";
import { formatNumber } from "../protocol.js";

const SVG = "http://www.w3.org/2000/svg";
const PAD = "<pad>";
const REST = "_"; // the melody's "no input at this step"
const CHAR_W = 9.2; // px per character of a 15px bold token
const MIN_COL = 44;
const PAD_COL = 24;
const GAP = 46; // between encoder and decoder: the context vector c sits there
const LEFT = 34;
const Y = { loss: 16, out: 24, outH: 38, cell: 96, cellH: 56, input: 184, inputH: 30, t: 230 };
const HEIGHT = 240;

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function shorten(token, max = 10) {
  return token.length > max ? `${token.slice(0, max - 1)}…` : token;
}

let instances = 0; // marker ids must be unique in the page: a hidden SVG's markers do not draw

export function mount(root, stream) {
  const id = `g${++instances}`;
  root.classList.add("diagram");
  const svg = el("svg", { role: "img" });
  root.append(svg);
  let steps = [];
  let encoderLen = 0;
  let context = null; // the heat grid of c between the encoder and the decoder
  let outputWidth = 0; // characters of the longest output token, so predictions fit
  let lastSource = -1; // the encoder's last real word: c = h there

  function build(frame) {
    svg.replaceChildren();
    const tokens = frame.tokens;
    const targets = frame.targets;
    encoderLen = frame.encoder_len ?? 0;
    const defs = el("defs");
    defs.innerHTML =
      `<marker id="${id}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a94a3"/></marker>` +
      `<marker id="${id}-arrow-c" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="4" markerHeight="4" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#e08214"/></marker>`;
    svg.append(defs);
    lastSource = -1;
    for (let t = 0; t < encoderLen; t++) if (tokens[t] !== PAD) lastSource = t;

    let x = LEFT;
    steps = tokens.map((token, t) => {
      const pad = token === PAD;
      // "→ target" under the prediction is two characters wider than the token itself
      const chars = Math.max(shorten(token).length, targets[t] ? Math.max(outputWidth, shorten(targets[t]).length + 2) : 0);
      const width = pad ? PAD_COL : Math.max(MIN_COL, chars * CHAR_W + 14);
      if (encoderLen && t === encoderLen) x += GAP;
      const step = { t, x, width, cx: x + width / 2, token, target: targets[t] ?? "", pad, decoder: encoderLen > 0 && t >= encoderLen };
      x += width;
      return step;
    });
    const width = x + 12;
    svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    svg.setAttribute("aria-label", `${tokens.length} steps unrolled`);
    svg.append(el("text", { x: 4, y: Y.cell + Y.cellH / 2 + 5, class: "label", "text-anchor": "start" }, "h"));
    svg.append(el("text", { x: 4, y: Y.input + 20, class: "label", "text-anchor": "start" }, "x"));
    svg.append(el("text", { x: 4, y: Y.out + 24, class: "label", "text-anchor": "start" }, "y"));
    svg.append(el("text", { x: 4, y: Y.loss - 4, class: "label loss-row", "text-anchor": "start" }, "L"));
    for (const step of steps) drawStep(step);
    if (encoderLen) drawContext();
  }

  function drawStep(step) {
    const g = el("g", { class: `step pending${step.pad ? " pad" : ""}`, "data-t": step.t });
    const inset = step.pad ? 2 : 5;
    const cellX = step.x + inset;
    const cellW = step.width - 2 * inset;
    // h_{t-1} -> h_t: the recurrence (into the first decoder step, the context arrow instead)
    const previous = steps[step.t - 1];
    let recur = null;
    if (previous && !(encoderLen && step.t === encoderLen)) {
      recur = el("line", {
        x1: previous.x + previous.width - (previous.pad ? 2 : 5), y1: Y.cell + Y.cellH / 2,
        x2: cellX - 1, y2: Y.cell + Y.cellH / 2, class: "arrow", "marker-end": `url(#${id}-arrow)`,
      });
      g.append(recur);
    }
    const cell = el("rect", { x: cellX, y: Y.cell, width: cellW, height: Y.cellH, rx: step.pad ? 4 : 9, class: `cell${step.decoder ? " decoder" : ""}` });
    g.append(cell);
    const strip = el("g", { class: "strip" });
    g.append(strip);
    // input x_t below: a token, the melody's rest (no input), or padding
    const hasInput = !step.pad && step.token !== REST;
    if (!step.pad) {
      g.append(el("line", { x1: step.cx, y1: Y.input - 2, x2: step.cx, y2: Y.cell + Y.cellH + 3, class: "arrow", "marker-end": `url(#${id}-arrow)`, opacity: hasInput ? 1 : 0.3 }));
      g.append(el("rect", { x: step.x + 4, y: Y.input, width: step.width - 8, height: Y.inputH, rx: 6, class: `input${hasInput ? "" : " none"}` }));
      g.append(el("text", { x: step.cx, y: Y.input + 20, class: "token" }, hasInput ? shorten(step.token) : "—"));
    } else {
      g.append(el("text", { x: step.cx, y: Y.input + 20, class: "small" }, "pad"));
    }
    g.append(el("text", { x: step.cx, y: Y.t, class: "small" }, step.pad ? "" : String(step.t)));
    // output y_t and loss L_t above, only where a loss counts
    let out = null;
    let outText = null;
    let loss = null;
    if (step.target) {
      g.append(el("line", { x1: step.cx, y1: Y.cell - 2, x2: step.cx, y2: Y.out + Y.outH + 3, class: "arrow", "marker-end": `url(#${id}-arrow)` }));
      out = el("rect", { x: step.x + 3, y: Y.out, width: step.width - 6, height: Y.outH, rx: 6, class: "output" });
      outText = el("text", { x: step.cx, y: Y.out + 16, class: "tag" }, "?");
      const target = el("text", { x: step.cx, y: Y.out + 32, class: "small" }, `→ ${shorten(step.target)}`);
      loss = el("text", { x: step.cx, y: Y.loss - 4, class: "loss" }, "");
      g.append(out, outText, target, loss);
    }
    const grad = el("text", { x: step.cx, y: Y.cell + Y.cellH - 6, class: "grad" }, "");
    g.append(grad);
    svg.append(g);
    Object.assign(step, { g, cell, strip, recur, out, outText, loss, grad, cellX, cellW });
  }

  function drawContext() {
    const from = steps[encoderLen - 1];
    const to = steps[encoderLen];
    if (!from || !to) return;
    const y = Y.cell + Y.cellH / 2;
    const g = el("g", { class: "context" });
    const x1 = from.x + from.width - 5;
    const x2 = to.x + 4;
    g.append(el("line", { x1, y1: y, x2, y2: y, class: "arrow context", "marker-end": `url(#${id}-arrow-c)` }));
    const box = { x: from.x + from.width + 9, y: Y.cell - 4, width: GAP - 18, height: Y.cellH + 8 };
    g.append(el("rect", { ...box, rx: 4, class: "context-box" }));
    g.append(el("text", { x: box.x + box.width / 2, y: box.y - 6, class: "context-label" }, "c"));
    // The encoder has no outputs: its half of the output row names it.
    const encoderMid = (steps[0].x + from.x + from.width) / 2;
    g.append(el("text", { x: encoderMid, y: Y.out + 16, class: "phase", fill: "#2166ac" }, "encoder: no outputs,"));
    g.append(el("text", { x: encoderMid, y: Y.out + 34, class: "phase", fill: "#2166ac" }, "only c passes on"));
    context = el("g", { class: "strip" });
    g.append(context);
    svg.append(g);
  }

  function drawStrip(group, h, x, y, width, height) {
    const n = h.length;
    if (!n) return;
    const perRow = Math.min(n, 16);
    const rows = Math.ceil(n / perRow);
    const w = width / perRow;
    const hh = height / rows;
    group.replaceChildren(
      ...Array.from(h, (v, i) =>
        el("rect", { x: x + (i % perRow) * w, y: y + Math.floor(i / perRow) * hh, width: Math.max(w - 0.4, 0.6), height: Math.max(hh - 0.4, 0.6), fill: diverging(v) }),
      ),
    );
  }

  // c as a column of units, 16 to a column: it is what the decoder starts from.
  function drawColumn(group, h, x, y, width, height) {
    const n = h.length;
    const perColumn = Math.min(n, 16);
    const columns = Math.ceil(n / perColumn);
    const w = width / columns;
    const hh = height / perColumn;
    group.replaceChildren(
      ...Array.from(h, (v, i) =>
        el("rect", { x: x + Math.floor(i / perColumn) * w, y: y + (i % perColumn) * hh, width: Math.max(w - 0.5, 0.6), height: Math.max(hh - 0.5, 0.6), fill: diverging(v) }),
      ),
    );
  }

  const onSequence = (frame) => build(frame);
  stream.on("hello", (frame) => {
    outputWidth = Math.max(0, ...frame.vocab.map((token) => shorten(token).length));
    build(frame);
  });
  stream.on("sequence", onSequence);
  const forward = (frame) => {
    const step = steps[frame.t];
    if (!step) return;
    for (const s of steps) s.g.classList.remove("active");
    step.g.classList.remove("pending");
    step.g.classList.add("done", "active");
    drawStrip(step.strip, frame.h, step.cellX + 4, Y.cell + 8, step.cellW - 8, 22);
    if (frame.t === lastSource && context) {
      const from = steps[encoderLen - 1];
      drawColumn(context, frame.h, from.x + from.width + 11, Y.cell - 2, GAP - 22, Y.cellH + 4);
    }
    if (step.out) {
      const best = frame.top?.[0];
      step.outText.textContent = best ? shorten(best.token) : "?";
      const right = best && best.token === frame.target_token;
      step.out.classList.toggle("right", Boolean(right));
      step.out.classList.toggle("wrong", Boolean(best) && !right);
      step.loss.textContent = formatNumber(frame.loss, 2);
    }
  };
  const backward = (frame) => {
    const step = steps[frame.t];
    if (!step) return;
    for (const s of steps) s.g.classList.remove("active");
    step.g.classList.add("active");
    const colour = gradientColour(frame.dh_norm);
    step.grad.textContent = step.pad ? "" : `∂ ${formatNumber(frame.dh_norm, 2)}`;
    step.grad.setAttribute("fill", colour);
    if (step.recur) {
      step.recur.style.stroke = colour;
      step.recur.style.strokeWidth = `${Math.max(1.5, Math.min(6, 3 + Math.log10(Math.max(frame.dh_norm, 1e-12))))}px`;
    }
  };
  stream.on("forward", forward);
  stream.on("backward", backward);
  // While and after training: the latest sequence run whole at the current weights.
  stream.on("replay", (replay) => {
    build(replay.sequence);
    replay.forward.forEach(forward);
    replay.backward.forEach(backward);
    for (const s of steps) s.g.classList.remove("active");
  });
}

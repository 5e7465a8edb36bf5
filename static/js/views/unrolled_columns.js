// One time step of the unrolled network: its column (input x_t below, the cell with h_t as a heat
// strip, the output y_t and its loss above, the recurrence from the step before), built once per
// sequence shape and redrawn from the step's forward and backward frames. Backward arrows take
// their width and colour from log ||dL/dh_t||.

import { diverging, gradientBand, gradientWidth } from "../colors.js";
import { formatNumber, formatValues, isNonFinite, subscript } from "../format.js";
import { el } from "../svg.js";
import { BAND_COLOUR, ROW } from "./unrolled_layout.js";

export function quote(token) {
  return token === " " ? "␣" : token === "\n" ? "⏎" : token;
}

function shortToken(token, width) {
  const text = quote(token);
  const room = Math.max(2, Math.floor(width / 6.8)); // characters at fitText's smallest size
  return text.length > room ? `${text.slice(0, room - 1)}…` : text;
}

function fitText(token, width) {
  const length = Math.max(1, quote(token).length);
  return Math.max(11, Math.min(20, Math.floor((width / length) * 1.7)));
}

// The target of step t before it is computed: its token, or its real values.
function targetText(opening, t) {
  const values = opening.target_values?.[t];
  return values ? formatValues(values) : opening.targets[t] ?? "";
}

export function buildColumn(g, opening, t, prefix) {
  const encoderLen = opening.encoder_len ?? 0;
  const cx = g.x0 + t * g.col + g.col / 2;
  const mid = ROW.cell + ROW.cellH / 2;
  const group = el("g", { class: "step pending", "data-t": t });
  if (encoderLen > 0) group.classList.add(t < encoderLen ? "encoder" : "decoder");
  group.append(el("rect", { x: cx - g.col / 2, y: ROW.out - 14, width: g.col, height: ROW.t - ROW.out + 20, class: "hit" }));
  const sameNet = t > 0 && !(encoderLen > 0 && t === encoderLen);
  const left = cx - g.col + g.cellW / 2;
  const right = cx - g.cellW / 2;
  if (t > 0) {
    // h_{t-1} -> h_t, the recurrence (the encoder hands its last state to the decoder).
    group.append(el("line", {
      x1: left + 2, y1: mid - 9, x2: right - 3, y2: mid - 9,
      class: `arrow w-hh${sameNet ? "" : " handover"}`, "marker-end": `url(#${prefix}-fwd)`,
    }));
  }
  const gradIn = el("line", { x1: cx + g.cellW / 2 + g.col - g.cellW - 3, y1: mid + 11, x2: cx + g.cellW / 2 + 3, y2: mid + 11, class: "grad" });
  if (t + 1 < g.T) group.append(gradIn);
  group.append(el("line", { x1: cx, y1: ROW.input - 3, x2: cx, y2: ROW.cell + ROW.cellH + 4, class: "arrow w-xh", "marker-end": `url(#${prefix}-fwd)` }));
  const upX = g.mode === "compact" ? cx : cx - 7;
  group.append(el("line", { x1: upX, y1: ROW.cell - 3, x2: upX, y2: ROW.out + ROW.outH + 4, class: "arrow w-hy", "marker-end": `url(#${prefix}-fwd)` }));
  const gradOut = el("line", { x1: cx + 7, y1: ROW.out + ROW.outH + 3, x2: cx + 7, y2: ROW.cell - 4, class: "grad" });
  if (g.mode !== "compact") group.append(gradOut);
  const cell = el("rect", { x: cx - g.cellW / 2, y: ROW.cell, width: g.cellW, height: ROW.cellH, rx: g.mode === "compact" ? 6 : 12, class: "cell" });
  group.append(cell);
  if (g.mode !== "compact") group.append(el("text", { x: cx, y: ROW.cell + 20, class: "cell-label" }, `h${subscript(t)}`));
  const strip = el("g", { class: "strip" });
  group.append(strip);
  const gradLabel = el("text", { x: cx, y: ROW.cell + ROW.cellH - 9, class: "grad-label" }, "");
  if (g.mode !== "compact") group.append(gradLabel);
  // Output above, its loss over it.
  group.append(el("rect", { x: cx - g.outW / 2, y: ROW.out, width: g.outW, height: ROW.outH, rx: 8, class: "out" }));
  const outTop = el("text", { x: cx, y: ROW.out + (g.mode === "full" ? 22 : 31), class: "out-top" }, g.mode === "compact" ? "" : `y${subscript(t)}`);
  const outSub = el("text", { x: cx, y: ROW.out + 42, class: "out-sub" }, "");
  group.append(outTop, outSub);
  const loss = el("text", { x: cx, y: ROW.loss - 6, class: "loss-label" }, "");
  group.append(loss);
  // Input below, the time step under it.
  group.append(el("rect", { x: cx - g.inW / 2, y: ROW.input, width: g.inW, height: ROW.inH, rx: 8, class: "in" }));
  const input = el("text", { x: cx, y: ROW.input + 26, class: "in-token" });
  group.append(input);
  const everyOther = g.col < 60 ? 5 : 1;
  if (t % everyOther === 0 || t === g.T - 1) {
    group.append(el("text", { x: cx, y: ROW.t, class: "t-label" }, g.mode === "compact" ? `${t}` : `t = ${t}`));
  }
  const column = { group, cx, strip, gradIn, gradOut, gradLabel, outTop, outSub, loss, cell, input };
  labelInput(column, g, opening, t);
  return column;
}

// x_t under its cell: a token, or real values (fewer digits when narrow). Redone for each new
// sequence; the rest of the column is kept.
export function labelInput(column, g, opening, t) {
  const values = opening.input_values?.[t];
  let shown = opening.tokens[t] ?? "";
  let title = shown;
  if (values) {
    const digits = g.mode === "compact" || (values.length > 1 && g.mode !== "full") ? 1 : 2;
    shown = formatValues(values, digits, " ");
    title = formatValues(values);
  }
  column.input.style.fontSize = `${fitText(shown, g.inW - 8)}px`;
  column.input.textContent = shortToken(shown, g.inW);
  column.input.append(el("title", {}, `x${subscript(t)} = ${title}`));
  column.target = targetText(opening, t);
}

function drawStrip(column, g, h) {
  column.strip.style.display = "";
  const compact = g.mode === "compact";
  const w = g.cellW - (compact ? 6 : 14);
  const top = ROW.cell + (compact ? 5 : 28);
  const height = ROW.cellH - (compact ? 10 : 44);
  const n = h.length;
  const cols = Math.max(1, Math.min(n, Math.round(Math.sqrt((n * w) / height))));
  const rows = Math.ceil(n / cols);
  const unit = Math.min(w / cols, height / rows, 24);
  const x0 = column.cx - (cols * unit) / 2;
  const y0 = top + (height - rows * unit) / 2;
  if (column.strip.children.length !== n) {
    const size = Math.max(unit - (unit > 6 ? 1 : 0.3), 0.8);
    column.strip.replaceChildren(
      ...Array.from({ length: n }, (_, i) => el("rect", {
        x: x0 + (i % cols) * unit, y: y0 + Math.floor(i / cols) * unit, width: size, height: size, class: "unit",
      })),
    );
  }
  for (let i = 0; i < n; i++) {
    const rect = column.strip.children[i];
    rect.setAttribute("fill", diverging(h[i]));
    rect.classList.toggle("saturated", Math.abs(h[i]) > 0.95);
  }
}

function drawGradient(line, norm, hidden, prefix) {
  if (hidden) {
    line.classList.remove("on");
    return;
  }
  const band = gradientBand(norm);
  line.classList.add("on");
  line.setAttribute("stroke", BAND_COLOUR[band]);
  line.setAttribute("stroke-width", gradientWidth(norm).toFixed(1));
  line.setAttribute("marker-end", `url(#${prefix}-${band})`);
  line.dataset.band = band;
}

// y_t and L_t of a computed step: the most probable token (right or wrong), or the prediction.
function drawOutput(column, g, f, t) {
  const compact = g.mode === "compact";
  const full = g.mode === "full";
  const best = f.top[0];
  if (best) {
    column.outTop.textContent = compact ? quote(best.token) : `${quote(best.token)} ${formatNumber(best.p, 2)}`;
    column.outTop.style.fontSize = `${Math.min(16, fitText(column.outTop.textContent, g.outW - 8))}px`;
    if (full) column.outSub.textContent = f.counted ? `target ${quote(f.target_token)} ${best.token === f.target_token ? "✓" : "✗"}` : "no target";
  } else if (f.y.length) {
    column.outTop.textContent = compact ? formatNumber(f.y[0], 1) : `ŷ ${formatNumber(f.y[0], 2)}`;
    if (full) column.outSub.textContent = f.target_value ? `y ${formatNumber(f.target_value[0], 2)}` : "no target";
  } else {
    column.outTop.textContent = compact ? "·" : "reads";
    if (full) column.outSub.textContent = "no output";
  }
  column.group.classList.toggle("correct", Boolean(best) && f.counted && best.token === f.target_token);
  column.group.classList.toggle("wrong", Boolean(best) && f.counted && best.token !== f.target_token);
  column.group.classList.toggle("uncounted", !f.counted);
  column.loss.textContent = f.counted ? (compact ? formatNumber(f.loss, 1) : `L${subscript(t)} = ${formatNumber(f.loss, 2)}`) : "";
  column.loss.classList.toggle("nonfinite-text", isNonFinite(f.loss));
}

function drawPending(column, g, t) {
  column.strip.style.display = "none";
  column.outTop.textContent = g.mode === "compact" ? "" : `y${subscript(t)}`;
  column.outSub.textContent = g.mode === "full" && column.target ? `target ${quote(column.target)}` : "";
  column.loss.textContent = "";
  for (const name of ["correct", "wrong", "uncounted"]) column.group.classList.remove(name);
}

// Redraw step t from its frames: f (forward) and b (backward), either possibly missing.
export function drawColumn(column, g, t, { f, b, active, selected, prefix }) {
  column.group.classList.toggle("pending", !f);
  column.group.classList.toggle("done", Boolean(f));
  column.group.classList.toggle("back", Boolean(b));
  column.group.classList.toggle("active", active);
  column.group.classList.toggle("selected", selected);
  if (f) {
    drawStrip(column, g, f.h);
    drawOutput(column, g, f, t);
  } else {
    drawPending(column, g, t);
  }
  drawGradient(column.gradIn, b?.dh_norm, !b, prefix);
  const own = b?.flow_row.length ? b.flow_row[b.flow_row.length - 1] : undefined; // ‖∂L_t/∂h_t‖
  drawGradient(column.gradOut, own, !b || !f?.counted || own === undefined, prefix);
  column.gradLabel.textContent = b ? `${g.mode === "full" ? "‖∂L/∂h‖ " : ""}${formatNumber(b.dh_norm, 2)}` : "";
  column.gradLabel.setAttribute("fill", b ? BAND_COLOUR[gradientBand(b.dh_norm)] : "none");
  const band = b ? gradientBand(b.dh_norm) : "neutral";
  column.cell.style.stroke = band === "neutral" ? "" : BAND_COLOUR[band];
}

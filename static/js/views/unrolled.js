// The unrolled network: one cell per time step, input below, output above, the same weights at
// every step. Forward steps light the cells up left to right, each with its h_t as a heat strip;
// backward steps send the gradient right to left along the same arrows, its width and colour
// from log ||dL/dh_t|| (purple: vanishing, grey: healthy, orange: exploding, black: inf/NaN).
// Clicking a cell selects it (a "select" event on the stream) so its numbers can be shown.

import { PALETTE, diverging, gradientBand, gradientWidth } from "../colors.js";
import { batched } from "../frame_batcher.js";
import { formatNumber, isNonFinite, subscript } from "../format.js";
import { el, saveSvgAsPng } from "../svg.js";

const MAX_COL = 172;
const MIN_COL = 46;
const MARGIN = 24;
// Rows, top to bottom (px in the drawing's own units).
const ROW = { legend: 18, loss: 46, out: 54, outH: 52, cell: 146, cellH: 90, input: 270, inH: 40, t: 328, height: 338 };
const BANDS = ["vanishing", "neutral", "exploding", "nonfinite"];
const BAND_COLOUR = {
  vanishing: PALETTE.vanishing,
  neutral: PALETTE.neutral,
  exploding: PALETTE.exploding,
  nonfinite: PALETTE.nonFinite,
};

let mounted = 0;

export function mount(root, stream) {
  const prefix = `u${mounted++}`;
  root.classList.add("unrolled");
  const scroller = document.createElement("div");
  scroller.className = "unrolled-scroll";
  const svg = el("svg", { role: "img", "aria-label": "the network unrolled through time" });
  scroller.append(svg);
  const save = Object.assign(document.createElement("button"), {
    className: "corner-button",
    textContent: "PNG",
    title: "save the unrolled network as a PNG",
  });
  save.addEventListener("click", () => saveSvgAsPng(svg, "unroll-network.png"));
  const legend = document.createElement("p");
  legend.className = "gradient-legend";
  legend.innerHTML = "gradient flowing back, ‖∂L/∂h<sub>t</sub>‖: " +
    '<span class="gkey vanishing"></span> vanishing (&lt; 10⁻³) ' +
    '<span class="gkey neutral"></span> healthy ' +
    '<span class="gkey exploding"></span> exploding (&gt; 10) ' +
    '<span class="gkey nonfinite"></span> ∞ / NaN &nbsp;·&nbsp; thicker = larger';
  const note = Object.assign(document.createElement("p"), { className: "unrolled-note" });
  note.setAttribute("aria-live", "polite");
  root.append(scroller, legend, save, note);

  let opening = null; // hello or sequence frame: tokens, targets, encoder_len
  let forwards = [];
  let backwards = [];
  let update = null;
  let columns = [];
  let active = null; // { t, kind }
  let selected = null;
  let geometry = null;
  let dirtyColumns = new Set();
  let rebuild = true;

  const defs = () => {
    const d = el("defs");
    const marker = (id, colour) => {
      const m = el("marker", {
        id: `${prefix}-${id}`, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 9, markerHeight: 9,
        markerUnits: "userSpaceOnUse", orient: "auto-start-reverse",
      });
      m.append(el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }));
      d.append(m);
    };
    marker("fwd", "#7d8794");
    for (const band of BANDS) marker(band, BAND_COLOUR[band]);
    return d;
  };

  function layoutFor(T) {
    // Short sequences are drawn larger, up to what the width allows and about half the
    // window's height (presenter mode: a bit more); long ones at 1:1, scrolling sideways.
    const width0 = scroller.clientWidth || root.clientWidth || 900;
    const natural = 2 * MARGIN + Math.max(T, 1) * MAX_COL;
    const tallest = (document.body.classList.contains("presenter") ? 0.6 : 0.5) * window.innerHeight;
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

  function build() {
    rebuild = false;
    svg.replaceChildren(defs());
    columns = [];
    if (!opening) return;
    const T = opening.tokens.length;
    geometry = layoutFor(T);
    const g = geometry;
    const height = ROW.height + ((opening.encoder_len ?? 0) > 0 ? 18 : 0);
    svg.setAttribute("viewBox", `0 0 ${g.width} ${height}`);
    svg.style.width = `${Math.round(g.width * g.scale)}px`;
    svg.style.height = `${Math.round(height * g.scale)}px`;
    svg.dataset.mode = g.mode;
    const encoderLen = opening.encoder_len ?? 0;
    for (let t = 0; t < T; t++) columns.push(buildColumn(t, encoderLen));
    buildLabels(encoderLen);
    for (let t = 0; t < T; t++) dirtyColumns.add(t);
  }

  function buildLabels(encoderLen) {
    const g = geometry;
    const cx = (t) => g.x0 + t * g.col + g.col / 2;
    const starts = encoderLen > 0 ? [0, encoderLen] : [0];
    const labels = el("g", { class: "w-labels" });
    for (const start of starts) {
      if (start >= g.T) continue;
      const x = cx(start);
      const wLabel = (key, lx, ly, text, anchor = "start") => {
        const node = el("text", { x: lx, y: ly, class: `w-label w-${key} ${anchor}`, "data-weight": key }, text);
        labels.append(node);
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
    svg.append(labels);
    for (const node of labels.querySelectorAll("[data-weight]")) {
      node.addEventListener("pointerenter", () => (svg.dataset.highlight = node.dataset.weight));
      node.addEventListener("pointerleave", () => delete svg.dataset.highlight);
    }
  }

  function buildColumn(t, encoderLen) {
    const g = geometry;
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
    const target = opening.targets[t] ?? "";
    const outSub = el("text", { x: cx, y: ROW.out + 42, class: "out-sub" }, g.mode === "full" && target ? `target ${quote(target)}` : "");
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
    group.addEventListener("click", () => stream.emit("select", { t: selected === t ? null : t }));
    svg.append(group);
    const column = { group, cx, strip, gradIn, gradOut, gradLabel, outTop, outSub, loss, cell, input };
    labelInput(column, t);
    return column;
  }

  // x_t under its cell; redone for each new sequence, the rest of the drawing is kept.
  function labelInput(column, t) {
    const token = opening.tokens[t] ?? "";
    // Real-valued inputs ("0.62, 0.00"): fewer digits when narrow, no commas.
    const numbers = /^-?\d+(\.\d+)?(, -?\d+(\.\d+)?)*$/.test(token) ? token.split(", ") : null;
    const digits = geometry.mode === "compact" || (numbers && numbers.length > 1 && geometry.mode !== "full") ? 1 : 2;
    const shown = numbers ? numbers.map((v) => Number(v).toFixed(digits)).join(" ") : token;
    column.input.style.fontSize = `${fitText(shown, geometry.inW - 8)}px`;
    column.input.textContent = shortToken(shown, geometry.inW);
    column.input.append(el("title", {}, `x${subscript(t)} = ${token}`));
  }

  function drawStrip(column, h) {
    column.strip.style.display = "";
    const g = geometry;
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
    const existing = column.strip.children;
    if (existing.length !== n) {
      column.strip.replaceChildren(
        ...Array.from({ length: n }, (_, i) => el("rect", {
          x: x0 + (i % cols) * unit, y: y0 + Math.floor(i / cols) * unit,
          width: Math.max(unit - (unit > 6 ? 1 : 0.3), 0.8), height: Math.max(unit - (unit > 6 ? 1 : 0.3), 0.8), class: "unit",
        })),
      );
    }
    for (let i = 0; i < n; i++) {
      const v = h[i];
      const rect = column.strip.children[i];
      rect.setAttribute("fill", diverging(v));
      rect.classList.toggle("saturated", Math.abs(v) > 0.95);
    }
  }

  function drawGradient(line, norm, hidden) {
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

  function drawColumn(t) {
    const column = columns[t];
    if (!column) return;
    const f = forwards[t];
    const b = backwards[t];
    const compact = geometry.mode === "compact";
    const full = geometry.mode === "full";
    column.group.classList.toggle("pending", !f);
    column.group.classList.toggle("done", Boolean(f));
    column.group.classList.toggle("back", Boolean(b));
    column.group.classList.toggle("active", active?.t === t);
    column.group.classList.toggle("selected", selected === t);
    if (f) {
      drawStrip(column, f.h);
      const best = f.top[0];
      if (best) {
        column.outTop.textContent = compact ? quote(best.token) : `${quote(best.token)} ${formatNumber(best.p, 2)}`;
        column.outTop.style.fontSize = `${Math.min(16, fitText(column.outTop.textContent, geometry.outW - 8))}px`;
        if (full && f.counted) {
          const right = best.token === f.target_token;
          column.outSub.textContent = `target ${quote(f.target_token)} ${right ? "✓" : "✗"}`;
        } else if (full) {
          column.outSub.textContent = "no target";
        }
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
    } else {
      column.strip.style.display = "none";
      column.outTop.textContent = compact ? "" : `y${subscript(t)}`;
      column.outSub.textContent = full && opening.targets[t] ? `target ${quote(opening.targets[t])}` : "";
      column.loss.textContent = "";
      for (const name of ["correct", "wrong", "uncounted"]) column.group.classList.remove(name);
    }
    drawGradient(column.gradIn, b?.dh_norm, !b);
    const own = b?.flow_row.length ? b.flow_row[b.flow_row.length - 1] : undefined; // ‖∂L_t/∂h_t‖
    drawGradient(column.gradOut, own, !b || !f?.counted || own === undefined);
    column.gradLabel.textContent = b ? `${full ? "‖∂L/∂h‖ " : ""}${formatNumber(b.dh_norm, 2)}` : "";
    column.gradLabel.setAttribute("fill", b ? BAND_COLOUR[gradientBand(b.dh_norm)] : "none");
    const band = b ? gradientBand(b.dh_norm) : "neutral";
    column.cell.style.stroke = band === "neutral" ? "" : BAND_COLOUR[band];
  }

  function reveal(t) {
    const column = columns[t];
    if (!column || scroller.scrollWidth <= scroller.clientWidth) return;
    const x = column.cx * geometry.scale;
    if (x < scroller.scrollLeft + 60 || x > scroller.scrollLeft + scroller.clientWidth - 60) {
      scroller.scrollLeft = x - scroller.clientWidth / 2;
    }
  }

  const render = batched(() => {
    if (rebuild) build();
    for (const t of dirtyColumns) drawColumn(t);
    dirtyColumns = new Set();
    note.textContent = update
      ? `weights updated: ‖gradient‖ = ${formatNumber(update.norm_before_clip, 2)}${update.clipped ? ", clipped" : ""}${update.finite ? "" : ", NOT applied (inf/NaN)"}`
      : "";
    note.classList.toggle("nonfinite", Boolean(update) && !update.finite);
    if (active) reveal(active.t);
  }, { name: "unrolled" });

  const setActive = (next) => {
    if (active) dirtyColumns.add(active.t);
    active = next;
    if (active) dirtyColumns.add(active.t);
  };

  const start = (frame) => {
    const same = opening && geometry && !rebuild && frame.tokens.length === columns.length &&
      (frame.encoder_len ?? 0) === (opening.encoder_len ?? 0);
    opening = frame;
    forwards = [];
    backwards = [];
    update = null;
    active = null;
    if (same) {
      // A new sequence of the same shape: relabel the inputs, keep the drawing (thousands of
      // elements at T=50, H=64).
      columns.forEach((column, t) => {
        labelInput(column, t);
        dirtyColumns.add(t);
      });
    } else {
      rebuild = true;
    }
    render();
  };
  stream.on("hello", start);
  stream.on("sequence", start);
  stream.on("forward", (frame) => {
    forwards[frame.t] = frame;
    setActive({ t: frame.t, kind: "forward" });
    dirtyColumns.add(frame.t);
    render();
  });
  stream.on("backward", (frame) => {
    backwards[frame.t] = frame;
    setActive({ t: frame.t, kind: "backward" });
    dirtyColumns.add(frame.t);
    render();
  });
  stream.on("update", (frame) => {
    update = frame;
    setActive(null);
    render();
  });
  stream.on("select", ({ t }) => {
    if (selected !== null) dirtyColumns.add(selected);
    selected = t;
    if (t !== null) dirtyColumns.add(t);
    render();
  });

  let width = 0;
  new ResizeObserver(() => {
    const now = scroller.clientWidth;
    if (Math.abs(now - width) < 8) return;
    width = now;
    rebuild = true;
    render();
  }).observe(scroller);
}

function quote(token) {
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

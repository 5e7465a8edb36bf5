// The unrolled network: one cell per time step, input below, output above, the same weights at
// every step. Forward steps light the cells up left to right, each with its h_t as a heat strip;
// backward steps send the gradient right to left along the same arrows, its width and colour
// from log ||dL/dh_t|| (purple: vanishing, grey: healthy, orange: exploding, black: inf/NaN).
// Clicking a cell selects it (the page state's "selected") so its numbers can be shown.

import { batched } from "../frame_batcher.js";
import { formatNumber } from "../format.js";
import { state } from "../page_state.js";
import { el, saveSvgAsPng } from "../svg.js";
import { buildColumn, drawColumn, labelInput } from "./unrolled_columns.js";
import { ROW, arrowDefs, layoutFor, weightLabels } from "./unrolled_layout.js";

let mounted = 0;

function chrome(root) {
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
  return { scroller, svg, note };
}

export function mount(root, stream) {
  const prefix = `u${mounted++}`;
  const { scroller, svg, note } = chrome(root);
  let opening = null; // hello or sequence frame: tokens or input values, targets, encoder_len
  let forwards = [];
  let backwards = [];
  let update = null;
  let columns = [];
  let active = null; // the step just computed
  let geometry = null;
  let dirtyColumns = new Set();
  let rebuild = true;

  function build() {
    rebuild = false;
    svg.replaceChildren(arrowDefs(prefix));
    columns = [];
    if (!opening) return;
    const T = opening.tokens.length;
    const width = scroller.clientWidth || root.clientWidth || 900;
    const tallest = (document.body.classList.contains("presenter") ? 0.6 : 0.5) * window.innerHeight;
    const g = (geometry = layoutFor(T, width, tallest));
    const encoderLen = opening.encoder_len ?? 0;
    const height = ROW.height + (encoderLen > 0 ? 18 : 0);
    svg.setAttribute("viewBox", `0 0 ${g.width} ${height}`);
    svg.style.width = `${Math.round(g.width * g.scale)}px`;
    svg.style.height = `${Math.round(height * g.scale)}px`;
    svg.dataset.mode = g.mode;
    for (let t = 0; t < T; t++) {
      const column = buildColumn(g, opening, t, prefix);
      column.group.addEventListener("click", () => state.set({ selected: state.get("selected") === t ? null : t }));
      svg.append(column.group);
      columns.push(column);
      dirtyColumns.add(t);
    }
    svg.append(weightLabels(svg, g, encoderLen));
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
    const selected = state.get("selected");
    for (const t of dirtyColumns) {
      if (!columns[t]) continue;
      drawColumn(columns[t], geometry, t, {
        f: forwards[t], b: backwards[t], active: active === t, selected: selected === t, prefix,
      });
    }
    dirtyColumns = new Set();
    note.textContent = update
      ? `weights updated: ‖gradient‖ = ${formatNumber(update.norm_before_clip, 2)}${update.clipped ? ", clipped" : ""}${update.finite ? "" : ", NOT applied (inf/NaN)"}`
      : "";
    note.classList.toggle("nonfinite", Boolean(update) && !update.finite);
    if (active !== null) reveal(active);
  }, { name: "unrolled" });

  const setActive = (t) => {
    if (active !== null) dirtyColumns.add(active);
    active = t;
    if (active !== null) dirtyColumns.add(active);
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
        labelInput(column, geometry, opening, t);
        dirtyColumns.add(t);
      });
    } else {
      rebuild = true;
    }
    render();
  };
  stream.on("hello", (frame) => {
    start(frame);
    state.set({ selected: null }); // a new run: nothing of the old one is open
  });
  stream.on("sequence", start);
  for (const kind of ["forward", "backward"]) {
    stream.on(kind, (frame) => {
      (kind === "forward" ? forwards : backwards)[frame.t] = frame;
      setActive(frame.t);
      dirtyColumns.add(frame.t);
      render();
    });
  }
  stream.on("update", (frame) => {
    update = frame;
    setActive(null);
    render();
  });
  let shownSelected = null;
  state.watch("selected", ({ selected }) => {
    if (shownSelected !== null) dirtyColumns.add(shownSelected);
    shownSelected = selected;
    if (selected !== null) dirtyColumns.add(selected);
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

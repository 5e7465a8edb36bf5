// The output y_t of one step (the latest, or the cell clicked): the softmax's most probable
// tokens as bars, the target marked in orange and in words; for a regression task, the
// predictions so far against the truth.

import { PALETTE } from "../colors.js";
import { batched } from "../frame_batcher.js";
import { formatNumber, inputText } from "../format.js";
import { state } from "../page_state.js";
import { draw, finiteOrNull, legendElement } from "../plot.js";

const quote = (token) => `“${token === " " ? "␣" : token === "\n" ? "⏎" : token}”`;

export function mount(root, stream) {
  const caption = document.createElement("p");
  caption.className = "caption";
  const bars = document.createElement("ol");
  bars.className = "prob-bars";
  const plot = document.createElement("div");
  plot.className = "plot";
  plot.hidden = true;
  const legend = legendElement([
    { label: "truth y", colour: PALETTE.target, mark: "diamond" },
    { label: "prediction ŷ", colour: PALETTE.model, mark: "dash" },
  ]);
  legend.hidden = true;
  root.append(caption, bars, legend, plot);
  let forwards = [];
  let latest = null;
  let selected = null;
  let regression = false;

  const row = (token, p, { target = false, best = false } = {}) => {
    const item = document.createElement("li");
    item.className = `${target ? "target" : ""}${best ? " best" : ""}`;
    const label = Object.assign(document.createElement("span"), { className: "token", textContent: quote(token) });
    const track = Object.assign(document.createElement("span"), { className: "track" });
    const fill = Object.assign(document.createElement("span"), { className: "fill" });
    fill.style.width = `${Number.isFinite(p) ? Math.max(0, Math.min(1, p)) * 100 : 100}%`;
    if (!Number.isFinite(p)) fill.classList.add("nonfinite");
    track.append(fill);
    const value = Object.assign(document.createElement("span"), { className: "value", textContent: formatNumber(p, 3) });
    const tag = Object.assign(document.createElement("span"), { className: "tag", textContent: target ? "← target" : "" });
    item.append(label, track, value, tag);
    return item;
  };

  const renderBars = batched(() => {
    const shown = selected !== null ? forwards[selected] : latest;
    if (!shown) {
      caption.textContent = selected !== null ? `t = ${selected} is not computed yet` : "Step forward to see y_t, the network's guess for the next token.";
      bars.replaceChildren();
      return;
    }
    const items = shown.top.map((p, i) => row(p.token, p.p, { target: shown.counted && p.token === shown.target_token, best: i === 0 }));
    const targetShown = shown.top.some((p) => p.token === shown.target_token);
    if (shown.counted && !targetShown && shown.target_prob !== null) {
      items.push(row(shown.target_token, shown.target_prob, { target: true }));
    }
    bars.replaceChildren(...items);
    const where = `t = ${shown.t}, input ${quote(inputText(shown))}`;
    caption.textContent = shown.counted
      ? `${where}: p(target) = ${formatNumber(shown.target_prob, 3)}, so L_${shown.t} = −log p = ${formatNumber(shown.loss, 3)}`
      : `${where}: no target at this step${shown.top.length ? "" : " (it only reads)"}`;
  });

  const renderLines = batched(() => {
    const x = forwards.map((_, t) => t);
    const truth = forwards.map((f) => (f?.counted && f.target_value ? finiteOrNull(f.target_value[0]) : null));
    const guess = forwards.map((f) => (f?.y.length ? finiteOrNull(f.y[0]) : null));
    draw(
      plot,
      [
        { type: "scatter", mode: "lines+markers", name: "truth y", x, y: truth, line: { color: PALETTE.target, width: 3 }, marker: { symbol: "diamond", size: 9 } },
        { type: "scatter", mode: "lines+markers", name: "prediction ŷ", x, y: guess, line: { color: PALETTE.model, width: 3, dash: "dot" }, marker: { size: 8 } },
      ],
      {
        margin: { l: 44, r: 8, t: 8, b: 40 },
        xaxis: { title: { text: "time step t" }, range: [-0.5, Math.max(forwards.length, opening.seq_len ?? 1) - 0.5] },
        yaxis: { title: { text: "value" } },
      },
    );
    const f = selected !== null ? forwards[selected] : latest;
    caption.textContent = f
      ? `t = ${f.t}: ŷ = ${formatNumber(f.y[0], 3)}${f.counted && f.target_value ? `, truth ${formatNumber(f.target_value[0], 3)}, L = ${formatNumber(f.loss, 3)}` : " (not scored here)"}`
      : "Step forward to see the predictions ŷ_t against the truth.";
  }, { heavy: true, minIntervalMs: 100, name: "regression lines", element: plot });

  let opening = {};
  const render = () => (regression ? renderLines() : renderBars());

  const start = (frame) => {
    opening = frame;
    forwards = [];
    latest = null;
    render();
  };
  stream.on("hello", (frame) => {
    regression = frame.vocab.length === 0;
    plot.hidden = !regression;
    legend.hidden = !regression;
    bars.hidden = regression;
    start(frame);
  });
  stream.on("sequence", start);
  stream.on("forward", (frame) => {
    forwards[frame.t] = frame;
    latest = frame;
    render();
  });
  state.watch("selected", (values) => {
    selected = values.selected;
    render();
  });
}

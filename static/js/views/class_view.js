// The class, back at the front (teacher only): one row per student's fork (what they changed,
// their loss, what their gradients did) with "Show everyone" (spotlight), a scatter of spectral
// radius against loss for the whole class, and the class's results as a CSV file. Fed by `class`
// frames (at most about two a second) and `room_state` (whose run is on every screen).

import { EXPLODING_TEXT, PALETTE, VANISHING_TEXT } from "../colors.js";
import { formatNumber } from "../format.js";
import { draw, emptyNote, lossAxis } from "../plot.js";
import { optionLabel } from "../run_config.js";
import { download } from "../svg.js";

const VERDICTS = {
  healthy: { text: "healthy", colour: PALETTE.neutral },
  vanishing: { text: "vanishing", colour: VANISHING_TEXT },
  exploding: { text: "exploding", colour: EXPLODING_TEXT },
  non_finite: { text: "inf / NaN", colour: PALETTE.nonFinite },
  unknown: { text: "not yet", colour: "#5b6573" },
};
const FIELD_NAMES = {
  spectral_radius: "ρ", clip_mode: "clipping", clip_threshold: "threshold", learning_rate: "learning rate",
  hidden_size: "hidden size", seq_len: "length", init: "init", cell: "cell", activation: "activation",
  optimizer: "optimizer", truncation: "truncation", seed: "seed", task: "task", forget_bias: "forget bias",
};
const LABELLED = 12; // up to this many points, each carries its student's name
const COLUMNS = ["name", "changed", "model", "rho", "clipping", "lr", "iteration", "loss", "gradient", "show"];

const number = (x, digits = 3) => (x === null || x === undefined ? "–" : formatNumber(x, digits));
const model = (row) => `${optionLabel(row.cell)}${row.cell === "rnn" ? ` ${optionLabel(row.activation)}` : ""} · ${row.hidden_size}`;
const clipping = (row) => (row.clip_mode === "none" ? "off" : `${optionLabel(row.clip_mode)} at ${number(row.clip_threshold, 2)}`);
const changed = (row) => (row.changed.length ? row.changed.map((f) => FIELD_NAMES[f] ?? f).join(", ") : "nothing yet");

export function mount(root, stream) {
  const $ = (role) => root.querySelector(`[data-role=${role}]`);
  const body = $("class-table").tBodies[0];
  const plot = $("class-plot");
  const count = $("class-count");
  const message = $("class-message");
  const rows = new Map(); // fork_id -> <tr>
  let spotlight = null; // the fork_id on every screen
  let latest = [];

  const spotlightButton = (forkId) => {
    const button = Object.assign(document.createElement("button"), { type: "button", className: "show" });
    button.addEventListener("click", () => {
      message.textContent = "";
      const next = spotlight === forkId ? null : forkId;
      stream.request("spotlight", { fork_id: next }).catch((error) => {
        if (error.code !== "closed") message.textContent = error.message;
      });
    });
    return button;
  };

  const rowFor = (forkId) => {
    if (rows.has(forkId)) return rows.get(forkId);
    const tr = document.createElement("tr");
    tr.dataset.fork = forkId;
    for (const column of COLUMNS) {
      const cell = document.createElement(column === "name" ? "th" : "td");
      if (column === "name") cell.scope = "row";
      cell.dataset.col = column;
      if (column === "show") cell.append(spotlightButton(forkId));
      tr.append(cell);
    }
    rows.set(forkId, tr);
    return tr;
  };

  const fill = (tr, row) => {
    const cell = (column) => tr.querySelector(`[data-col=${column}]`);
    cell("name").textContent = row.connected ? row.name : `${row.name} (away)`;
    tr.classList.toggle("away", !row.connected);
    cell("changed").textContent = changed(row);
    cell("model").textContent = model(row);
    cell("rho").textContent = number(row.spectral_radius, 2);
    cell("clipping").textContent = clipping(row);
    cell("lr").textContent = Number.isFinite(row.learning_rate) ? String(Number(row.learning_rate.toPrecision(3))) : "–";
    cell("iteration").textContent = String(row.iteration);
    cell("loss").textContent = number(row.loss, 3);
    const verdict = VERDICTS[row.gradient] ?? VERDICTS.unknown;
    const badge = Object.assign(document.createElement("span"), { className: `badge-verdict ${row.gradient}`, textContent: verdict.text });
    badge.style.setProperty("--verdict", verdict.colour);
    cell("gradient").replaceChildren(badge);
  };

  const showButtons = () => {
    for (const [forkId, tr] of rows) {
      const button = tr.querySelector("button.show");
      const on = spotlight === forkId;
      button.textContent = on ? "Back to my run" : "Show everyone";
      button.setAttribute("aria-pressed", String(on));
      button.setAttribute("aria-label", `${on ? "Back to my run from" : "Show everyone"} ${tr.querySelector("th").textContent}'s run`);
      tr.classList.toggle("spotlit", on);
    }
  };

  const drawScatter = () => {
    const points = latest.filter((r) => Number.isFinite(r.spectral_radius));
    const finite = points.filter((r) => Number.isFinite(r.loss));
    const broken = points.filter((r) => r.loss !== null && !Number.isFinite(r.loss));
    const { yaxis, band, margin } = lossAxis(finite.map((r) => r.loss), broken.length > 0, "loss");
    const colour = (r) => (VERDICTS[r.gradient] ?? VERDICTS.unknown).colour;
    const traces = [{
      type: "scatter", mode: finite.length <= LABELLED ? "markers+text" : "markers", textposition: "top center",
      x: finite.map((r) => r.spectral_radius), y: finite.map((r) => r.loss), text: finite.map((r) => r.name), marker: { size: 12, color: finite.map(colour), line: { color: "#fff", width: 1 } },
      hovertemplate: "%{text}: ρ = %{x:.2f}, loss %{y:.3g}<extra></extra>",
    }];
    if (band) {
      traces.push({
        type: "scatter", mode: "markers", x: broken.map((r) => r.spectral_radius), y: broken.map(() => band.y),
        text: broken.map((r) => r.name), marker: { size: 12, symbol: "x", color: PALETTE.nonFinite },
        hovertemplate: "%{text}: ρ = %{x:.2f}, loss not finite<extra></extra>",
      });
    }
    const rhos = points.map((r) => r.spectral_radius);
    draw(plot, traces, {
      margin: { l: margin ?? 58, r: 12, t: 8, b: 44 },
      shapes: band ? [band.shape] : [],
      annotations: finite.length + broken.length ? [] : [emptyNote(latest.length ? "no loss yet: a fork's point appears once it trains" : "no forks yet")],
      xaxis: { title: { text: "spectral radius ρ" }, range: [0, Math.max(2, ...rhos) * 1.08] },
      yaxis,
    });
  };

  stream.on("class", (frame) => {
    latest = frame.rows;
    const seen = new Set();
    for (const row of frame.rows) {
      const tr = rowFor(row.fork_id);
      fill(tr, row);
      seen.add(row.fork_id);
      body.append(tr); // in the frame's order (appending an element moves it)
    }
    for (const [forkId, tr] of rows) {
      if (!seen.has(forkId)) {
        tr.remove();
        rows.delete(forkId);
      }
    }
    const n = frame.rows.length;
    count.textContent = n ? `${n} fork${n === 1 ? "" : "s"}` : "no forks yet";
    $("class-empty").hidden = n > 0;
    showButtons();
    drawScatter();
  });
  stream.on("room_state", (frame) => {
    spotlight = frame.spotlight?.fork_id ?? null;
    showButtons();
  });

  $("csv").addEventListener("click", async () => {
    message.textContent = "";
    try {
      const arriving = stream.next("class_csv"); // the reply frame, whether before or after the ack
      const answer = await stream.request("class_csv");
      const reply = answer.type === "class_csv" ? answer : await arriving;
      const href = URL.createObjectURL(new Blob([reply.csv], { type: "text/csv" }));
      download(href, reply.filename);
      setTimeout(() => URL.revokeObjectURL(href), 5000);
    } catch (error) {
      if (error.code !== "closed") message.textContent = error.message;
    }
  });
  drawScatter();
}

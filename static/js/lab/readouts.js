// The numbers behind the lab's two charts, one row per run, and what they mean in words.

import { batched } from "../frame_batcher.js";
import { formatNumber } from "../protocol.js";
import { times } from "./flow.js";
import { verdict } from "./verdict.js";

// Header cells are fixed HTML; every value cell is text.
const HEAD = ["run", "ρ(W<sub>hh</sub>)", "σ<sub>max</sub>", "1/γ", "mean |f′|", "bound ×(γσ<sub>max</sub>)<sup>T</sup>", "Π ‖J<sub>t</sub>‖", "measured"];

// series: [{ stream, label, colour }]; charts: { spectrum, flow } as mounted
export function readoutTable(root, series, charts) {
  const visible = series.map((_, i) => i === 0);
  const table = document.createElement("table");
  table.className = "readouts";
  const head = document.createElement("tr");
  for (const text of HEAD) {
    const th = document.createElement("th");
    th.innerHTML = text;
    head.append(th);
  }
  const body = document.createElement("tbody");
  table.append(head, body);
  const words = document.createElement("div");
  words.className = "verdicts";
  root.append(table, words);

  const render = batched(() => {
    const rows = [];
    const paragraphs = [];
    series.forEach((s, i) => {
      if (!visible[i]) return;
      const spec = charts.spectrum.frame(i);
      const flow = charts.flow.summary(i);
      const cell = s.stream.hello?.config.cell ?? "rnn";
      const tr = document.createElement("tr");
      tr.dataset.run = s.label;
      const cells = [
        s.label,
        spec ? formatNumber(spec.spectral_radius, 2) : "…",
        spec ? formatNumber(spec.largest_singular_value, 2) : "…",
        spec ? formatNumber(1 / spec.gamma, 2) : "…",
        flow ? formatNumber(flow.saturation, 2) : "…",
        flow && cell === "rnn" ? `×${times(flow.boundRatio)}` : "—",
        flow ? `×${times(flow.jacobianRatio)}` : "…",
        flow ? `×${times(flow.ratio)}` : "…",
      ];
      cells.forEach((text, j) => {
        const td = document.createElement("td");
        if (j === 0) {
          const swatch = document.createElement("span");
          swatch.className = `run-swatch run-${s.label}`;
          td.append(swatch);
        }
        td.append(text);
        if (j === cells.length - 1) td.dataset.role = "measured";
        tr.append(td);
      });
      rows.push(tr);
      const lines = verdict(flow, cell);
      if (lines.length) {
        const p = document.createElement("p");
        p.dataset.run = s.label;
        const swatch = document.createElement("span");
        swatch.className = `run-swatch run-${s.label}`;
        const text = document.createElement("span");
        text.innerHTML = lines.join(" "); // built by verdict() from numbers, never from user input
        p.append(swatch, text);
        paragraphs.push(p);
      }
    });
    body.replaceChildren(...rows);
    words.replaceChildren(...paragraphs);
  });

  series.forEach((s) => {
    s.stream.on("spectrum", render);
    s.stream.on("diagnostics", render);
    s.stream.on("hello", render);
  });
  return {
    refresh() {
      series.forEach((_, i) => {
        visible[i] = i === 0 || document.body.classList.contains("ab");
      });
      render();
    },
  };
}

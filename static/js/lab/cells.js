// The remedy, side by side: a vanilla RNN, an LSTM and a GRU on the same sequences of the adding
// problem (40 steps), each its own run. Each panel shows how much of the last loss's gradient
// reaches each earlier step, now and at the start; training shows which cell learns.

import { Emitter } from "../emitter.js";
import { batched } from "../frame_batcher.js";
import { formatNumber } from "../protocol.js";
import { optionLabel, optionsOf } from "../run_config.js";
import { mountFlow, times } from "./flow.js";
import { GRID, PLOT_CONFIG, RUN_COLOURS, baseLayout } from "./palette.js";
import { alignTo, newRun, presetConfig } from "./runs.js";

// Every cell the protocol offers, the vanilla one first, each in its run colour.
export const CELL_RUNS = optionsOf("cell").map((cell, i) => ({
  cell, label: optionLabel(cell), colour: Object.values(RUN_COLOURS)[i],
}));
export const CELL_ITERATIONS = 2000;
const BASELINE_MSE = 1 / 6; // the constant answer 1: variance of the sum of two U(0, 1)
const MEASURE_EVERY_MS = 1000;

export function mountCells(section, options = {}) {
  const cells = options.cells ?? CELL_RUNS;
  const preset = options.preset ?? "adding-gru-long";
  const grid = section.querySelector("[data-role=cells-grid]");
  const status = section.querySelector("[data-role=cells-status]");
  const trainButton = section.querySelector("[data-action=train-cells]");
  const pauseButton = section.querySelector("[data-action=pause-cells]");
  const restartButton = section.querySelector("[data-action=restart-cells]");
  const runs = cells.map(() => newRun());
  const mse = cells.map(() => []);
  const summaries = cells.map(() => null);
  let started = null;
  let training = false;
  const events = new Emitter(); // "trained": the latest held-out MSE of each cell

  // A shared log axis, so the three panels can be compared by eye.
  const yRange = () => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const chart of charts) {
      for (const which of [chart.summary(0), chart.ghost?.(0)]) {
        for (const v of which?.measured ?? []) {
          if (Number.isFinite(v) && v > 0) {
            lo = Math.min(lo, Math.log10(v));
            hi = Math.max(hi, Math.log10(v));
          }
        }
      }
    }
    return Number.isFinite(lo) ? [Math.floor(lo) - 0.3, Math.ceil(hi) + 0.3] : null;
  };

  const charts = [];
  const notes = [];
  cells.forEach((c, i) => {
    const panel = document.createElement("figure");
    panel.className = "lab-figure cell-panel";
    panel.dataset.cell = c.cell;
    const caption = document.createElement("figcaption");
    const swatch = document.createElement("span");
    swatch.className = "run-swatch";
    swatch.style.background = c.colour;
    const title = document.createElement("b");
    title.textContent = c.label;
    caption.append(swatch, title);
    const slot = document.createElement("div");
    slot.className = "chart-slot";
    const note = document.createElement("p");
    note.className = "cell-note";
    note.dataset.role = "cell-note";
    note.textContent = "…";
    panel.append(caption, slot, note);
    grid.append(panel);
    const chart = mountFlow(slot, [{ stream: runs[i], label: c.label, colour: c.colour }], {
      traces: ["measured"],
      ghosts: true,
      yRange,
      xTitle: "steps back, T − k",
    });
    chart.on("summary", ({ summary }) => {
      summaries[i] = summary;
      for (const other of charts) other.refresh();
      renderNotes();
    });
    charts.push(chart);
    notes.push(note);
  });

  const msePlot = document.createElement("div");
  msePlot.className = "lab-plot mse-plot";
  section.querySelector("[data-chart=cells-mse] .chart-slot").append(msePlot);

  const start = new Map(); // cell -> ratio at the start
  function renderNotes() {
    cells.forEach((c, i) => {
      const s = summaries[i];
      if (!s) return;
      if (!start.has(c.cell)) start.set(c.cell, s.ratio);
      const latest = mse[i].at(-1);
      const reach = `reaches h<sub>0</sub>: ×${times(s.ratio)} of ‖∂L<sub>T</sub>/∂h<sub>T</sub>‖ (at the start ×${times(start.get(c.cell))})`;
      const learnt = latest ? `<br>held-out MSE <b>${formatNumber(latest.mse, 3)}</b> at iteration ${latest.iteration}` : "";
      notes[i].innerHTML = reach + learnt; // numbers only
    });
  }

  const renderMse = batched(() => {
    let last = 100;
    for (const points of mse) if (points.length) last = Math.max(last, points.at(-1).iteration);
    const traces = cells.map((c, i) => ({
      type: "scatter", mode: "lines+markers", name: c.label,
      x: mse[i].map((p) => p.iteration), y: mse[i].map((p) => (Number.isFinite(p.mse) && p.mse > 0 ? p.mse : null)),
      line: { color: c.colour, width: 3, dash: ["solid", "dash", "dot"][i % 3] }, marker: { size: 5, color: c.colour },
      hovertemplate: `${c.label}: iteration %{x}<br>held-out MSE %{y:.4f}<extra></extra>`,
    }));
    traces.push({
      type: "scatter", mode: "lines", name: "constant answer", x: [0, last], y: [BASELINE_MSE, BASELINE_MSE],
      line: { color: "#5b6573", width: 1.5, dash: "dash" }, hoverinfo: "skip",
    });
    window.Plotly.react(msePlot, traces, baseLayout({
      showlegend: true,
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" },
      margin: { l: 64, r: 14, t: 28, b: 44 },
      xaxis: { title: { text: "iteration" }, gridcolor: GRID, fixedrange: true, range: [0, last] },
      yaxis: { title: { text: "MSE (log)" }, type: "log", dtick: 1, exponentformat: "power", gridcolor: GRID, fixedrange: true },
      uirevision: "mse",
    }), PLOT_CONFIG);
  });

  runs.forEach((run, i) => {
    run.on("hello", () => {
      mse[i] = [];
      start.delete(cells[i].cell);
      renderMse();
    });
    run.on("progress", (frame) => {
      if (frame.heldout && "mse" in frame.heldout) {
        mse[i].push({ iteration: frame.iteration, mse: frame.heldout.mse });
        renderMse();
        renderNotes();
      }
    });
  });

  const setBusy = (busy) => {
    training = busy;
    trainButton.disabled = busy;
    restartButton.disabled = busy;
    pauseButton.disabled = !busy;
  };
  const say = (text) => {
    status.textContent = text;
  };

  async function setUp() {
    say("starting the three runs…");
    await Promise.all(runs.map((run) => run.connect()));
    await Promise.all(
      runs.map(async (run, i) => {
        const config = await presetConfig(preset, { cell: cells[i].cell, ...options.overrides });
        return run.request("configure", { config });
      }),
    );
    // Same sequences for all three: the gated cells take the vanilla run's data.
    await Promise.all(runs.slice(1).map((run) => alignTo(run, runs[0])));
    await Promise.all(runs.map((run) => run.request("diagnose")));
    say("");
  }

  function ensureStarted() {
    started ??= setUp().catch((error) => say(error.message));
    return started;
  }

  async function train() {
    await ensureStarted();
    if (training) return;
    setBusy(true);
    const iterations = options.iterations ?? CELL_ITERATIONS;
    say(`training ${iterations} iterations each…`);
    const done = runs.map((run) => run.next("sequence")); // a training job ends with the next sequence
    const timer = setInterval(() => {
      for (const run of runs) run.request("diagnose").catch(() => {});
    }, MEASURE_EVERY_MS);
    try {
      await Promise.all(runs.map((run) => run.request("train", { iterations })));
      await Promise.all(done);
      await Promise.all(runs.map((run) => run.request("diagnose")));
      say("done: compare where each cell's gradient reaches, and its held-out MSE.");
      const latest = Object.fromEntries(cells.map((c, i) => [c.cell, mse[i].at(-1) ?? { mse: NaN, iteration: 0 }]));
      events.emit("trained", latest);
    } catch (error) {
      say(error.message);
    } finally {
      clearInterval(timer);
      setBusy(false);
    }
  }

  trainButton.addEventListener("click", train);
  pauseButton.addEventListener("click", () => {
    for (const run of runs) run.request("pause").catch(() => {});
  });
  restartButton.addEventListener("click", async () => {
    await ensureStarted();
    started = setUp().catch((error) => say(error.message));
  });

  if (options.eager) {
    ensureStarted();
  } else {
    // Three more sessions only when the section is on screen.
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        observer.disconnect();
        ensureStarted();
      }
    });
    observer.observe(section);
  }
  renderMse();
  return Object.assign(events, {
    runs,
    ensureStarted,
    train,
    mse: (i) => mse[i],
    summary: (i) => summaries[i],
  });
}

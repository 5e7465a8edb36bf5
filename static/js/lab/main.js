// The gradient lab's wiring: runs A and B (one websocket session each), their controls, and the
// charts that overlay them. The whole setup round-trips through the URL, so a teacher can share
// a link to "tanh, ρ 1.5, clipping off vs on".

import { optionsOf } from "../run_config.js";
import { mount as mountStatus } from "../views/status.js";
import { mountCells } from "./cells.js";
import { mountFlow } from "./flow.js";
import { RUN_COLOURS } from "./palette.js";
import { readoutTable } from "./readouts.js";
import { alignTo, combinedStatus, latestOnly, newRun, presetConfig } from "./runs.js";
import { RHO_MAX, RHO_MIN, rhoFromSlider, sliderFromRho } from "./slider.js";
import { mountSpectrum } from "./spectrum.js";
import { describeUpdate, mountUpdates } from "./updates.js";

const NAMES = ["A", "B"];
const TRAIN_UPDATES = 50;
const CELLS = optionsOf("cell");
const ACTIVATIONS = optionsOf("activation");
const CLIPS = optionsOf("clip_mode");
const INITS = optionsOf("init");

const DEFAULT_RUN = { cell: "rnn", activation: "tanh", rho: 1.0, clip: "none", c: 1 };
const AB_PRESETS = {
  rho: { A: { rho: 0.9 }, B: { rho: 1.5 } },
  clip: { A: { clip: "none", rho: 1.5, activation: "linear" }, B: { clip: "norm", c: 1, rho: 1.5, activation: "linear" } },
  activation: { A: { activation: "tanh", rho: 1.5 }, B: { activation: "linear", rho: 1.5 } },
  cell: { A: { cell: "rnn", rho: 0.8 }, B: { cell: "lstm", rho: 0.8 } },
};

// ------------------------------------------------------------------ state and the URL

function clampNumber(value, low, high, fallback) {
  if (value === null || value === undefined || value === "") return fallback;
  const x = Number(value);
  return Number.isFinite(x) ? Math.min(high, Math.max(low, x)) : fallback;
}

function pick(value, allowed, fallback) {
  return allowed.includes(value) ? value : fallback;
}

function parseRun(text, fallback) {
  if (!text) return { ...fallback };
  const [cell, activation, rho, clip, c] = text.split(",");
  return {
    cell: pick(cell, CELLS, fallback.cell),
    activation: pick(activation, ACTIVATIONS, fallback.activation),
    rho: clampNumber(rho, RHO_MIN, RHO_MAX, fallback.rho),
    clip: pick(clip, CLIPS, fallback.clip),
    c: clampNumber(c, 0.01, 1000, fallback.c),
  };
}

function readUrl() {
  const q = new URLSearchParams(location.search);
  const A = parseRun(q.get("A"), DEFAULT_RUN);
  return {
    seq_len: Math.round(clampNumber(q.get("T"), 5, 60, 20)),
    seed: Math.round(clampNumber(q.get("seed"), 0, 2 ** 32 - 1, 0)),
    init: pick(q.get("init"), INITS, "orthogonal"),
    ab: q.get("ab") === "1",
    A,
    B: parseRun(q.get("B"), { ...A, rho: 1.5 }),
  };
}

function writeUrl(state) {
  const runText = (r) => [r.cell, r.activation, r.rho, r.clip, r.c].join(",");
  const q = new URLSearchParams({ T: state.seq_len, seed: state.seed, init: state.init, A: runText(state.A) });
  if (state.ab) {
    q.set("ab", "1");
    q.set("B", runText(state.B));
  }
  history.replaceState(null, "", `${location.pathname}?${q}${location.hash}`);
}

// ------------------------------------------------------------------ the page

const state = readUrl();
const base = await presetConfig("gradients-tanh-1.0");
const runs = { A: newRun(), B: newRun() };
const active = () => (state.ab ? NAMES : ["A"]);
const clipOf = (name) => () => ({ mode: state[name].clip, threshold: state[name].c });
const series = NAMES.map((name) => ({ stream: runs[name], label: name, colour: RUN_COLOURS[name], clip: clipOf(name) }));

function configFor(name) {
  const r = state[name];
  return {
    ...base,
    seq_len: state.seq_len,
    seed: state.seed,
    init: state.init,
    cell: r.cell,
    activation: r.activation,
    spectral_radius: r.rho,
    clip_mode: r.clip,
    clip_threshold: r.c,
  };
}

const spectrum = mountSpectrum(document.querySelector("[data-chart=spectrum] .chart-slot"), series);
const flow = mountFlow(document.querySelector("[data-chart=flow] .chart-slot"), series);
const updates = mountUpdates(document.querySelector("[data-chart=updates] .chart-slot"), series);
const readouts = readoutTable(document.querySelector("[data-role=readouts]"), series, { spectrum, flow });

const fieldsets = Object.fromEntries(NAMES.map((n) => [n, document.querySelector(`fieldset[data-run=${n}]`)]));
const messageOf = (name) => fieldsets[name].querySelector("[data-role=message]");

function report(name, error) {
  const box = messageOf(name);
  box.textContent = error ? error.message : "";
}

async function guarded(name, job) {
  try {
    await job();
    report(name, null);
  } catch (error) {
    report(name, error);
  }
}

// Any change that needs a new run restarts both runs together, so A and B stay comparable: same
// seed, same data, same iteration.
let configuring = null;
let configureAgain = false;
async function restartRuns() {
  if (configuring) {
    configureAgain = true;
    return configuring;
  }
  configuring = (async () => {
    do {
      configureAgain = false;
      const names = active();
      await Promise.all(names.map((n) => guarded(n, () => runs[n].request("configure", { config: configFor(n) }))));
      if (state.ab) await guarded("B", () => alignTo(runs.B, runs.A));
      await Promise.all(names.map((n) => guarded(n, () => runs[n].request("diagnose"))));
    } while (configureAgain);
  })();
  await configuring;
  configuring = null;
}

const rescalers = { A: latestOnly(), B: latestOnly() };
function rescale(name) {
  const run = runs[name];
  rescalers[name](() =>
    guarded(name, async () => {
      await run.request("rescale", { spectral_radius: state[name].rho });
      await run.request("diagnose");
    }),
  );
}

function setHyper(name) {
  const run = runs[name];
  guarded(name, () => run.request("set_hyper", { clip_mode: state[name].clip, clip_threshold: state[name].c }));
  updates.refresh();
  renderNotes();
}

// ------------------------------------------------------------------ controls

function showRun(name) {
  const f = fieldsets[name];
  const r = state[name];
  f.querySelector("[name=cell]").value = r.cell;
  f.querySelector("[name=activation]").value = r.activation;
  f.querySelector("[name=activation]").disabled = r.cell !== "rnn";
  f.querySelector("[name=rho]").value = sliderFromRho(r.rho);
  f.querySelector("[data-role=rho]").textContent = r.rho.toFixed(2);
  f.querySelector("[name=clip]").value = r.clip;
  f.querySelector("[name=c]").value = r.c;
  f.querySelector("[name=c]").disabled = r.clip === "none";
}

function showShared() {
  document.querySelector("[name=seq_len]").value = state.seq_len;
  document.querySelector("[data-role=seq_len]").textContent = state.seq_len;
  document.querySelector("[name=seed]").value = state.seed;
  document.querySelector("[name=init]").value = state.init;
  document.querySelector("[name=ab]").checked = state.ab;
  fieldsets.B.hidden = !state.ab;
  document.querySelector("[data-role=ab-presets]").hidden = !state.ab;
  document.body.classList.toggle("ab", state.ab);
  for (const plot of [spectrum, flow, updates]) plot.setVisible(1, state.ab);
  readouts.refresh();
}

for (const name of NAMES) {
  const f = fieldsets[name];
  f.querySelector("[name=cell]").addEventListener("change", (event) => {
    state[name].cell = event.target.value;
    changed(name, true);
  });
  f.querySelector("[name=activation]").addEventListener("change", (event) => {
    state[name].activation = event.target.value;
    changed(name, true);
  });
  const rho = f.querySelector("[name=rho]");
  rho.addEventListener("input", () => {
    state[name].rho = rhoFromSlider(rho.value);
    f.querySelector("[data-role=rho]").textContent = state[name].rho.toFixed(2);
    writeUrl(state);
    rescale(name);
  });
  f.querySelector("[name=clip]").addEventListener("change", (event) => {
    state[name].clip = event.target.value;
    changed(name, false);
    setHyper(name);
  });
  f.querySelector("[name=c]").addEventListener("change", (event) => {
    const c = Number(event.target.value);
    if (!(c > 0)) {
      report(name, { message: "c must be a positive number" });
      return;
    }
    state[name].c = c;
    changed(name, false);
    setHyper(name);
  });
}

function changed(name, restart) {
  showRun(name);
  writeUrl(state);
  if (restart) restartRuns();
}

document.querySelector("[name=seq_len]").addEventListener("input", (event) => {
  document.querySelector("[data-role=seq_len]").textContent = event.target.value;
});
document.querySelector("[name=seq_len]").addEventListener("change", (event) => {
  state.seq_len = Number(event.target.value);
  writeUrl(state);
  restartRuns();
});
document.querySelector("[name=seed]").addEventListener("change", (event) => {
  state.seed = Math.round(clampNumber(event.target.value, 0, 2 ** 32 - 1, 0));
  event.target.value = state.seed;
  writeUrl(state);
  restartRuns();
});
document.querySelector("[name=init]").addEventListener("change", (event) => {
  state.init = event.target.value;
  writeUrl(state);
  restartRuns();
});

let bConnected = false;
async function ensureB() {
  if (bConnected) return;
  bConnected = true;
  await runs.B.connect();
}

document.querySelector("[name=ab]").addEventListener("change", async (event) => {
  state.ab = event.target.checked;
  showShared();
  showRun("B");
  writeUrl(state);
  if (state.ab) {
    await ensureB();
    restartRuns();
  }
});

for (const button of document.querySelectorAll("[data-ab]")) {
  button.addEventListener("click", () => {
    const preset = AB_PRESETS[button.dataset.ab];
    state.A = { ...DEFAULT_RUN, ...preset.A };
    state.B = { ...DEFAULT_RUN, ...preset.B };
    for (const name of NAMES) showRun(name);
    writeUrl(state);
    restartRuns();
  });
}

// ------------------------------------------------------------------ training: clipping's effect

const trainButtons = [...document.querySelectorAll("#clipping [data-action]")];
const button = (action) => document.querySelector(`#clipping [data-action=${action}]`);
let training = null;

async function runUpdates(count) {
  if (training) return;
  const job = { stopped: false };
  training = job;
  for (const b of trainButtons) b.disabled = b.dataset.action !== "stop";
  await Promise.all(
    active().map((name) =>
      guarded(name, async () => {
        for (let i = 0; i < count && !job.stopped; i++) await runs[name].request("finish_iteration");
        await runs[name].request("diagnose");
      }),
    ),
  );
  training = null;
  for (const b of trainButtons) b.disabled = b.dataset.action === "stop";
}

button("update").addEventListener("click", () => runUpdates(1));
button("train").addEventListener("click", () => runUpdates(TRAIN_UPDATES));
button("stop").addEventListener("click", () => {
  if (training) training.stopped = true;
});
button("restart").addEventListener("click", () => restartRuns());

const notes = document.querySelector("[data-role=update-notes]");
function renderNotes() {
  const items = active().map((name) => {
    const history = updates.history(NAMES.indexOf(name));
    const last = history.at(-1);
    const clipped = history.filter((u) => u.clipped).length;
    const skipped = history.filter((u) => !u.finite).length;
    const li = document.createElement("li");
    li.dataset.run = name;
    const swatch = document.createElement("span");
    swatch.className = `run-swatch run-${name}`;
    const text = history.length
      ? `${describeUpdate(last, clipOf(name)())}. ${history.length} updates: ${clipped} clipped, ${skipped} skipped.`
      : "no update yet: press “one update”.";
    li.append(swatch, `${name}: ${text}`);
    return li;
  });
  notes.replaceChildren(...items);
}
for (const name of NAMES) {
  runs[name].on("update", renderNotes);
  runs[name].on("hello", renderNotes);
}

// ------------------------------------------------------------------ start

mountStatus(document.querySelector(".topbar [data-view=status]"), combinedStatus([runs.A, runs.B]));
for (const name of NAMES) showRun(name);
showShared();
renderNotes();
await runs.A.connect();
if (state.ab) await ensureB();
await restartRuns();
const cells = mountCells(document.querySelector("#cells"));
window.unroll = { runs, state, restartRuns, cells }; // for the browser tests and the curious

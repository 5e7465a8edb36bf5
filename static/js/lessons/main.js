// The lessons page: the playground's views on one run, the lab's charts on a second, and a card
// that sets up the run, points at the view that matters and waits for the student's action.
// The card number lives in the URL (?card=4), so a teacher can link straight to it.

import { CELL_RUNS, mountCells } from "../lab/cells.js";
import { mountFlow } from "../lab/flow.js";
import { RUN_COLOURS } from "../lab/palette.js";
import { combinedStatus, latestOnly, newRun, presetConfig } from "../lab/runs.js";
import { rhoFromSlider, sliderFromRho } from "../lab/slider.js";
import { mountSpectrum } from "../lab/spectrum.js";
import { mountUpdates } from "../lab/updates.js";
import * as status from "../views/status.js";
import * as stepLoss from "../views/step_loss.js";
import * as transport from "../views/transport.js";
import * as unrolled from "../views/unrolled.js";
import { CARDS } from "./cards.js";

const $ = (selector) => document.querySelector(selector);
const net = newRun(); // the playground's run
const lab = newRun(); // the lab's run

// The playground's own views, mounted as the playground mounts them.
transport.mount($("[data-view=transport]"), net);
unrolled.mount($("[data-view=unrolled]"), net);
stepLoss.mount($("[data-view=step-loss]"), net);

// The lab's charts on the second run.
let clip = { mode: "none", threshold: 1 };
const labSeries = [{ stream: lab, label: "run", colour: RUN_COLOURS.A, clip: () => clip }];
mountSpectrum($("[data-pane=lab] [data-chart=spectrum]"), labSeries);
mountFlow($("[data-pane=lab] [data-chart=flow]"), labSeries, { xTitle: "T − k (steps back from the loss)" });
mountUpdates($("[data-pane=updates] [data-chart=updates]"), labSeries);
const cells = mountCells($("[data-pane=cells]"), { cells: CELL_RUNS.slice(0, 2) });
status.mount($(".topbar [data-view=status]"), combinedStatus([net, lab, ...cells.runs]));

const helloConfig = presetConfig("hello");
const labBase = presetConfig("gradients-tanh-1.0", { init: "orthogonal" });
let labConnected = null;
const ensureLab = () => (labConnected ??= lab.connect());

// ------------------------------------------------------------------ the ρ slider

const slider = $("[data-pane=lab] [name=rho]");
const rhoOut = $("[data-pane=lab] [data-role=rho]");
let rho = 1.0;
const rescale = latestOnly();
function showRho(value) {
  rho = value;
  slider.value = sliderFromRho(value);
  rhoOut.textContent = value.toFixed(2);
}
slider.addEventListener("input", () => {
  rho = rhoFromSlider(slider.value);
  rhoOut.textContent = rho.toFixed(2);
  rescale(async () => {
    try {
      await lab.request("rescale", { spectral_radius: rho });
      await lab.request("diagnose");
    } catch (error) {
      say(error.message);
    }
  });
});

// ------------------------------------------------------------------ cards

const card = $(".lesson-card");
const articles = new Map([...card.querySelectorAll("article[data-card]")].map((a) => [a.dataset.card, a]));
const liveBox = card.querySelector("[data-role=live]");
const taskBox = card.querySelector("[data-role=task]");
const taskText = card.querySelector("[data-role=task-text]");
const extraBox = card.querySelector("[data-role=extra]");
const position = card.querySelector("[data-role=position]");
const dots = card.querySelector("[data-role=dots]");
const panes = [...document.querySelectorAll("[data-pane]")];
const done = new Set();
let index = 0;
let token = 0;
let context = null;

function say(html) {
  liveBox.innerHTML = html;
}

function cardFromUrl() {
  const n = Number(new URLSearchParams(location.search).get("card"));
  return Number.isInteger(n) && n >= 1 && n <= CARDS.length ? n - 1 : 0;
}

function renderDots() {
  dots.replaceChildren(
    ...CARDS.map((c, i) => {
      const a = document.createElement("a");
      a.href = `?card=${i + 1}`;
      a.textContent = String(i + 1);
      a.title = articles.get(c.name).querySelector("h2").textContent;
      a.classList.toggle("done", done.has(c.name));
      if (i === index) a.setAttribute("aria-current", "step");
      a.addEventListener("click", (event) => {
        event.preventDefault();
        go(i);
      });
      return a;
    }),
  );
}

function makeContext(mine, spec) {
  const offs = [];
  const current = () => mine === token;
  return {
    net,
    lab,
    cells,
    on(run, type, handler) {
      offs.push(run.on(type, (frame) => current() && handler(frame)));
    },
    onCleanup(off) {
      offs.push(off);
    },
    live(html) {
      if (current()) say(html);
    },
    done() {
      if (!current() || done.has(spec.name)) return;
      done.add(spec.name);
      taskBox.classList.add("done");
      card.dataset.done = "true";
      renderDots();
    },
    async netPreset() {
      await net.request("configure", { config: await helloConfig });
      return net.hello;
    },
    async labConfigure(overrides) {
      await ensureLab();
      const config = { ...(await labBase), spectral_radius: rho, clip_mode: clip.mode, clip_threshold: clip.threshold, ...overrides };
      clip = { mode: config.clip_mode, threshold: config.clip_threshold };
      showRho(config.spectral_radius);
      await lab.request("configure", { config });
      await lab.request("diagnose");
    },
    async labUpdates(count) {
      for (let i = 0; i < count && current(); i++) await lab.request("finish_iteration");
    },
    labDiagnose() {
      return lab.request("diagnose").catch((error) => say(error.message));
    },
    clip: () => clip,
    async setClip(mode) {
      clip = { ...clip, mode };
      await lab.request("set_hyper", { clip_mode: clip.mode, clip_threshold: clip.threshold });
    },
    dispose() {
      for (const off of offs) off();
    },
  };
}

function renderExtra(spec, ctx) {
  extraBox.replaceChildren(
    ...(spec.extra ?? []).map((extra) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = extra.label;
      button.dataset.extra = extra.label;
      if (extra.toggle) button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", async () => {
        let on = true;
        if (extra.toggle) {
          on = button.getAttribute("aria-pressed") !== "true";
          button.setAttribute("aria-pressed", String(on));
        }
        button.disabled = true;
        try {
          await extra.run(ctx, on);
        } catch (error) {
          say(error.message);
        } finally {
          button.disabled = false;
        }
      });
      return button;
    }),
  );
}

async function show(i) {
  context?.dispose();
  index = i;
  const mine = ++token;
  const spec = CARDS[i];
  for (const [name, article] of articles) article.hidden = name !== spec.name;
  for (const pane of panes) {
    pane.hidden = !spec.panes.includes(pane.dataset.pane);
    pane.classList.toggle("pointed", pane.dataset.pane === spec.point);
  }
  position.textContent = `card ${i + 1} of ${CARDS.length}`;
  card.dataset.card = spec.name;
  card.dataset.done = String(done.has(spec.name));
  taskText.innerHTML = spec.task; // fixed text from cards.js
  taskBox.classList.toggle("done", done.has(spec.name));
  card.querySelector("[data-action=prev]").disabled = i === 0;
  card.querySelector("[data-action=next]").disabled = i === CARDS.length - 1;
  renderDots();
  const ctx = makeContext(mine, spec);
  context = ctx;
  renderExtra(spec, ctx);
  card.dataset.ready = "false";
  say("setting up the run…");
  try {
    await spec.setup(ctx);
  } catch (error) {
    if (mine === token) say(`could not set up this card: ${error.message}`);
    return;
  }
  if (mine !== token) return;
  spec.watch(ctx);
  card.dataset.ready = "true";
  document.querySelector(`[data-pane="${spec.point}"]`)?.scrollIntoView({ block: "nearest" });
}

function go(i, push = true) {
  if (push) history.pushState(null, "", `?card=${i + 1}`);
  show(i);
}

card.querySelector("[data-action=prev]").addEventListener("click", () => go(Math.max(0, index - 1)));
card.querySelector("[data-action=next]").addEventListener("click", () => go(Math.min(CARDS.length - 1, index + 1)));
window.addEventListener("popstate", () => show(cardFromUrl()));

await net.connect();
window.unroll = { net, lab, cells, stream: net };
show(cardFromUrl());

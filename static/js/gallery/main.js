// The gallery's wiring: four cards, each its own run of its lesson's preset, playing the teaching
// cycle (forward steps, BPTT steps, the update) on a small unrolled diagram.

import { formatNumber } from "../protocol.js";
import { mount as mountStatus } from "../views/status.js";
import { combinedStatus, newRun, presets } from "../lab/runs.js";
import { mount as mountDiagram } from "./diagram.js";

const STEPS_PER_SECOND = 3;
const params = new URLSearchParams(location.search);
const autoplay = params.get("play") !== "0";

const grid = document.querySelector("[data-role=gallery]");
const cards = [...grid.querySelectorAll(".arch-card")];
const all = await presets();
const runs = [];

function wire(card) {
  const preset = all.find((p) => p.name === card.dataset.preset);
  const run = newRun();
  runs.push(run);
  mountDiagram(card.querySelector("[data-role=diagram]"), run);
  mountStatus(card.querySelector("[data-view=status]"), run);
  const readout = card.querySelector("[data-role=readout]");
  const playButton = card.querySelector("[data-action=play]");
  const trainButton = card.querySelector("[data-action=train]");
  trainButton.textContent = `train ${preset.iterations}`;
  trainButton.title = preset.statement;
  let playing = autoplay;
  let iteration = 0;
  let loss = null;
  let accuracy = null;

  const show = () => {
    const parts = [`iteration <b>${iteration}</b>`];
    if (loss !== null) parts.push(`loss <b>${formatNumber(loss, 3)}</b>`);
    if (accuracy !== null) parts.push(`held-out accuracy <b>${formatNumber(accuracy, 2)}</b>`);
    readout.innerHTML = parts.join(" · "); // numbers only
  };
  const showPlaying = () => {
    playButton.textContent = playing ? "pause" : "▶ play";
    playButton.setAttribute("aria-pressed", String(playing));
  };
  const fail = (error) => {
    readout.textContent = error.message;
  };
  const guard = (job) => job().catch(fail);

  run.on("hello", (frame) => {
    iteration = 0;
    loss = null;
    accuracy = null;
    show();
    card.dataset.session = frame.session_id;
  });
  run.on("update", (frame) => {
    iteration = frame.iteration + 1;
    loss = frame.loss;
    show();
  });
  run.on("progress", (frame) => {
    iteration = frame.iteration;
    loss = frame.loss;
    if (frame.heldout && "accuracy" in frame.heldout) accuracy = frame.heldout.accuracy;
    show();
  });

  const play = () => run.request("play", { steps_per_second: STEPS_PER_SECOND }).catch(fail);
  playButton.addEventListener("click", () => {
    playing = !playing;
    showPlaying();
    if (playing) play();
    else run.request("pause").catch(fail);
  });
  card.querySelector("[data-action=step]").addEventListener("click", () => {
    playing = false;
    showPlaying();
    run.request("advance").catch(fail);
  });
  trainButton.addEventListener("click", async () => {
    trainButton.disabled = true;
    const done = run.next("sequence"); // a training job ends by announcing the next sequence
    try {
      await run.request("train", { iterations: preset.iterations });
      await done;
      if (playing) await play();
    } catch (error) {
      fail(error);
    } finally {
      trainButton.disabled = false;
    }
  });
  const focusButton = card.querySelector("[data-action=focus]");
  focusButton.addEventListener("click", () => {
    const focus = !card.classList.contains("focus");
    for (const other of cards) {
      other.classList.remove("focus");
      other.querySelector("[data-action=focus]").setAttribute("aria-pressed", "false");
      other.querySelector("[data-action=focus]").textContent = "enlarge";
    }
    card.classList.toggle("focus", focus);
    grid.classList.toggle("focused", focus);
    focusButton.setAttribute("aria-pressed", String(focus));
    focusButton.textContent = focus ? "show all four" : "enlarge";
  });

  showPlaying();
  return () =>
    guard(async () => {
      await run.connect();
      await run.request("configure", { config: preset.config });
      if (playing) await play();
    });
}

const starts = cards.map(wire);
mountStatus(document.querySelector(".topbar [data-view=status]"), combinedStatus(runs));
window.unroll = { runs };
await Promise.all(starts.map((start) => start()));

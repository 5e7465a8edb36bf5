// Transport: play/pause, one step (forward, then BPTT, then the update), one BPTT step, a whole
// iteration, continuous training, reset; the speed (down to slow motion) and the timeline of
// steps already computed; what the next step will do; the keyboard. A refused command's message
// shows here and its button is marked. Every part is optional: the lessons and classroom pages
// mount the same view on fewer buttons.

import { state } from "../page_state.js";

const TRAIN_CHUNK = 5000; // iterations per train command; training resumes until stopped
const SCRUB = new Set(["ArrowLeft", "ArrowRight"]);

export function mount(root, stream) {
  const $ = (selector) => root.querySelector(selector);
  const message = $("[data-role=message]");
  const buttons = [...root.querySelectorAll("button[data-command]")];
  // A command the page offers: its button exists and a lesson link has not hidden it.
  const usable = (button) => Boolean(button) && !button.closest("[hidden]");
  const has = (command) => buttons.some((b) => b.dataset.command === command && usable(b));
  const playButton = $("[data-role=play]") ?? $("button[data-command=play]");
  const trainButton = $("[data-role=train]");
  const speed = $("input[name=speed]");
  const speedValue = $("[data-role=speed-value]");
  const timeline = $("input[name=timeline]");
  const timelineValue = $("[data-role=timeline-value]");
  const liveButton = $("[data-action=live]");
  const phase = $("[data-role=phase]");
  const hidden = $("input[name=hidden_size]"); // the first slice's knob, still on older pages
  const hiddenValue = $("[data-role=hidden-value]");
  let config = null;
  let limits = null;
  let job = null; // "play" | "train" | null, as far as this page asked
  let trainingProgress = 0; // progress frames since the last train command
  const cycle = { T: 0, next: "forward", t: 0, iteration: 0, replay: false };

  const stepsPerSecond = () => state.get("speed");
  const setJob = (next) => {
    job = next;
    if (playButton) {
      playButton.textContent = job === "play" ? "❚❚ pause" : "▶ play";
      playButton.setAttribute("aria-pressed", String(job === "play"));
    }
    if (trainButton) {
      trainButton.textContent = job === "train" ? "■ stop" : "train ⟳";
      trainButton.setAttribute("aria-pressed", String(job === "train"));
    }
    root.dataset.job = job ?? "";
    state.set({ job });
  };

  // A refused command's message shows here and its button is marked.
  const refused = (error) => {
    if (error.command === "play" || error.command === "train") setJob(null);
    if (error.code === "closed") return; // the status badge says so
    if (message) {
      message.textContent = error.message;
      message.dataset.command = error.command ?? "";
    }
    buttons.find((b) => b.dataset.command === error.command)?.classList.add("errored");
  };
  const send = (command, fields) => stream.request(command, fields).catch(refused);

  const actions = {
    play: () => {
      if (job) {
        send("pause");
        setJob(null);
      } else {
        send("play", { steps_per_second: stepsPerSecond() });
        setJob("play");
      }
    },
    pause: () => {
      send("pause");
      setJob(null);
    },
    train: () => {
      if (job === "train") {
        send("pause");
        setJob(null);
        return;
      }
      const cap = Math.min(TRAIN_CHUNK, limits?.max_train_iterations ?? TRAIN_CHUNK);
      trainingProgress = 0;
      send("train", { iterations: cap });
      setJob("train");
    },
  };
  const run = (command) => {
    clearError();
    if (actions[command]) return actions[command]();
    if (job) setJob(null); // a step stops whatever was running (the server does the same)
    return send(command);
  };
  for (const button of buttons) button.addEventListener("click", () => run(button.dataset.command));

  function clearError() {
    if (message) message.textContent = "";
    for (const button of buttons) button.classList.remove("errored");
  }

  // ------------------------------------------------------------------ speed

  const showSpeed = () => {
    const s = stepsPerSecond();
    if (speed) speed.value = Math.log10(s);
    if (speedValue) speedValue.textContent = s < 1 ? `${s.toFixed(2).replace(/0$/, "")}/s slow` : `${Math.round(s)}/s`;
    // Animations last about one step at slow speeds, so slow motion is smooth.
    document.documentElement.style.setProperty("--step-ms", `${Math.round(Math.max(90, Math.min(1400, 700 / s)))}ms`);
  };
  if (speed) {
    speed.addEventListener("input", () => {
      state.set({ speed: Number((10 ** Number(speed.value)).toPrecision(2)) });
    });
    speed.addEventListener("change", () => {
      if (job === "play") send("play", { steps_per_second: stepsPerSecond() });
    });
    speed.addEventListener("pointerup", () => speed.blur());
  }
  state.watch("speed", showSpeed);
  showSpeed();

  // ------------------------------------------------------------------ timeline and phase

  const describe = () => {
    if (!phase) return;
    const where = cycle.next === "forward" ? `forward step t = ${cycle.t} of ${cycle.T}`
      : cycle.next === "backward" ? `BPTT step t = ${cycle.t} (backward)`
        : cycle.next === "update" ? "the update: W −= learning rate × gradient"
          : "a new sequence (forward from t = 0)";
    phase.textContent = cycle.replay ? `replaying: ${where} comes next` : `next: ${where}`;
  };
  const startCycle = (frame) => {
    cycle.T = frame.seq_len ?? frame.tokens?.length ?? 0;
    cycle.next = "forward";
    cycle.t = 0;
    cycle.replay = Boolean(frame.replay);
    describe();
  };
  stream.on("forward", (frame) => {
    if (frame.t + 1 < frame.seq_len) Object.assign(cycle, { next: "forward", t: frame.t + 1 });
    else Object.assign(cycle, { next: "backward", t: frame.seq_len - 1 });
    describe();
  });
  stream.on("backward", (frame) => {
    Object.assign(cycle, frame.t > 0 ? { next: "backward", t: frame.t - 1 } : { next: "update", t: 0 });
    describe();
  });
  stream.on("update", () => {
    cycle.next = "sequence";
    describe();
  });

  const showTimeline = (source) => {
    const count = source.length;
    const at = source.position ?? count;
    timeline.max = String(count);
    timeline.value = String(at);
    timeline.disabled = count === 0;
    const label = source.label(at);
    if (timelineValue) timelineValue.textContent = source.position === null ? `live${count ? ` · ${label}` : ""}` : `${label} (${at}/${count})`;
    root.classList.toggle("replaying", source.position !== null);
    if (liveButton) liveButton.hidden = source.position === null;
    if (source.position === null && cycle.replay) {
      cycle.replay = false;
      describe();
    }
  };
  if (timeline && stream.seek) {
    stream.on("change", showTimeline);
    showTimeline(stream);
    timeline.addEventListener("input", () => {
      if (job === "play") actions.pause(); // looking back: hold the run still
      stream.seek(Number(timeline.value));
    });
    timeline.addEventListener("pointerup", () => timeline.blur());
    liveButton?.addEventListener("click", () => stream.seek(null));
  }

  if (hidden) {
    hidden.addEventListener("input", () => {
      if (hiddenValue) hiddenValue.textContent = hidden.value;
    });
    hidden.addEventListener("change", () => {
      if (config) send("configure", { config: { ...config, hidden_size: Number(hidden.value) } });
    });
  }

  // ------------------------------------------------------------------ keyboard

  const keyCommand = (event) => {
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (event.shiftKey && SCRUB.has(key)) return timeline && stream.step ? `scrub${key === "ArrowLeft" ? -1 : 1}` : null;
    if (event.shiftKey || event.altKey) return null;
    const command = {
      " ": usable(playButton) ? "play" : null,
      ArrowRight: has("advance") ? "advance" : "step_forward",
      ArrowLeft: "step_backward",
      Enter: "finish_iteration",
      t: usable(trainButton) ? "train" : null,
      r: "reset",
      Escape: timeline && stream.seek ? "live" : null,
    }[key];
    if (!command) return null;
    if (command === "live") return stream.position !== null ? command : null;
    return has(command) || (command in actions && command !== "pause") ? command : null;
  };
  document.addEventListener("keydown", (event) => {
    if (event.target.closest?.("input, select, textarea, dialog") || event.ctrlKey || event.metaKey) return;
    const command = keyCommand(event);
    if (!command) return;
    event.preventDefault(); // also stops Enter from clicking a focused button twice
    if (event.repeat && command !== "advance" && command !== "step_forward" && command !== "step_backward" && !command.startsWith("scrub")) return;
    if (command.startsWith("scrub")) stream.step(Number(command.slice(5)));
    else if (command === "live") stream.seek(null);
    else run(command);
  });
  document.addEventListener("keyup", (event) => {
    // A focused button would click itself on Space's keyup: the keydown already acted.
    if (event.key === " " && event.target.closest?.("button") && playButton) event.preventDefault();
  });

  // ------------------------------------------------------------------ the run

  stream.on("hello", (frame) => {
    config = frame.config;
    limits = frame.limits;
    if (hidden) {
      hidden.max = Math.min(Number(hidden.max) || 16, frame.limits.max_hidden_size);
      hidden.value = config.hidden_size;
      if (hiddenValue) hiddenValue.textContent = config.hidden_size;
    }
    cycle.iteration = 0;
    startCycle(frame);
    if (!frame.replay) setJob(null); // configure, reset and import stop play and training
  });
  stream.on("sequence", (frame) => {
    startCycle(frame);
    if (frame.replay) return;
    cycle.iteration = frame.iteration;
    // The server ends a train command with the next sequence: train on while asked to.
    if (job === "train" && trainingProgress > 0) {
      trainingProgress = 0;
      const cap = Math.min(TRAIN_CHUNK, limits?.max_train_iterations ?? TRAIN_CHUNK);
      send("train", { iterations: cap });
    }
  });
  stream.on("progress", () => {
    trainingProgress += 1;
  });
  stream.on("status", ({ status }) => {
    for (const button of buttons) button.disabled = status !== "open";
    if (status !== "open") setJob(null);
  });
  setJob(null);
}

// Pages that show several runs side by side (A/B, RNN vs LSTM vs GRU, the gallery's four
// diagrams) hold one Stream per run: one websocket session each. These are the few things such
// pages do with their runs beyond the stream's own requests.

import { Emitter } from "../emitter.js";
import { Stream, streamUrl } from "../stream.js";

export function newRun() {
  return new Stream(streamUrl());
}

// Put a run on the reference run's data: the same batch now and the same data generator state,
// so every later batch matches too. At the same seed the server already draws the same data for
// any model; this also holds the two runs together when their seeds differ.
export async function alignTo(run, reference) {
  const [theirs, ours] = await Promise.all([reference.request("export"), run.request("export")]);
  const { batch, rng, cursor } = theirs.state;
  await run.request("import", { state: { ...ours.state, batch, rng, cursor } });
}

// Latest wins: while one job runs, only the newest job asked for waits behind it (a slider
// dragged fast sends the value it rests on, not every value it passed).
export function latestOnly() {
  let running = false;
  let next = null;
  return async (job) => {
    next = job;
    if (running) return;
    running = true;
    while (next) {
      const current = next;
      next = null;
      try {
        await current();
      } catch {
        // the job reports its own errors
      }
    }
    running = false;
  };
}

// One status for many runs, for the header badge: open only when every run is open.
export function combinedStatus(runs) {
  const combined = new Emitter();
  const states = runs.map(() => null); // a run not connected yet does not count
  const rank = { closed: 0, connecting: 1, open: 2 };
  runs.forEach((run, i) =>
    run.on("status", (status) => {
      states[i] = status;
      const known = states.filter(Boolean);
      combined.emit("status", known.reduce((a, b) => ((rank[b.status] ?? 1) < (rank[a.status] ?? 1) ? b : a)));
    }),
  );
  return combined;
}

// The presets, fetched once per page (GET /api/presets).
let presetsPromise = null;
export function presets() {
  presetsPromise ??= fetch("/api/presets").then((response) => response.json());
  return presetsPromise;
}

export async function presetConfig(name, overrides = {}) {
  const preset = (await presets()).find((p) => p.name === name);
  if (!preset) throw new Error(`no preset ${name}`);
  return { ...preset.config, ...overrides };
}

// Keeps page_state in step with the live stream: each hello sets the confirmed config, limits
// and vocabulary; the first hello of every connection is compared with the config the page
// wants (a shared link, or the run before a reconnect) and, if they differ, the page asks the
// server for it with one configure. Also loads the lesson presets and tasks, if the server has
// them (it may not: the picker then shows only the current task).

import { differs, state } from "./page_state.js";

async function fetchList(url) {
  try {
    const response = await fetch(url);
    if (!response.ok) return [];
    const list = await response.json();
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

// The run a page opens when its link names none: the ?preset= one, else the first lesson.
async function openingRun(presets) {
  const wanted = state.get("wanted");
  const named = state.get("preset");
  const list = await Promise.race([presets, new Promise((resolve) => setTimeout(() => resolve([]), 2000))]);
  const preset = list.find((p) => p.name === named) ?? (Object.keys(wanted).length ? null : list[0]);
  if (!preset) return wanted;
  state.set({ preset: preset.name });
  return { ...preset.config, ...wanted };
}

export function followRun(stream) {
  let fresh = true; // the next hello is the first of a connection
  let configureId = null;
  const presets = fetchList("/api/presets");
  presets.then((list) => state.set({ presets: list }));

  stream.on("status", ({ status }) => {
    if (status !== "open") {
      fresh = true;
      state.set({ job: null, settled: false });
    }
  });

  stream.on("hello", async (frame) => {
    state.set({ config: frame.config, limits: frame.limits, vocab: frame.vocab, job: null });
    if (fresh) {
      fresh = false;
      const wanted = { ...frame.config, ...(await openingRun(presets)) };
      if (differs(frame.config, wanted)) {
        if (wanted.temperature !== undefined) state.set({ temperature: wanted.temperature });
        configureId = stream.send("configure", { config: wanted });
        return;
      }
    }
    state.set({ wanted: { ...frame.config, temperature: state.get("temperature") }, settled: true });
  });

  stream.on("error", (frame) => {
    // The link asked for a run the server refuses: go on with the server's, and say so (the
    // settings view shows the message next to the field).
    if (frame.command_id !== null && frame.command_id === configureId) {
      configureId = null;
      const config = state.get("config");
      if (config) state.set({ wanted: { ...config, temperature: state.get("temperature") }, settled: true });
    }
  });

  fetchList("/api/tasks").then((tasks) => state.set({ tasks }));
}

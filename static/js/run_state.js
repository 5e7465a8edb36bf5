// Keeps page_state in step with the live stream: each hello sets the confirmed config, limits
// and vocabulary. The page's first hello is compared with the run its link asks for and, if they
// differ, the page asks the server for it with one configure; after a reconnect the stream puts
// the run back itself (see Stream.restore). Also loads the lesson presets and tasks, if the
// server has them (it may not: the picker then shows only the current task).

import { state } from "./page_state.js";
import { configDiffers } from "./protocol.js";

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

// opening: ask for the run the link names on the first hello (off for a room page, which shows
// the room's run as it is).
export function followRun(stream, { opening: askFirst = true } = {}) {
  let opening = askFirst; // the page's first hello: the link's run is still to be asked for
  const presets = fetchList("/api/presets");
  presets.then((list) => state.set({ presets: list }));
  // The run this page is showing is the one it asked for; the URL follows it from now on.
  const settle = (config) => state.set({ wanted: config, settled: true });
  // A refused configure: go on with the server's run (the settings view says why). A lost
  // connection is no refusal: the stream asks again once it is back.
  const refused = (error) => error.code !== "closed" && settle(state.get("config"));

  stream.on("status", ({ status }) => {
    if (status !== "open") state.set({ job: null, settled: false });
  });

  stream.on("hello", async (frame) => {
    state.set({ config: frame.config, limits: frame.limits, vocab: frame.vocab, job: null });
    if (stream.restoring) {
      // A fresh session after a reconnect: the stream is asking for ours; its hello follows.
      stream.restoring.catch(refused);
      return;
    }
    if (opening) {
      const wanted = { ...frame.config, ...(await openingRun(presets)) };
      opening = false;
      if (configDiffers(frame.config, wanted)) {
        stream.request("configure", { config: wanted }).catch(refused);
        return;
      }
    }
    settle(frame.config);
  });

  // A room's live knobs changed (the teacher's set_hyper): the same run, its new settings.
  stream.on("hyper", (frame) => {
    stream.config = frame.config;
    state.set({ config: frame.config, wanted: frame.config });
  });

  fetchList("/api/tasks").then((tasks) => state.set({ tasks }));
}

// Shared by the room pages: a stream to /ws/room/CODE and the playground's views mounted on it.

import { Stream, streamUrl } from "./stream.js";
import * as status from "./views/status.js";
import * as stepLoss from "./views/step_loss.js";
import * as transport from "./views/transport.js";
import * as unrolled from "./views/unrolled.js";

const VIEWS = { status, unrolled, "step-loss": stepLoss, transport };

// The room's run lives on in the room: after a reconnect the page follows it, never restores.
export function roomStream(code) {
  return new Stream(streamUrl(`/ws/room/${encodeURIComponent(code)}`), { restore: false });
}

// Mount each named view on its elements (inside `root`), as main.js does for the playground.
export function mountViews(stream, names, root = document) {
  for (const name of names) {
    for (const element of root.querySelectorAll(`[data-view="${name}"]`)) {
      VIEWS[name].mount(element, stream);
    }
  }
}

export function mountControls(element, stream) {
  transport.mount(element, stream);
}

// A refused room command's message (a lost connection says so in the status badge instead).
export function showRefusal(element) {
  return (error) => {
    if (error.code !== "closed") element.textContent = error.message;
  };
}

export function plural(n, word) {
  return `${n === 1 ? word : `${word}s`}`;
}

// Shared by the room pages: a stream to /ws/room/CODE and the playground's views mounted on it.

import { Stream, streamUrl } from "./stream.js";
import * as status from "./views/status.js";
import * as stepLoss from "./views/step_loss.js";
import * as transport from "./views/transport.js";
import * as unrolled from "./views/unrolled.js";

const VIEWS = { status, unrolled, "step-loss": stepLoss, transport };

export function roomStream(code) {
  return new Stream(streamUrl(`/ws/room/${encodeURIComponent(code)}`));
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

// The room is over: stop the stream's automatic reconnect (it would only find the room gone).
// Stream has no close() of its own; it ignores the close of a socket it no longer holds.
export function stopStream(stream, detail) {
  const socket = stream.socket;
  stream.socket = null;
  socket?.close();
  stream.setStatus("ended", detail);
}

export function plural(n, word) {
  return `${n === 1 ? word : `${word}s`}`;
}

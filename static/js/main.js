// Wiring only: one stream, each view mounted on its element.

import { Stream, streamUrl } from "./stream.js";
import * as status from "./views/status.js";
import * as stepLoss from "./views/step_loss.js";
import * as transport from "./views/transport.js";
import * as unrolled from "./views/unrolled.js";

const stream = new Stream(streamUrl());
const views = { status, unrolled, "step-loss": stepLoss, transport };
for (const [name, view] of Object.entries(views)) {
  for (const element of document.querySelectorAll(`[data-view="${name}"]`)) {
    view.mount(element, stream);
  }
}
stream.connect();
window.unroll = { stream }; // for the browser tests and the curious

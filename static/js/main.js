// Wiring only: one live stream; page_state kept in step with it; the timeline the per-step views
// watch (so they can be scrubbed); each view mounted on its element.
//
// The room pages reuse this wiring: their room panel (data-stream="/ws/room/CODE") names the socket.
// A room's run lives on in the room, so such a page never restores a run of its own (from its
// URL, or after a reconnect): it shows the room's. Their scripts import `live` from here.

import { frameStats } from "./frame_batcher.js";
import { state } from "./page_state.js";
import { followRun } from "./run_state.js";
import { Stream, streamUrl } from "./stream.js";
import { Timeline } from "./timeline.js";
import * as cellDetail from "./views/cell_detail.js";
import * as equations from "./views/equations.js";
import * as flow from "./views/flow.js";
import * as gradients from "./views/gradients.js";
import * as help from "./views/help.js";
import * as hiddenHeatmap from "./views/hidden_heatmap.js";
import * as io from "./views/io.js";
import * as lesson from "./views/lesson.js";
import * as modes from "./views/modes.js";
import * as outputs from "./views/outputs.js";
import * as presets from "./views/presets.js";
import * as sample from "./views/sample.js";
import * as settings from "./views/settings.js";
import * as spectrum from "./views/spectrum.js";
import * as status from "./views/status.js";
import * as stepLoss from "./views/step_loss.js";
import * as summary from "./views/summary.js";
import * as training from "./views/training.js";
import * as transport from "./views/transport.js";
import * as unrolled from "./views/unrolled.js";
import * as yourData from "./views/your_data.js";

const roomSocket = document.querySelector("[data-stream]")?.dataset.stream ?? null;
export const live = new Stream(streamUrl(roomSocket ?? "/ws"), { restore: !roomSocket });
followRun(live, { opening: !roomSocket });
export const timeline = new Timeline(live);

// Views of one iteration watch the timeline; views of the whole run watch the live stream.
const views = {
  transport: [transport, timeline],
  unrolled: [unrolled, timeline],
  "cell-detail": [cellDetail, timeline],
  outputs: [outputs, timeline],
  "step-loss": [stepLoss, timeline],
  "hidden-heatmap": [hiddenHeatmap, timeline],
  gradients: [gradients, timeline],
  flow: [flow, timeline],
  spectrum: [spectrum, live],
  training: [training, live],
  sample: [sample, live],
  settings: [settings, live],
  presets: [presets, live],
  lesson: [lesson, live],
  io: [io, live],
  equations: [equations, live],
  status: [status, live],
  summary: [summary, timeline],
  modes: [modes, live],
  help: [help, live],
  "your-data": [yourData, live],
};
for (const [name, [view, source]] of Object.entries(views)) {
  for (const element of document.querySelectorAll(`[data-view="${name}"]`)) view.mount(element, source);
}

live.connect();
window.unroll = { stream: live, timeline, state, frameStats }; // for the browser tests and the curious

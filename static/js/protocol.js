// Mirror of app/protocol.py: the message tags both sides agree on (tests/web/test_protocol_js.py
// keeps them in step) and the decoding of non-finite numbers.

export const PROTOCOL_VERSION = 1;

export const COMMAND_TYPES = [
  "configure",
  "reset",
  "step_forward",
  "step_backward",
  "advance",
  "finish_iteration",
  "play",
  "pause",
  "train",
  "set_hyper",
  "sample",
  "rescale",
  "diagnose",
  "use_text",
  "export",
  "import",
  "use_upload",
  "export_script",
  "join",
  "fork",
  "resume_fork",
  "leave_fork",
  "spotlight",
  "lock_forks",
  "class_csv",
  "end_room",
];

export const FRAME_TYPES = [
  "hello",
  "sequence",
  "forward",
  "backward",
  "update",
  "progress",
  "replay",
  "hyper",
  "spectrum",
  "diagnostics",
  "sample",
  "export",
  "script",
  "room",
  "room_state",
  "forked",
  "class",
  "class_csv",
  "room_closed",
  "error",
  "ack",
  "queued",
];

// Frames that answer one command of the sender's (frame type -> command type): a request for
// that command resolves with the frame.
export const REPLY_FRAMES = {
  export: "export",
  script: "export_script",
  class_csv: "class_csv",
};

// Whether a run config differs from the fields a page wants (only those fields are compared).
export function configDiffers(current, wanted) {
  return Object.entries(wanted).some(([key, value]) => current[key] !== value);
}

const NON_FINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

function revive(_key, value) {
  return typeof value === "string" && value in NON_FINITE ? NON_FINITE[value] : value;
}

// JSON has no NaN or Infinity: the server sends them as strings, turned back into numbers here.
// The reviver only runs when a marker is present, which is rare (an exploding run).
export function decodeFrame(text) {
  const hasMarker = text.includes('"NaN"') || text.includes('Infinity"');
  return JSON.parse(text, hasMarker ? revive : undefined);
}

export function formatNumber(x, digits = 3) {
  if (x === null || x === undefined) return "–";
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+∞";
  if (x === -Infinity) return "−∞";
  const magnitude = Math.abs(x);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e4)) return x.toExponential(2);
  return x.toFixed(digits);
}

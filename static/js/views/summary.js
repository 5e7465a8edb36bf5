// The run in one sentence for a screen reader, in a polite live region: which step, what loss,
// and whether the gradient vanishes or explodes, each number read off the frame it describes.
// Written at most every SPEAK_MS, the latest state winning, so playing at 30 steps a second
// does not flood the listener.

import { gradientBand } from "../colors.js";
import { formatNumber } from "../format.js";

const SPEAK_MS = 1500;
const BAND_WORDS = { vanishing: "vanishing", neutral: "healthy", exploding: "exploding", nonfinite: "not finite (inf or NaN)" };

const loss = (x) => formatNumber(x, 3);

// What a frame says, or null when it says nothing worth announcing.
export function describe(frame, first) {
  switch (frame.type) {
    case "forward":
      return `Forward step t = ${frame.t} of ${frame.seq_len}: ` +
        (frame.counted ? `loss L_${frame.t} = ${loss(frame.loss)}, ` : "no loss at this step, ") +
        `L so far = ${loss(frame.total_loss)}.`;
    case "backward": {
      const band = BAND_WORDS[gradientBand(frame.dh_norm)];
      const reach = first && frame.t === 0 && Number.isFinite(first.dh_norm) && first.dh_norm > 0
        ? ` From t = ${first.t} back to t = 0 it changed × ${formatNumber(frame.dh_norm / first.dh_norm, 2)}.`
        : "";
      return `BPTT step t = ${frame.t}: gradient norm ${formatNumber(frame.dh_norm, 3)}, ${band}.${reach}`;
    }
    case "update":
      return `Update ${frame.iteration + 1}: loss L = ${loss(frame.loss)}, gradient norm ` +
        `${formatNumber(frame.norm_before_clip, 3)}${frame.clipped ? ", clipped" : ""}` +
        `${frame.finite ? "" : ", not applied: inf or NaN"}.`;
    case "progress":
      return `Training: iteration ${frame.iteration}, loss L = ${loss(frame.loss)}, smoothed ${loss(frame.smooth_loss)}` +
        `${frame.skipped ? `, ${frame.skipped} updates skipped (inf or NaN)` : ""}.`;
    default:
      return null;
  }
}

export function mount(root, stream) {
  root.setAttribute("aria-live", "polite");
  root.setAttribute("role", "status");
  let text = "";
  let firstBackward = null; // the first BPTT step of the pass shown: where the gradient starts
  let spokenAt = -Infinity;
  let timer = null;

  const speak = () => {
    timer = null;
    spokenAt = performance.now();
    root.textContent = text;
  };
  const say = (sentence) => {
    text = sentence;
    if (timer !== null) return;
    timer = setTimeout(speak, Math.max(0, spokenAt + SPEAK_MS - performance.now()));
  };
  for (const type of ["forward", "backward", "update", "progress"]) {
    stream.on(type, (frame) => {
      if (frame.preview) return; // a replayed picture of training, already summed up by progress
      if (type === "backward" && (!firstBackward || frame.t >= firstBackward.t)) firstBackward = frame;
      const sentence = describe(frame, firstBackward);
      if (sentence) say(sentence);
    });
  }
  for (const type of ["hello", "sequence"]) {
    stream.on(type, (frame) => {
      firstBackward = null;
      if (type === "hello") say(`A new run: ${frame.config.cell.toUpperCase()}, ${frame.seq_len} steps. Nothing computed yet.`);
    });
  }
}

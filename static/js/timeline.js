// The stream the per-step views watch: the live stream, or a replay of the steps already
// computed in this iteration when the user scrubs back. Views cannot tell the difference: a
// replay is a "sequence" frame (start over) followed by the recorded frames up to the position.
//
// When an iteration ends (update), its picture stays up until the next one really starts (its
// first forward step, or training): the server announces the next sequence at once, but a class
// wants to look at the finished iteration first.
//
// Events: the frames it shows, "status" (the live stream's), and "change" (itself) whenever its
// frames or position change.

import { Emitter } from "./emitter.js";

const RECORDED = new Set(["forward", "backward", "update"]);
const STEPPING = new Set([
  "step_forward", "step_backward", "advance", "finish_iteration", "play", "train", "reset",
  "configure", "import",
]);

export class Timeline extends Emitter {
  constructor(live) {
    super();
    this.live = live;
    this.opening = null; // the hello or sequence frame that started the iteration shown
    this.frames = []; // forward, backward and update frames of that iteration, in order
    this.position = null; // null: live; else how many of `frames` are shown
    this.next = null; // the next iteration's sequence, held while the finished one is shown
    live.on("frame", (frame) => this.receive(frame));
    live.on("status", (status) => this.emit("status", status));
  }

  // Commands go to the live stream; one that moves the run brings the view back to live.
  request(type, fields) {
    if (this.position !== null && STEPPING.has(type)) this.seek(null);
    return this.live.request(type, fields);
  }

  get status() {
    return this.live.status;
  }

  get length() {
    return this.frames.length;
  }

  // What frame i is, in words, for the scrubber.
  label(count) {
    if (count === 0) return "start";
    const frame = this.frames[count - 1];
    if (!frame) return "";
    if (frame.type === "update") return "update";
    return `${frame.type === "forward" ? "forward" : "BPTT"} t=${frame.t}`;
  }

  // Whether the finished iteration is on show while the next one waits.
  get holding() {
    return this.next !== null;
  }

  changed() {
    this.emit("change", this);
  }

  receive(frame) {
    switch (frame.type) {
      case "hello":
        this.begin(frame);
        return;
      case "sequence":
        if (this.frames.at(-1)?.type === "update") {
          this.next = frame;
          this.changed();
        } else {
          this.begin(frame);
        }
        return;
      case "progress":
        if (this.next) this.begin(this.next);
        break;
      default:
        break;
    }
    if (!RECORDED.has(frame.type)) {
      this.show(frame);
      return;
    }
    if (frame.type === "forward" && this.next) this.begin(this.next);
    this.frames.push(frame);
    if (this.position === null) this.show(frame);
    this.changed();
  }

  begin(frame) {
    this.opening = frame;
    this.frames = [];
    this.position = null;
    this.next = null;
    this.show(frame);
    this.changed();
  }

  show(frame) {
    this.emit(frame.type, frame);
    this.emit("frame", frame);
  }

  // Show the iteration as it was after `count` of its frames (null, or all of them: live).
  seek(count) {
    const live = count === null || count >= this.frames.length;
    const shown = live ? this.frames.length : Math.max(0, count);
    if (live && this.position === null) return;
    this.position = live ? null : shown;
    if (this.opening) this.show({ ...this.opening, type: "sequence", replay: true });
    for (const frame of this.frames.slice(0, shown)) this.show(frame);
    this.changed();
  }

  step(delta) {
    const at = this.position ?? this.frames.length;
    this.seek(Math.max(0, at + delta));
  }
}

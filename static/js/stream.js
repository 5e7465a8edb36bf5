// The one owner of the websocket: connects, reconnects, decodes frames and hands them out as
// typed events, and is the page's one way to send a command (request). Views subscribe with
// stream.on(type, handler) and never touch the socket.
//
// Events: every frame type, "frame" (all of them), "sent" (each command as it leaves), and
// "status" with { status: "connecting" | "open" | "closed" | "ended", detail, attempt, retryMs,
// reconnected }.

import { Emitter } from "./emitter.js";
import { COMMAND_TYPES, REPLY_FRAMES, configDiffers, decodeFrame } from "./protocol.js";

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8000;
const RATE_MARGIN = 0.9; // stay this far under the server's command rate

// A command the server refused (or that never reached it: code "closed").
export class CommandError extends Error {
  constructor(frame) {
    super(frame.message);
    this.code = frame.code;
    this.field = frame.field ?? null;
    this.command = frame.command ?? null;
  }
}

export class Stream extends Emitter {
  // restore: after a reconnect the server starts a fresh session; put this page's run back
  // (its config) with one configure. Off for a room, whose run lives on in the room.
  constructor(url, { restore = true } = {}) {
    super();
    this.url = url;
    this.restore = restore;
    this.socket = null;
    this.status = "connecting";
    this.attempt = 0; // failed connections since the last open one
    this.config = null; // the run this page asked for or the server confirmed (set_hyper included)
    this.restoring = null; // the configure that puts the run back after a reconnect, while pending
    this.ready = this.next("hello"); // the first hello of the first connection
    this.everOpened = false;
    this.fresh = false; // the next hello is the first of this connection
    this.retryMs = RETRY_MIN_MS;
    this.retryTimer = null;
    this.nextId = 1;
    this.pending = new Map(); // command id -> { type, fields, resolve, reject, reply }
    this.latest = new Map(); // frame type -> the latest frame of that type
    this.queue = []; // commands waiting for the rate limit
    this.bucket = { rate: Infinity, burst: Infinity, tokens: Infinity, stamp: 0, timer: null };
  }

  get hello() {
    return this.latest.get("hello") ?? null;
  }

  get sessionId() {
    return this.hello?.session_id ?? null;
  }

  last(type) {
    return this.latest.get(type) ?? null;
  }

  // Open the socket (and keep it open); resolves with the first hello.
  connect() {
    this.setStatus("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.fresh = true;
      this.retryMs = RETRY_MIN_MS;
      this.attempt = 0;
      this.setStatus("open", "", { reconnected });
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.drop("connection lost");
      this.attempt += 1;
      const retryMs = this.retryMs;
      this.setStatus("closed", event.reason || `code ${event.code}`, { retryMs, code: event.code });
      this.retryTimer = setTimeout(() => this.socket === socket && this.connect(), retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
    return this.ready;
  }

  // For good: no more reconnecting (a room that ended). Status "ended", with the reason.
  close(detail = "") {
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.drop("the stream is closed");
    this.setStatus("ended", detail);
  }

  setStatus(status, detail = "", extra = {}) {
    this.status = status;
    this.emit("status", { status, detail, attempt: this.attempt, ...extra });
  }

  // Commands still waiting will never be answered.
  drop(message) {
    this.queue = [];
    for (const [, waiter] of this.pending) waiter.reject(new CommandError({ code: "closed", message, command: waiter.type }));
    this.pending.clear();
  }

  receive(text) {
    const frame = decodeFrame(text);
    if (frame.type === "ack" || frame.type === "error") this.settle(frame);
    else if (frame.type === "hello") this.greet(frame);
    else if (frame.type in REPLY_FRAMES) this.reply(frame);
    this.latest.set(frame.type, frame);
    this.emit(frame.type, frame);
    this.emit("frame", frame);
  }

  greet(hello) {
    const limits = hello.limits;
    if (limits) this.limitRate(limits.max_commands_per_second);
    const fresh = this.fresh;
    this.fresh = false;
    if (fresh && this.restore && this.config && configDiffers(hello.config, this.config)) {
      // A fresh session runs the server's default: ask for ours. Its own hello comes next.
      const restoring = this.request("configure", { config: this.config });
      this.restoring = restoring;
      restoring.catch(() => {
        if (this.restoring === restoring) this.restoring = null;
      });
      return;
    }
    this.restoring = null;
    this.config = hello.config;
  }

  reply(frame) {
    for (const waiter of this.pending.values()) {
      if (REPLY_FRAMES[frame.type] === waiter.type && !waiter.reply) {
        waiter.reply = frame;
        return;
      }
    }
  }

  settle(frame) {
    const waiter = this.pending.get(frame.command_id);
    frame.command = frame.command ?? waiter?.type ?? null;
    if (!waiter) return;
    this.pending.delete(frame.command_id);
    if (frame.type === "error") {
      if (waiter.type === "configure") this.config = this.hello?.config ?? null; // the run goes on as it was
      waiter.reject(new CommandError(frame));
      return;
    }
    if (waiter.type === "set_hyper" && this.config) {
      const changed = Object.entries(waiter.fields).filter(([, value]) => value !== null && value !== undefined);
      this.config = { ...this.config, ...Object.fromEntries(changed) };
    }
    waiter.resolve(waiter.reply ?? frame);
  }

  // Send a command. Resolves on its ack (with its reply frame instead, for an export); rejects
  // with a CommandError when refused or never answered. A caller that only fires may ignore the
  // promise: a refusal is also an "error" frame for the views that show it.
  request(type, fields = {}) {
    if (!COMMAND_TYPES.includes(type)) throw new Error(`unknown command ${type}`);
    const promise = new Promise((resolve, reject) => {
      if (this.socket?.readyState !== WebSocket.OPEN) {
        reject(new CommandError({ code: "closed", message: "not connected", command: type }));
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { type, fields, resolve, reject, reply: null });
      if (type === "configure") this.config = fields.config;
      this.queue.push({ type, id, ...fields });
      this.flush();
    });
    promise.catch(() => {});
    return promise;
  }

  // The server refuses commands past its rate; stay under it (a held key, a training loop).
  limitRate(perSecond) {
    const rate = RATE_MARGIN * perSecond;
    Object.assign(this.bucket, { rate, burst: rate, tokens: Math.min(this.bucket.tokens, rate) });
  }

  flush() {
    const bucket = this.bucket;
    while (this.queue.length) {
      if (bucket.rate !== Infinity) {
        const now = performance.now();
        bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.stamp) * bucket.rate) / 1000);
        bucket.stamp = now;
        if (bucket.tokens < 1) {
          bucket.timer ??= setTimeout(() => {
            bucket.timer = null;
            this.flush();
          }, ((1 - bucket.tokens) * 1000) / bucket.rate);
          return;
        }
        bucket.tokens -= 1;
      }
      const command = this.queue.shift();
      this.socket.send(JSON.stringify(command));
      this.emit("sent", command);
    }
  }
}

export function streamUrl(path = "/ws") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

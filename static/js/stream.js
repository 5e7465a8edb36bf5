// The one owner of the websocket: connects, reconnects, decodes frames and hands them out as
// typed events. Views subscribe with stream.on(type, handler) and never touch the socket.
//
// Events: every frame type, "frame" (all of them), and "status" with
// { status: "connecting" | "open" | "closed", detail, attempt, retryMs, reconnected }.

import { COMMAND_TYPES, decodeFrame } from "./protocol.js";

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8000;

export class Stream {
  constructor(url) {
    this.url = url;
    this.handlers = new Map();
    this.nextId = 1;
    this.retryMs = RETRY_MIN_MS;
    this.socket = null;
    this.status = "connecting";
    this.attempt = 0; // failed connections since the last open one
    this.everOpened = false;
    this.pending = new Map(); // command id -> command type, so errors can name their control
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  emit(type, payload) {
    for (const handler of this.handlers.get(type) ?? []) handler(payload);
  }

  connect() {
    this.setStatus("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.retryMs = RETRY_MIN_MS;
      this.attempt = 0;
      this.setStatus("open", "", { reconnected });
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.pending.clear();
      this.attempt += 1;
      const retryMs = this.retryMs;
      this.setStatus("closed", event.reason || `code ${event.code}`, { retryMs });
      setTimeout(() => {
        if (this.socket === socket) this.connect();
      }, retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
  }

  setStatus(status, detail = "", extra = {}) {
    this.status = status;
    this.emit("status", { status, detail, attempt: this.attempt, ...extra });
  }

  receive(text) {
    const frame = decodeFrame(text);
    if (frame.type === "error" || frame.type === "ack") {
      frame.command = frame.command ?? this.pending.get(frame.command_id) ?? null;
      this.pending.delete(frame.command_id);
    }
    this.emit(frame.type, frame);
    this.emit("frame", frame);
  }

  // Send a command; returns its id, echoed by the server's ack or error (null when offline).
  send(type, fields = {}) {
    if (!COMMAND_TYPES.includes(type)) throw new Error(`unknown command ${type}`);
    if (this.socket?.readyState !== WebSocket.OPEN) return null;
    const id = this.nextId++;
    this.pending.set(id, type);
    this.socket.send(JSON.stringify({ type, id, ...fields }));
    this.emit("sent", { type, id, ...fields });
    return id;
  }
}

export function streamUrl(path = "/ws") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

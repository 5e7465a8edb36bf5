// The one owner of the websocket: connects, reconnects, decodes frames and hands them out as
// typed events. Views subscribe with stream.on(type, handler) and never touch the socket.

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
      this.retryMs = RETRY_MIN_MS;
      this.setStatus("open");
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.setStatus("closed", event.reason || `code ${event.code}`);
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
  }

  setStatus(status, detail = "") {
    this.status = status;
    this.emit("status", { status, detail });
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

  // Send a command; returns its id, echoed by the server's ack or error.
  send(type, fields = {}) {
    if (!COMMAND_TYPES.includes(type)) throw new Error(`unknown command ${type}`);
    if (this.socket?.readyState !== WebSocket.OPEN) return null;
    const id = this.nextId++;
    this.pending.set(id, type);
    this.socket.send(JSON.stringify({ type, id, ...fields }));
    return id;
  }
}

export function streamUrl(path = "/ws") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

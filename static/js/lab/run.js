// One run = one websocket session (one Stream), with promises for its commands. Pages that show
// several runs side by side (A/B, RNN vs LSTM vs GRU, the gallery's four diagrams) hold one Run
// each. Views still mount on run.stream and subscribe to its frames as usual.

import { Stream, streamUrl } from "../stream.js";

const MIN_SPACING_MS = 25; // at most 40 commands a second per run: under the server's rate limit

export class CommandError extends Error {
  constructor(frame) {
    super(frame.message);
    this.code = frame.code;
    this.field = frame.field;
  }
}

export class Run {
  constructor(name = "") {
    this.name = name;
    this.stream = new Stream(streamUrl());
    this.hello = null; // the latest hello frame: config, vocab, limits, the sequence
    this.desired = null; // the config this page wants; re-applied if the server starts afresh
    this.sessionId = null;
    this.waiting = new Map(); // command id -> { resolve, reject }
    this.chain = Promise.resolve(); // commands go one at a time, spaced
    this.lastSent = 0;
    this.coalesced = new Map(); // key -> { running, next }
    const stream = this.stream;
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    stream.on("hello", (frame) => {
      const restarted = this.sessionId !== null && frame.session_id !== this.sessionId;
      this.sessionId = frame.session_id;
      this.hello = frame;
      this.markReady(frame);
      // A reconnect gets a fresh session with the server's default run: put ours back.
      if (restarted && this.desired) this.configure(this.desired).catch(() => {});
    });
    this.spectrum = null; // the latest spectrum frame
    stream.on("spectrum", (frame) => {
      this.spectrum = frame;
    });
    stream.on("ack", (frame) => this.settle(frame.command_id, null, frame));
    stream.on("error", (frame) => this.settle(frame.command_id, new CommandError(frame)));
    stream.on("status", ({ status }) => {
      if (status === "open") return;
      for (const [, waiter] of this.waiting) waiter.reject(new CommandError({ code: "closed", message: "connection lost" }));
      this.waiting.clear();
    });
  }

  connect() {
    this.stream.connect();
    return this.ready;
  }

  settle(id, error, frame) {
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    if (error) waiter.reject(error);
    else waiter.resolve(frame);
  }

  // Send a command once the previous one is answered; resolves on its ack (every frame it
  // produced has been emitted by then), rejects with a CommandError on refusal.
  request(type, fields = {}) {
    const send = async () => {
      const wait = this.lastSent + MIN_SPACING_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastSent = performance.now();
      return new Promise((resolve, reject) => {
        const id = this.stream.send(type, fields);
        if (id === null) {
          reject(new CommandError({ code: "closed", message: "not connected" }));
          return;
        }
        this.waiting.set(id, { resolve, reject });
      });
    };
    const result = this.chain.then(send, send);
    this.chain = result.catch(() => {});
    return result;
  }

  // Latest wins: while a `key` job runs, only the newest job asked for waits behind it (a
  // slider dragged fast sends the value it rests on, not every value it passed).
  latest(key, job) {
    let slot = this.coalesced.get(key);
    if (!slot) {
      slot = { running: false, next: null };
      this.coalesced.set(key, slot);
    }
    slot.next = job;
    if (slot.running) return;
    const pump = async () => {
      slot.running = true;
      while (slot.next) {
        const next = slot.next;
        slot.next = null;
        try {
          await next();
        } catch {
          // the job reports its own errors
        }
      }
      slot.running = false;
    };
    pump();
  }

  configure(config) {
    this.desired = config;
    return this.request("configure", { config });
  }

  // The next frame of a type (for replies that come as frames, such as export).
  next(type) {
    return new Promise((resolve) => {
      const off = this.stream.on(type, (frame) => {
        off();
        resolve(frame);
      });
    });
  }

  async exportState() {
    const frame = this.next("export");
    await this.request("export");
    return (await frame).state;
  }

  // Put this run on the reference run's data: the same batch now and the same data generator
  // state, so every later batch matches too. At the same seed the server already draws the same
  // data for any model; this also holds the two runs together when their seeds differ.
  async alignTo(reference) {
    const [theirs, ours] = await Promise.all([reference.exportState(), this.exportState()]);
    const state = { ...ours, batch: theirs.batch, rng: theirs.rng, cursor: theirs.cursor };
    await this.request("import", { state });
  }
}

// One status for many runs, for the header badge: open only when every run is open.
export function combinedStatus(runs) {
  const handlers = new Set();
  const states = runs.map(() => null); // a run not connected yet does not count
  const rank = { closed: 0, connecting: 1, open: 2 };
  runs.forEach((run, i) =>
    run.stream.on("status", (state) => {
      states[i] = state;
      const known = states.filter(Boolean);
      const worst = known.reduce((a, b) => ((rank[b.status] ?? 1) < (rank[a.status] ?? 1) ? b : a));
      for (const handler of handlers) handler(worst);
    }),
  );
  return {
    on(type, handler) {
      if (type !== "status") return () => {};
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}

// The presets, fetched once per page (GET /api/presets).
let presetsPromise = null;
export function presets() {
  presetsPromise ??= fetch("/api/presets").then((response) => response.json());
  return presetsPromise;
}

export async function presetConfig(name, overrides = {}) {
  const preset = (await presets()).find((p) => p.name === name);
  if (!preset) throw new Error(`no preset ${name}`);
  return { ...preset.config, ...overrides };
}

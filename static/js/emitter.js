// The one event emitter of the front end: the stream, the timeline, the page store and the lab's
// charts all hand out their events through it. on() returns the function that unsubscribes.

export class Emitter {
  #handlers = new Map(); // type -> Set of handlers

  on(type, handler) {
    if (!this.#handlers.has(type)) this.#handlers.set(type, new Set());
    this.#handlers.get(type).add(handler);
    return () => this.off(type, handler);
  }

  off(type, handler) {
    this.#handlers.get(type)?.delete(handler);
  }

  emit(type, payload) {
    for (const handler of this.#handlers.get(type) ?? []) handler(payload);
  }

  // The next event of a type, as a promise (a reply that comes as a frame, the end of a job).
  next(type) {
    return new Promise((resolve) => {
      const off = this.on(type, (payload) => {
        off();
        resolve(payload);
      });
    });
  }
}

// Draw at most once per animation frame, whatever the rate frames arrive at: views mark
// themselves dirty and render the latest state only.
//
// One scheduler for the page, so the views share a frame's budget: cheap renders (SVG attribute
// changes, text) run every frame; heavy ones (a Plotly chart costs 7-19 ms on a 2-core machine
// without a GPU) may ask for a minimum interval, and after the first heavy render of a frame the
// others wait for a later frame unless their measured cost still fits in the budget.

const BUDGET_MS = 12;
const STARVE_MS = 250; // a heavy render never waits longer than this for a quiet frame

const queue = new Set();
let requested = false;
let timer = null;

// Elements scrolled out of view: their renders wait until they come back (a chart below the
// fold need not redraw 60 times a second). Hidden elements (display: none) count as out of view.
const offscreen = new WeakSet();
const observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) offscreen.delete(entry.target);
    else offscreen.add(entry.target);
  }
  if (queue.size) request();
}, { rootMargin: "150px" });
const waiting = (job) => job.element !== null && offscreen.has(job.element);

// What the scheduler did, for bench/browser.py and the curious: per drawn frame, ms of work.
export const frameStats = {
  frames: 0,
  busyMs: 0,
  costs: {}, // named renders: their latest smoothed cost in ms
  recent: [], // the last 600 frames' work in ms
  get pending() {
    return [...queue].filter((job) => !waiting(job)).length; // renders due in view
  },
  worst: { ms: 0, renders: [] }, // the costliest drawn frame and what it drew
  reset() {
    this.frames = 0;
    this.busyMs = 0;
    this.recent = [];
    this.worst = { ms: 0, renders: [] };
    this.costs = {};
  },
};

function request() {
  if (requested) return;
  requested = true;
  requestAnimationFrame(flush);
}

function later(ms) {
  if (timer !== null) return;
  timer = setTimeout(() => {
    timer = null;
    request();
  }, ms);
}

function flush() {
  requested = false;
  const start = performance.now();
  const due = [];
  let wait = Infinity;
  for (const job of queue) {
    if (waiting(job)) continue;
    const ready = job.last + job.minIntervalMs - start;
    if (ready <= 0) due.push(job);
    else wait = Math.min(wait, ready);
  }
  // Cheap jobs first; heavy ones oldest first so none starves.
  due.sort((a, b) => Number(a.heavy) - Number(b.heavy) || a.since - b.since);
  let heavyDone = false;
  const done = [];
  for (const job of due) {
    // A heavy render waits for a later frame if this one's budget cannot take it, unless it is
    // the first of the frame and has waited long enough already.
    const over = performance.now() - start + job.cost > BUDGET_MS;
    const starving = start - job.since > STARVE_MS;
    if (job.heavy && over && (heavyDone || !starving)) {
      wait = Math.min(wait, 0);
      continue;
    }
    queue.delete(job);
    const began = performance.now();
    job.last = began;
    job.render();
    const took = performance.now() - began;
    job.cost = job.cost ? 0.7 * job.cost + 0.3 * took : took;
    if (job.name) frameStats.costs[job.name] = job.cost;
    done.push(`${job.name || "view"} ${took.toFixed(1)}`);
    if (job.heavy) heavyDone = true;
  }
  const work = performance.now() - start;
  if (due.length) {
    frameStats.frames += 1;
    frameStats.busyMs += work;
    frameStats.recent.push(work);
    if (frameStats.recent.length > 600) frameStats.recent.shift();
    if (work > frameStats.worst.ms) frameStats.worst = { ms: work, renders: done };
  }
  if (wait === 0 || wait < 17) request();
  else if (wait !== Infinity) later(wait);
}

// A function that schedules `render` for the next animation frame (once, however often called).
// Options: minIntervalMs between two renders (heatmaps: 100), heavy (a Plotly chart), the
// element drawn into (its renders wait while it is out of view), and a name under which
// frameStats reports the render's cost.
export function batched(render, { minIntervalMs = 0, heavy = false, name = "", element = null } = {}) {
  const job = { render, minIntervalMs, heavy, name, element, last: -Infinity, since: 0, cost: 0 };
  if (element && observer) observer.observe(element);
  return () => {
    if (!queue.has(job)) {
      job.since = performance.now();
      queue.add(job);
    }
    request();
  };
}

// What the page knows and wants, in one small store: the run's config as the server last
// confirmed it, the config the page asks for (the URL's), the limits, the lessons, and the page's
// own UI state (speed, the selected cell, presenter, embed, hidden areas). The wanted config
// (temperature included) and the page settings live in the URL, so a shared link opens the
// exact same run, seed included. Views read it and write UI events to it, never to the stream.

import { Emitter } from "./emitter.js";
import { CONFIG_FIELDS, isConfigField, parseField } from "./run_config.js";

// Tasks made of the session's own data (pasted text, an uploaded file): no link can carry them.
const OWN_TASKS = new Set(["pasted", "uploaded"]);

// Fields the server changes mid-run without a reset (set_hyper).
export const LIVE_FIELDS = new Set(["learning_rate", "clip_mode", "clip_threshold", "temperature"]);

const SPEED_DEFAULT = 2;

// The run config a URL asks for (only the fields present), typed as the server expects.
export function configFromUrl(search = location.search) {
  const params = new URLSearchParams(search);
  const config = {};
  for (const key of CONFIG_FIELDS) {
    if (!params.has(key)) continue;
    const value = parseField(key, params.get(key));
    if (value !== undefined) config[key] = value;
  }
  return config;
}

// The page's own flags from a URL: ?embed=1, ?presenter=1, ?hide=controls,training, ?speed=5.
export function pageFlags(search = location.search) {
  const params = new URLSearchParams(search);
  const speed = Number(params.get("speed"));
  return {
    embed: params.get("embed") === "1",
    presenter: params.get("presenter") === "1",
    hide: new Set((params.get("hide") ?? "").split(",").map((s) => s.trim()).filter(Boolean)),
    speed: Number.isFinite(speed) && speed > 0 ? speed : SPEED_DEFAULT,
    preset: params.get("preset") || null,
  };
}

class Store extends Emitter {
  constructor(values) {
    super();
    this.values = values;
  }

  get(key) {
    return this.values[key];
  }

  // Change some values; one "change" event names the keys that really changed.
  set(changes) {
    const changed = Object.keys(changes).filter((key) => this.values[key] !== changes[key]);
    if (!changed.length) return;
    Object.assign(this.values, changes);
    this.emit("change", changed);
  }

  // Call listener(values, changed) once per change touching any of `keys`.
  watch(keys, listener) {
    const watched = [].concat(keys);
    return this.on("change", (changed) => {
      if (changed.some((key) => watched.includes(key))) listener(this.values, changed);
    });
  }
}

const flags = pageFlags();
// A room page (it names the room's socket) shows the room's run: its URL asks for none.
const IN_ROOM = document.querySelector("[data-stream]") !== null;

export const state = new Store({
  config: null, // RunConfig as the server last confirmed it (hello, set_hyper acks)
  wanted: IN_ROOM ? {} : configFromUrl(), // what the page asks for: the URL's run
  limits: null,
  vocab: [],
  presets: [], // from /api/presets (empty when the server has none)
  tasks: [], // from /api/tasks
  preset: IN_ROOM ? null : flags.preset, // name of the lesson preset picked, if any
  selected: null, // the time step whose numbers are open (a cell clicked), or null
  speed: flags.speed, // steps per second for play
  presenter: flags.presenter,
  embed: flags.embed,
  hide: flags.hide,
  job: null, // "play" | "train" | null, as this page asked
  settled: false, // the run the link asks for is the one the server runs
});

// The task info of the current run, when /api/tasks told us.
export function currentTask() {
  const config = state.get("config");
  return config ? state.get("tasks").find((task) => task.name === config.task) ?? null : null;
}

// Mirror the wanted run and the page settings in the address bar (no history entry per knob).
export function writeUrl() {
  const params = new URLSearchParams(location.search);
  const wanted = IN_ROOM ? {} : state.get("wanted");
  for (const key of CONFIG_FIELDS) params.delete(key);
  for (const [key, value] of Object.entries(wanted)) {
    if (!isConfigField(key) || (key === "task" && OWN_TASKS.has(value))) continue;
    params.set(key, value === null ? "null" : String(value));
  }
  const preset = IN_ROOM ? null : state.get("preset");
  if (preset) params.set("preset", preset);
  else params.delete("preset");
  const speed = state.get("speed");
  if (speed !== SPEED_DEFAULT) params.set("speed", String(Number(speed.toPrecision(3))));
  else params.delete("speed");
  if (state.get("presenter")) params.set("presenter", "1");
  else params.delete("presenter");
  const query = String(params);
  history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
}

state.watch(["wanted", "preset", "speed", "presenter"], writeUrl);

// What the page knows and wants, in one small store: the run's config as the server last
// confirmed it, the config the page asks for (the URL's), the limits, the lessons, and the page's
// own settings (speed, temperature, presenter, embed, hidden areas). The wanted config and the
// page settings live in the URL, so a shared link opens the exact same run, seed included.

// RunConfig fields and how each is read back from text.
export const CONFIG_FIELDS = {
  task: "text",
  cell: "text",
  activation: "text",
  hidden_size: "int",
  embedding_size: "int",
  seq_len: "int",
  batch_size: "int",
  init: "text",
  spectral_radius: "number?",
  init_scale: "number",
  optimizer: "text",
  learning_rate: "number",
  clip_mode: "text",
  clip_threshold: "number",
  truncation: "int?",
  temperature: "number",
  seed: "int",
};

// Fields the server changes mid-run without a reset (set_hyper).
export const LIVE_FIELDS = new Set(["learning_rate", "clip_mode", "clip_threshold"]);

const SPEED_DEFAULT = 2;

function parseField(kind, raw) {
  if (kind === "text") return raw;
  if (kind.endsWith("?") && (raw === "" || raw === "null" || raw === "none")) return null;
  const value = Number(raw);
  if (!Number.isFinite(value)) return undefined;
  return kind.startsWith("int") ? Math.round(value) : value;
}

// The run config a URL asks for (only the fields present), typed as the server expects.
export function configFromUrl(search = location.search) {
  const params = new URLSearchParams(search);
  const config = {};
  for (const [key, kind] of Object.entries(CONFIG_FIELDS)) {
    if (!params.has(key)) continue;
    const value = parseField(kind, params.get(key));
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

export function differs(current, wanted) {
  return Object.entries(wanted).some(([key, value]) => key in CONFIG_FIELDS && current[key] !== value);
}

class Store {
  constructor(values) {
    this.values = values;
    this.listeners = new Map();
  }

  get(key) {
    return this.values[key];
  }

  // Change some values; listeners of each changed key (and of "*") hear about it once.
  set(changes) {
    const changed = Object.keys(changes).filter((key) => this.values[key] !== changes[key]);
    if (!changed.length) return;
    Object.assign(this.values, changes);
    const called = new Set();
    for (const key of [...changed, "*"]) {
      for (const listener of this.listeners.get(key) ?? []) {
        if (called.has(listener)) continue;
        called.add(listener);
        listener(this.values, changed);
      }
    }
  }

  on(keys, listener) {
    for (const key of [].concat(keys)) {
      if (!this.listeners.has(key)) this.listeners.set(key, new Set());
      this.listeners.get(key).add(listener);
    }
  }
}

const flags = pageFlags();

export const state = new Store({
  config: null, // RunConfig as the server last confirmed it (hello, set_hyper acks)
  wanted: configFromUrl(), // what the page asks for: the URL's run; reapplied after a reconnect
  limits: null,
  vocab: [],
  presets: [], // from /api/presets (empty when the server has none)
  tasks: [], // from /api/tasks
  preset: flags.preset, // name of the lesson preset picked, if any
  temperature: configFromUrl().temperature ?? 1,
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
  const wanted = state.get("wanted");
  for (const key of Object.keys(CONFIG_FIELDS)) params.delete(key);
  for (const [key, value] of Object.entries(wanted)) {
    if (!(key in CONFIG_FIELDS) || (key === "task" && value === "pasted")) continue;
    params.set(key, value === null ? "null" : String(value));
  }
  params.set("temperature", String(state.get("temperature")));
  const preset = state.get("preset");
  if (preset) params.set("preset", preset);
  else params.delete("preset");
  const speed = state.get("speed");
  if (speed !== SPEED_DEFAULT) params.set("speed", String(Number(speed.toPrecision(3))));
  else params.delete("speed");
  if (state.get("presenter")) params.set("presenter", "1");
  else params.delete("presenter");
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

state.on(["wanted", "temperature", "preset", "speed", "presenter"], writeUrl);

// Every knob of the run: task, cell, activation, sizes, initialisation and spectral radius of
// W_hh, seed, truncation, optimizer, learning rate, clipping and the sampling temperature. Most
// restart the run (configure); learning rate, clipping and temperature change it as it trains
// (set_hyper). A refusal shows under the knob that caused it, and the knob goes back to what the
// server runs.

import { formatNumber } from "../format.js";
import { LIVE_FIELDS, state } from "../page_state.js";

const DEBOUNCE_MS = 200;
const OFF_LABEL = { spectral_radius: "off", truncation: "full" };

export function mount(root, stream) {
  const inputs = new Map([...root.querySelectorAll("[name]")].map((input) => [input.name, input]));
  const formError = root.querySelector("[data-role=form-error]");
  let restart = {};
  let live = {};
  let timer = null;

  const read = (input) => {
    if (input.type === "number") return Math.round(Number(input.value));
    if (input.type !== "range") return input.value;
    const raw = Number(input.value);
    if (input.dataset.off !== undefined && raw === Number(input.dataset.off)) return null;
    if (input.dataset.scale === "log") return Number((10 ** raw).toPrecision(2));
    return raw;
  };

  const show = (name, value) => {
    const output = root.querySelector(`output[data-for=${name}]`);
    if (!output) return;
    if (value === null || value === undefined) output.textContent = OFF_LABEL[name] ?? "–";
    else if (Number.isInteger(value)) output.textContent = String(value);
    else output.textContent = formatNumber(value, value < 0.1 ? 4 : 2).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  };

  const write = (name, value) => {
    const input = inputs.get(name);
    if (!input) return;
    if (input.type === "range") {
      if (value === null) input.value = input.dataset.off ?? input.min;
      else if (input.dataset.scale === "log") input.value = Math.log10(value);
      else input.value = value;
    } else if (input.tagName === "SELECT" && value !== null && ![...input.options].some((o) => o.value === String(value))) {
      input.append(new Option(String(value), String(value)));
      input.value = String(value);
    } else {
      input.value = value ?? "";
    }
    show(name, value);
  };

  const clearErrors = () => {
    formError.textContent = "";
    for (const slot of root.querySelectorAll(".field-error[data-for]")) slot.remove();
    for (const input of inputs.values()) input.classList.remove("invalid");
  };

  const showConfig = () => {
    const config = state.get("config");
    if (!config) return;
    for (const name of inputs.keys()) {
      if (name in config) write(name, config[name]);
    }
    const limits = state.get("limits");
    const hidden = inputs.get("hidden_size");
    if (hidden && limits) hidden.max = Math.min(Math.max(64, config.hidden_size), limits.max_hidden_size);
    const task = state.get("tasks").find((t) => t.name === config.task);
    const length = inputs.get("seq_len");
    if (length && limits) {
      length.max = Math.min(Math.max(60, config.seq_len), limits.max_seq_len);
      const fixed = task?.fixed_seq_len ?? null;
      length.disabled = fixed !== null;
      length.closest("label").title = fixed !== null ? `this task's sequences are always ${fixed} steps` : "";
    }
    const truncation = inputs.get("truncation");
    if (truncation) truncation.max = Math.max(1, Number(length?.max ?? 60));
    // Gated cells have no single activation to choose.
    const activation = inputs.get("activation");
    if (activation) activation.disabled = config.cell !== "rnn";
  };

  const showTasks = () => {
    const select = inputs.get("task");
    if (!select) return;
    const tasks = state.get("tasks");
    const config = state.get("config");
    select.closest("label").hidden = !tasks.length;
    select.replaceChildren(...tasks.map((task) => new Option(task.title, task.name)));
    if (config && !tasks.some((t) => t.name === config.task)) select.append(new Option(config.task, config.task));
    if (config) select.value = config.task;
  };

  const flush = () => {
    timer = null;
    const config = state.get("config");
    if (!config) return;
    if (Object.keys(restart).length) {
      const wanted = { ...config, ...restart, ...live };
      if (stream.status === "open") state.set({ wanted });
      stream.request("configure", { config: wanted });
    } else if (Object.keys(live).length) {
      const hyper = live;
      stream.request("set_hyper", hyper).then(
        () => {
          const changed = { ...state.get("config"), ...hyper };
          state.set({ config: changed, wanted: changed });
        },
        () => {}, // refused: the error frame shows under the knob
      );
    }
    restart = {};
    live = {};
  };

  for (const [name, input] of inputs) {
    input.addEventListener("input", () => show(name, read(input)));
    input.addEventListener("change", () => {
      clearErrors();
      const value = read(input);
      if (LIVE_FIELDS.has(name)) live[name] = value;
      else restart[name] = value;
      if (name === "task") {
        // A different task: start from its own defaults, keeping the rest of the run.
        const task = state.get("tasks").find((t) => t.name === value);
        state.set({ preset: null });
        Object.assign(restart, task?.defaults ?? {});
        if (task?.fixed_seq_len) restart.seq_len = task.fixed_seq_len;
      }
      clearTimeout(timer);
      timer = setTimeout(flush, DEBOUNCE_MS);
    });
    // A pointer drag leaves the focus on the slider; give the arrow keys back to the transport.
    if (input.type === "range") input.addEventListener("pointerup", () => input.blur());
  }

  root.querySelector("[data-action=reseed]")?.addEventListener("click", () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    write("seed", seed);
    restart.seed = seed;
    clearTimeout(timer);
    timer = setTimeout(flush, 0);
  });

  state.watch(["config", "limits"], showConfig);
  state.watch(["tasks", "config"], showTasks);

  // A refused run: under its knob when the server names the field, else under the knobs.
  stream.on("error", (frame) => {
    if (!["configure", "set_hyper", "import"].includes(frame.command)) return;
    const name = frame.field?.split(".").pop();
    const input = inputs.get(name);
    if (input) {
      input.classList.add("invalid");
      const slot = Object.assign(document.createElement("small"), { className: "field-error", textContent: frame.message, role: "alert" });
      slot.dataset.for = name;
      input.closest("label").append(slot);
    } else if (frame.command !== "import") {
      formError.textContent = frame.message;
    }
    showConfig(); // the run goes on as it was
  });
}

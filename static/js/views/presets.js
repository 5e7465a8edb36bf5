// The lesson picker: every preset from /api/presets, grouped by task. Picking one configures its
// whole run. Without presets (the server has none) it shows just the current task.

import { differs, state } from "../page_state.js";

export function mount(root, stream) {
  const select = root.querySelector("select[name=preset]");

  const matching = () => {
    const config = state.get("config");
    if (!config) return null;
    const presets = state.get("presets");
    const named = presets.find((p) => p.name === state.get("preset"));
    if (named && named.config.task === config.task) return named;
    return presets.find((p) => !differs(config, { ...p.config, temperature: config.temperature })) ?? null;
  };

  const render = () => {
    const presets = state.get("presets");
    const config = state.get("config");
    if (!presets.length) {
      select.replaceChildren(new Option(config ? `task: ${config.task}` : "…", ""));
      select.disabled = true;
      return;
    }
    select.disabled = false;
    const groups = new Map();
    for (const preset of presets) {
      if (!groups.has(preset.task)) groups.set(preset.task, []);
      groups.get(preset.task).push(preset);
    }
    const current = matching();
    const options = [new Option(current ? "" : "(your own settings)", "")];
    options[0].hidden = Boolean(current);
    for (const [task, list] of groups) {
      const group = document.createElement("optgroup");
      group.label = state.get("tasks").find((t) => t.name === task)?.title ?? task;
      group.append(...list.map((p) => new Option(p.title, p.name)));
      options.push(group);
    }
    select.replaceChildren(...options);
    select.value = current?.name ?? "";
    if (current && current.name !== state.get("preset")) state.set({ preset: current.name });
  };

  select.addEventListener("change", () => {
    const preset = state.get("presets").find((p) => p.name === select.value);
    if (!preset) return;
    const config = { ...(state.get("config") ?? {}), ...preset.config };
    state.set({ preset: preset.name, temperature: config.temperature ?? state.get("temperature") });
    stream.send("configure", { config });
    select.blur();
  });

  state.on(["presets", "tasks", "config"], render);
  render();
}

// The lesson picker: every preset from /api/presets, grouped by task. Picking one configures its
// whole run. Without presets (the server has none) it shows just the current task.

import { state } from "../page_state.js";
import { configDiffers } from "../protocol.js";

export function mount(root, stream) {
  const select = root.querySelector("select[name=preset]");

  const matching = () => {
    const config = state.get("config");
    if (!config) return null;
    const presets = state.get("presets");
    const named = presets.find((p) => p.name === state.get("preset"));
    if (named && named.config.task === config.task) return named;
    // The sampling temperature is no part of a lesson: turning it keeps the lesson picked.
    return presets.find((p) => !configDiffers(config, { ...p.config, temperature: config.temperature })) ?? null;
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
    state.set({ preset: preset.name });
    stream.request("configure", { config: { ...(state.get("config") ?? {}), ...preset.config } });
    select.blur();
  });

  state.watch(["presets", "tasks", "config"], render);
  render();
}

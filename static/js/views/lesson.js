// The lesson of the preset in use: its title and one-line note above the network, and its whole
// text (Markdown from the server) in a dialog.

import { renderMarkdown } from "../markdown.js";
import { state } from "../page_state.js";

export function mount(root) {
  const title = Object.assign(document.createElement("strong"), { className: "lesson-title" });
  const note = Object.assign(document.createElement("span"), { className: "lesson-note" });
  const open = Object.assign(document.createElement("button"), { type: "button", textContent: "read the lesson", className: "link" });
  const dialog = Object.assign(document.createElement("dialog"), { className: "lesson-text" });
  const body = document.createElement("article");
  const close = Object.assign(document.createElement("button"), { type: "button", textContent: "close" });
  close.addEventListener("click", () => dialog.close());
  dialog.append(body, close);
  root.append(title, note, open, dialog);
  open.addEventListener("click", () => dialog.showModal());

  const render = () => {
    const config = state.get("config");
    const preset = state.get("presets").find((p) => p.name === state.get("preset") && p.task === config?.task);
    const task = config ? state.get("tasks").find((t) => t.name === config.task) : null;
    const lesson = preset?.lesson || task?.lesson || "";
    title.textContent = preset?.title ?? task?.title ?? "";
    note.textContent = preset?.note ?? task?.summary ?? "";
    open.hidden = !lesson;
    body.innerHTML = renderMarkdown(lesson);
    root.hidden = !title.textContent || state.get("hide").has("lesson");
  };
  state.watch(["presets", "tasks", "preset", "config"], render);
  render();
}

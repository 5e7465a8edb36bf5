// The page's modes, from the URL and the keyboard: presenter (large type, high contrast, no
// knobs: F), embed (?embed=1: the run only, for an iframe in a course page), and areas hidden
// for a lesson (?hide=controls,training,...: any data-area of the page).

import { state } from "../page_state.js";

export function mount(root) {
  const body = document.body;
  const presenter = root.querySelector("[data-action=presenter]");
  const apply = () => {
    body.classList.toggle("presenter", Boolean(state.get("presenter")));
    body.classList.toggle("embed", Boolean(state.get("embed")));
    presenter?.setAttribute("aria-pressed", String(Boolean(state.get("presenter"))));
    for (const area of state.get("hide")) {
      for (const element of document.querySelectorAll(`[data-area="${CSS.escape(area)}"]`)) element.hidden = true;
    }
    window.dispatchEvent(new Event("resize")); // charts refit to the new type size and width
  };
  presenter?.addEventListener("click", () => state.set({ presenter: !state.get("presenter") }));
  document.addEventListener("keydown", (event) => {
    if (event.target.closest?.("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "f" || event.key === "F") {
      event.preventDefault();
      state.set({ presenter: !state.get("presenter") });
    }
  });
  state.watch(["presenter", "embed", "hide"], apply);
  apply();
}

// The keyboard shortcuts, shown with ? (or the topbar's ? button), closed with Escape.

import { ownsKey } from "../keys.js";

export function mount(root) {
  const toggle = () => (root.open ? root.close() : root.showModal());
  document.addEventListener("keydown", (event) => {
    if (ownsKey(event) || event.ctrlKey || event.metaKey) return;
    if (event.key === "?") {
      event.preventDefault();
      toggle();
    }
  });
  for (const button of document.querySelectorAll("[data-action=help]")) button.addEventListener("click", toggle);
}

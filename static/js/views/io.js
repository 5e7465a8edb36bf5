// Save the run as JSON (the session's export: config, seed, weights, optimizer, history), open a
// saved run (import), and copy the link that reproduces this run. Charts save themselves as PNG
// from their own corner buttons.

import { download } from "../svg.js";

export function mount(root, stream) {
  const message = root.querySelector("[data-role=message]");
  const file = root.querySelector("input[data-action=import]");
  const say = (text, ok = false) => {
    message.textContent = text;
    message.classList.toggle("ok", ok);
  };

  root.querySelector("[data-command=export]").addEventListener("click", async () => {
    say("");
    try {
      saveRun((await stream.request("export")).state);
    } catch (error) {
      say(error.message);
    }
  });
  root.querySelector("[data-action=share]").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      say("link copied: it opens this exact run", true);
    } catch {
      say(`copy this link: ${location.href}`, true);
    }
  });
  file.addEventListener("change", async () => {
    const chosen = file.files[0];
    file.value = "";
    if (!chosen) return;
    try {
      const saved = JSON.parse(await chosen.text());
      const state = saved.state ?? saved;
      if (state.format !== "unroll-session") throw new Error("not an Unroll run");
      say(`opening ${chosen.name}…`, true);
      await stream.request("import", { state });
      say("run opened", true);
    } catch (error) {
      say(`${chosen.name}: ${error.message}`);
    }
  });

  function saveRun(saved) {
    const { config, iteration } = saved;
    const blob = new Blob([JSON.stringify(saved)], { type: "application/json" });
    const href = URL.createObjectURL(blob);
    download(href, `unroll-${config.task}-seed${config.seed}-iteration${iteration}.json`);
    setTimeout(() => URL.revokeObjectURL(href), 5000);
    say(`saved at iteration ${iteration}`, true);
  }
}

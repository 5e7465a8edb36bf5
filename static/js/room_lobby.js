// The classroom lobby: start a room, then go to its teacher page (the token in the fragment).

import * as modes from "./views/modes.js";

for (const element of document.querySelectorAll("[data-view=modes]")) modes.mount(element);

const panel = document.querySelector("[data-room=lobby]");
const button = panel.querySelector("[data-role=create]");
const message = panel.querySelector("[data-role=room-message]");

button.addEventListener("click", async () => {
  button.disabled = true;
  message.textContent = "";
  try {
    const response = await fetch("/api/rooms", { method: "POST" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail?.message ?? `HTTP ${response.status}`);
    location.assign(body.teacher_url);
  } catch (error) {
    message.textContent = `Could not start a room: ${error.message}`;
    button.disabled = false;
  }
});

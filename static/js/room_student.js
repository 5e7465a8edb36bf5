// A student's page: follow the teacher's run read-only; fork it to drive a private copy.

import { mountControls, mountViews, roomStream, showRefusal } from "./room_common.js";

const banner = document.querySelector("[data-room=student]");
const code = banner.dataset.code;
const state = banner.querySelector("[data-role=state]");
const message = banner.querySelector("[data-role=room-message]");
const forkButton = banner.querySelector("[data-role=fork]");
const controls = document.querySelector("[data-role=controls]");

const stream = roomStream(code);
mountViews(stream, ["status", "unrolled", "step-loss"]);
let controlsMounted = false;

stream.on("room", (frame) => {
  // Joined (or rejoined after a reconnect, which puts a forked student back in the room).
  banner.dataset.mode = "following";
  state.textContent = "following the teacher's run live";
  forkButton.hidden = false;
  forkButton.disabled = false;
  controls.hidden = true;
  message.textContent = "";
});
stream.on("room_closed", (frame) => {
  stream.close(frame.message); // the room is gone: no reconnecting to it
  banner.dataset.mode = "closed";
  state.textContent = "the room is over";
  forkButton.disabled = true;
  message.textContent = frame.message;
});
forkButton.addEventListener("click", () => {
  if (!controlsMounted) {
    mountControls(controls, stream); // before the fork's hello arrives, so the controls see it
    controlsMounted = true;
  }
  forkButton.disabled = true;
  stream.request("fork").then(
    () => {
      banner.dataset.mode = "forked";
      state.textContent = `your own copy, forked from room ${code}: the controls are yours`;
      forkButton.hidden = true;
      controls.hidden = false;
    },
    (error) => {
      forkButton.disabled = false;
      showRefusal(message)(error);
    },
  );
});

stream.connect();
window.unroll = { stream }; // for the browser tests and the curious

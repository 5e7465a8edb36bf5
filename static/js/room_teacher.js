// The teacher's page: take control of the room with its token, drive the run, watch the count.

import { mountViews, plural, roomStream, showRefusal } from "./room_common.js";

const card = document.querySelector("[data-room=teacher]");
const code = card.dataset.code;
const students = card.querySelector("[data-role=students]");
const studentsLabel = card.querySelector("[data-role=students-label]");
const message = card.querySelector("[data-role=room-message]");
const endButton = card.querySelector("[data-role=end]");

// The token comes in the link's fragment (never sent to a server); kept for reloads of this tab.
const storageKey = `unroll-room-token-${code}`;
const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? sessionStorage.getItem(storageKey);
if (token) {
  sessionStorage.setItem(storageKey, token);
  history.replaceState(null, "", location.pathname); // off the address bar, out of the projector's view
} else {
  message.textContent = "This page needs the room's control token: open it from the link you got when you started the room.";
}

const stream = roomStream(code);
mountViews(stream, ["status", "unrolled", "step-loss", "transport"]);

stream.on("status", ({ status }) => {
  if (status === "open" && token) stream.request("join", { token }).catch(showRefusal(message));
  endButton.disabled = status !== "open";
});
stream.on("room", (frame) => {
  if (frame.role !== "teacher") return;
  card.dataset.role = "teacher";
  students.textContent = frame.students;
  studentsLabel.textContent = plural(frame.students, "student");
});
stream.on("room_closed", (frame) => {
  stream.close(frame.message); // the room is gone: no reconnecting to it
  card.dataset.state = "closed";
  endButton.disabled = true;
  const ended = frame.reason === "ended" ? `You ended room ${code}.` : frame.message;
  message.textContent = `${ended} Start a new one from /room.`;
  sessionStorage.removeItem(storageKey);
});
endButton.addEventListener("click", () => stream.request("end_room").catch(showRefusal(message)));

stream.connect();
window.unroll = { stream }; // for the browser tests and the curious

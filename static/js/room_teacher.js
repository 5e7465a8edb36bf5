// The teacher's page: the playground (main.js, on the room's socket) plus the room. Take control
// with the token, show the class where to join (link, QR, code, count, and plainly why a link
// would not work), pace the lesson (lock forking, put one student's run on every screen), end it.

import { live as stream } from "./main.js";
import { mountRescale, plural, showRefusal } from "./room_common.js";
import * as classView from "./views/class_view.js";

const card = document.querySelector("[data-room=teacher]");
const code = card.dataset.code;
const $ = (role) => card.querySelector(`[data-role=${role}]`);
const students = $("students");
const studentsLabel = $("students-label");
const message = $("room-message");
const endButton = $("end");
const lockButton = $("lock");
const spotlightNote = $("spotlight");
const say = showRefusal(message);

// The token comes in the link's fragment (never sent to a server); kept for reloads of this tab.
const storageKey = `unroll-room-token-${code}`;
const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? sessionStorage.getItem(storageKey);
if (token) {
  sessionStorage.setItem(storageKey, token);
  history.replaceState(null, "", location.pathname + location.search); // out of the projector's view
} else {
  message.textContent = "This page needs the room's control token: open it from the link you got when you started the room.";
}

mountRescale(document.querySelector("[data-view=settings]"), stream);
classView.mount(document.querySelector("[data-view=class]"), stream);

// Every (re)connection: show the token again; the room goes on as it was.
stream.on("status", ({ status }) => {
  if (status === "open" && token) stream.request("join", { token }).catch(say);
  for (const button of [endButton, lockButton]) button.disabled = status !== "open";
});

function showLinks(frame) {
  const link = $("link");
  link.href = frame.join_url;
  link.textContent = frame.join_url;
  const others = (frame.join_urls ?? []).filter((url) => url !== frame.join_url);
  const more = $("links");
  more.hidden = !others.length;
  more.replaceChildren(
    document.createTextNode(others.length === 1 ? "or " : "or one of "),
    ...others.flatMap((url, i) => [
      ...(i ? [document.createTextNode(", ")] : []),
      Object.assign(document.createElement("a"), { href: url, textContent: url }),
    ]),
  );
  const qr = card.querySelector("img.qr");
  qr.alt = `QR code of the join link ${frame.join_url}`;
  const hint = $("hint");
  hint.hidden = !frame.join_hint;
  hint.textContent = frame.join_hint ?? "";
}

stream.on("room", (frame) => {
  if (frame.role !== "teacher") return;
  card.dataset.role = "teacher";
  students.textContent = frame.students;
  studentsLabel.textContent = plural(frame.students, "student");
  showLinks(frame);
});

// What everyone in the room sees: whether forking is open, whose run is on every screen.
stream.on("room_state", (frame) => {
  const locked = !frame.forking;
  lockButton.setAttribute("aria-pressed", String(locked));
  lockButton.textContent = locked ? "Forking locked: unlock" : "Lock forking";
  card.dataset.forking = String(frame.forking);
  const spotlight = frame.spotlight;
  spotlightNote.hidden = !spotlight;
  card.dataset.spotlight = spotlight?.fork_id ?? "";
  $("spotlight-text").textContent = spotlight
    ? `Everyone sees ${spotlight.name}'s run; your knobs and buttons now drive this copy.`
    : "";
});

lockButton.addEventListener("click", () => {
  const locked = lockButton.getAttribute("aria-pressed") === "true";
  message.textContent = "";
  stream.request("lock_forks", { locked: !locked }).catch(say);
});
$("unspotlight").addEventListener("click", () => {
  message.textContent = "";
  stream.request("spotlight", { fork_id: null }).catch(say);
});

// Once the class has joined, the join card shrinks to one line and the run fills the screen.
const compactKey = `unroll-room-compact-${code}`;
const compactButton = $("compact");
function showCompact(compact) {
  card.dataset.compact = String(compact);
  compactButton.setAttribute("aria-pressed", String(compact));
  compactButton.textContent = compact ? "Large join card" : "Small join card";
  window.dispatchEvent(new Event("resize")); // charts refit to the space they now have
}
compactButton.addEventListener("click", () => {
  const compact = card.dataset.compact !== "true";
  sessionStorage.setItem(compactKey, String(compact));
  showCompact(compact);
});
showCompact(sessionStorage.getItem(compactKey) === "true");

stream.on("room_closed", (frame) => {
  stream.close(frame.message); // the room is gone: no reconnecting to it
  card.dataset.state = "closed";
  endButton.disabled = true;
  lockButton.disabled = true;
  const ended = frame.reason === "ended" ? `You ended room ${code}.` : frame.message;
  message.textContent = `${ended} Start a new one from /room.`;
  sessionStorage.removeItem(storageKey);
});
// One click would close forty screens mid-lesson: ask first (the browser's own dialog, keyboard-ready).
endButton.addEventListener("click", () => {
  const question = `End room ${code}? Every student's view of it closes (their own copies stay theirs).`;
  if (window.confirm(question)) stream.request("end_room").catch(say);
});

stream.on("class", (frame) => {
  const forks = frame.rows.length;
  $("forks").textContent = forks ? `${forks} ${plural(forks, "fork")}: the class ↓` : "no forks yet";
});

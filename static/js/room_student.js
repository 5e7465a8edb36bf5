// A student's page: the playground (main.js, on the room's socket) following the teacher's run
// read-only: every view, the knobs shown but disabled, no transport. "Fork: my own copy" makes
// it a full playground on a private copy; "Back to the class" lets the copy go. The copy is kept
// (its id and secret, in localStorage) so a reload or a dropped connection resumes it.

import { live as stream } from "./main.js";
import { forkStore, mountRescale, showRefusal } from "./room_common.js";

const banner = document.querySelector("[data-room=student]");
const code = banner.dataset.code;
const $ = (role) => banner.querySelector(`[data-role=${role}]`);
const state = $("state");
const message = $("room-message");
const form = $("fork-form");
const forkButton = $("fork");
const nickname = form.querySelector("input[name=nickname]");
const leaveButton = $("leave");
const lockNote = $("locked");
const spotlightBanner = $("spotlight");
const kept = forkStore(code);
const say = showRefusal(message);

let mode = "connecting"; // "following" | "resuming" | "forked" | "closed"
let room = { forking: true, spotlight: null }; // the latest room_state
let fork = null; // { fork_id, name } of this page's copy

mountRescale(document.querySelector("[data-view=settings]"), stream);

// What a student may touch: everything on their own copy, nothing of the teacher's run.
function render() {
  const following = mode !== "forked";
  banner.dataset.mode = mode;
  document.body.dataset.mode = mode;
  for (const set of document.querySelectorAll("[data-role=knobs]")) set.disabled = following;
  for (const name of ["transport", "io", "your-data"]) {
    for (const element of document.querySelectorAll(`[data-view="${name}"]`)) element.hidden = following;
  }
  const canFork = mode === "following" && room.forking;
  form.hidden = mode === "forked" || mode === "closed";
  forkButton.disabled = !canFork;
  nickname.disabled = !canFork;
  lockNote.hidden = !(mode === "following" && !room.forking);
  leaveButton.hidden = mode !== "forked";
  showSpotlight();
}

// While following: whose run the teacher is showing instead of their own (a forked page shows
// its own run, and hears nothing of the room's).
function showSpotlight() {
  const spot = room.spotlight;
  spotlightBanner.hidden = !spot || mode === "forked" || mode === "closed";
  spotlightBanner.textContent = spot ? `Look: the teacher is showing ${spot.name}'s run to the class.` : "";
}

function follow(text = "following the teacher's run live") {
  mode = "following";
  fork = null;
  state.textContent = text;
  render();
}

function forked(name) {
  mode = "forked";
  const whose = name ? ` (${name})` : "";
  state.textContent = `your own copy${whose}, forked from room ${code}: the knobs and buttons are yours`;
  render();
}

const RESUMED_ELSEWHERE = 4001; // the server's close code: another tab took this copy

// Every (re)connection: a copy this page keeps is asked back; else the page follows the room.
stream.on("status", ({ status, code: closeCode }) => {
  if (status === "closed" && closeCode === RESUMED_ELSEWHERE) {
    // Not again and again: the other tab has it now (its id stays stored: that tab needs it).
    stream.close("your copy is open in another tab");
    mode = "closed";
    state.textContent = "your copy is open in another tab or window";
    message.textContent = "Your copy was opened in another tab. Reload this page to take it back here.";
    render();
    return;
  }
  if (status !== "open" || mode === "closed") return;
  const mine = kept.get();
  if (!mine) return;
  mode = "resuming";
  state.textContent = "getting your copy back…";
  render();
  stream.request("resume_fork", mine).then(
    () => forked(fork?.name),
    (error) => {
      if (error.code === "closed") return; // the next connection asks again
      kept.clear();
      follow();
      message.textContent = `Your copy could not be resumed (${error.message}); you are following the class again.`;
    },
  );
});

stream.on("room", () => {
  if (mode === "connecting" || mode === "forked") follow(); // a new connection: the room's run
});

stream.on("forked", (frame) => {
  fork = { fork_id: frame.fork_id, name: frame.name };
  kept.set(frame);
  if (mode === "forked") forked(frame.name);
});

stream.on("room_state", (frame) => {
  room = { forking: frame.forking, spotlight: frame.spotlight ?? null };
  render();
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  message.textContent = "";
  forkButton.disabled = true;
  const name = nickname.value.trim();
  stream.request("fork", name ? { nickname: name } : {}).then(
    () => forked(fork?.name ?? name),
    (error) => {
      render();
      say(error);
    },
  );
});

leaveButton.addEventListener("click", () => {
  message.textContent = "";
  leaveButton.disabled = true;
  stream.request("leave_fork").then(
    () => {
      kept.clear();
      follow();
    },
    say,
  ).finally(() => {
    leaveButton.disabled = false;
  });
});

stream.on("room_closed", (frame) => {
  stream.close(frame.message); // the room is gone: no reconnecting to it
  kept.clear();
  mode = "closed";
  state.textContent = "the room is over";
  message.textContent = frame.message;
  render();
});

render();

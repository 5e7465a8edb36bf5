// Connection state, always visible: a badge (connecting, live, reconnecting), and a banner while
// the socket is down that says the page is reconnecting, then that it is back. Server errors
// that no control claims (no command id: a malformed message, a full server) show here too.
// While the run's work waits on a busy server the badge says so: its place in the queue, or
// how long until its share of the server's CPU lets it go on; the next frame ends the wait.

const LABELS = { connecting: "connecting…", open: "live", closed: "reconnecting…", ended: "ended" };
const BACK_MS = 4000;

export function mount(root, stream) {
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.setAttribute("role", "status");
  const banner = document.createElement("div");
  banner.className = "connection-banner";
  banner.setAttribute("role", "alert");
  banner.hidden = true;
  root.append(badge, banner);
  let hideTimer = null;

  const say = (text, kind) => {
    clearTimeout(hideTimer);
    banner.textContent = text;
    banner.dataset.kind = kind;
    banner.hidden = false;
  };

  let shown = { state: "connecting", text: LABELS.connecting, title: "" };
  const show = ({ state, text, title }) => {
    badge.dataset.state = state;
    badge.textContent = text;
    badge.title = title;
  };

  stream.on("queued", ({ reason, position, seconds }) => {
    if (reason === "workers" && position === 0) {
      show(shown);
      return;
    }
    badge.dataset.waits = String(Number(badge.dataset.waits ?? 0) + 1); // for tests to wait on
    show(
      reason === "cpu"
        ? { state: "queued", text: `waiting ${Math.max(1, Math.ceil(seconds))} s…`, title: "This page used its share of the server; it goes on shortly." }
        : { state: "queued", text: `queued: ${position} ahead`, title: "The server is busy with other runs; yours goes next after these." },
    );
  });
  stream.on("frame", (frame) => {
    if (frame.type !== "queued" && badge.dataset.state === "queued") show(shown);
  });

  stream.on("status", ({ status, detail, attempt, retryMs, reconnected }) => {
    shown = { state: status, text: LABELS[status] ?? status, title: detail ?? "" };
    show(shown);
    if (status === "closed") {
      const wait = retryMs ? ` in ${Math.max(1, Math.round(retryMs / 1000))} s` : "";
      say(`Connection to the server lost. Reconnecting${wait}${attempt > 1 ? ` (attempt ${attempt})` : ""}…`, "down");
    } else if (status === "open" && reconnected) {
      say("Reconnected. The run starts again from its link (same settings and seed).", "back");
      hideTimer = setTimeout(() => (banner.hidden = true), BACK_MS);
    } else if (status === "open") {
      banner.hidden = true;
    }
  });
  stream.on("error", (frame) => {
    if (frame.command || frame.command_id !== null) return;
    say(`Server: ${frame.message}`, "error");
    hideTimer = setTimeout(() => (banner.hidden = true), BACK_MS * 2);
  });
}

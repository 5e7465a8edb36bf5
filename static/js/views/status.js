// Connection state, always visible: a badge (connecting, live, reconnecting), and a banner while
// the socket is down that says the page is reconnecting, then that it is back. Server errors
// that no control claims (no command id: a malformed message, a full server) show here too.

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

  stream.on("status", ({ status, detail, attempt, retryMs, reconnected }) => {
    badge.dataset.state = status;
    badge.textContent = LABELS[status] ?? status;
    badge.title = detail ?? "";
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

// Connection state and the server's error messages, always visible.

export function mount(root, stream) {
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.setAttribute("role", "status");
  root.append(badge);
  const labels = { connecting: "connecting…", open: "live", closed: "reconnecting…" };
  stream.on("status", ({ status, detail }) => {
    badge.dataset.state = status;
    badge.textContent = labels[status] ?? status;
    badge.title = detail;
  });
}

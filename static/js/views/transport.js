// Transport buttons and the first knob (hidden size); errors show next to the control that sent
// the command.

const KEYS = { ArrowRight: "step_forward", ArrowLeft: "step_backward", Enter: "finish_iteration" };

export function mount(root, stream) {
  const message = root.querySelector("[data-role=message]");
  const buttons = [...root.querySelectorAll("button[data-command]")];
  const hidden = root.querySelector("input[name=hidden_size]");
  const hiddenValue = root.querySelector("[data-role=hidden-value]");
  let config = null;

  for (const button of buttons) {
    button.addEventListener("click", () => stream.send(button.dataset.command));
  }
  hidden.addEventListener("input", () => {
    hiddenValue.textContent = hidden.value;
  });
  hidden.addEventListener("change", () => {
    if (!config) return;
    stream.send("configure", { config: { ...config, hidden_size: Number(hidden.value) } });
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest?.("input, select, textarea")) return;
    const command = KEYS[event.key];
    if (!command) return;
    event.preventDefault();
    stream.send(command);
  });

  stream.on("hello", (frame) => {
    config = frame.config;
    hidden.max = Math.min(16, frame.limits.max_hidden_size);
    hidden.value = config.hidden_size;
    hiddenValue.textContent = config.hidden_size;
    message.textContent = "";
  });
  stream.on("error", (frame) => {
    message.textContent = frame.message;
    message.dataset.command = frame.command ?? "";
  });
  stream.on("ack", () => {
    message.textContent = "";
  });
  stream.on("status", ({ status }) => {
    for (const button of buttons) button.disabled = status !== "open";
  });
}

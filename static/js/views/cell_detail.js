// The numbers of one cell, opened by clicking it in the unrolled network (the page state's
// "selected"): the step's equations with this step's actual values in place of the symbols,
// forward and (once BPTT reaches it) backward. Closed with its button, by clicking the cell
// again, or with Escape.

import { formatNumber, formatVector, inputText, subscript } from "../format.js";
import { state } from "../page_state.js";

const escape = (text) =>
  String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const num = (x, digits = 3) => {
  const text = formatNumber(x, digits);
  return Number.isFinite(x) ? text : `<span class="nonfinite">${text}</span>`;
};
const vec = (values, digits = 2) => {
  const text = escape(formatVector(values, digits));
  return Array.from(values ?? []).some((v) => !Number.isFinite(v)) ? `<span class="nonfinite">${text}</span>` : text;
};
const tok = (token) => `“${escape(token === " " ? "␣" : token)}”`;

export function mount(root, stream) {
  root.classList.add("cell-detail");
  root.setAttribute("role", "dialog");
  root.setAttribute("aria-label", "the numbers of one step");
  root.hidden = true;
  let config = null;
  let forwards = [];
  let backwards = [];
  let selected = null;
  let T = 0;

  const close = () => state.set({ selected: null });

  function rnnLines(t, f, previous) {
    const fname = config?.activation ?? "tanh";
    const prev = previous ? vec(previous.h) : "0 (the initial state)";
    const xText = f.x ? vec(f.x) : `one-hot(${tok(f.input_token)})`;
    const T = subscript(t);
    const T1 = subscript(t - 1);
    if (!config || config.cell === "rnn") {
      return [
        `<div class="eq">a${T} = W<sub>xh</sub> x${T} + W<sub>hh</sub> h${T1} + b<sub>h</sub></div>`,
        `<div class="eq sub">x${T} = ${xText}, &nbsp; h${T1} = ${prev}</div>`,
        `<div class="eq sub">a${T} = ${vec(f.a)}</div>`,
        `<div class="eq">h${T} = ${fname}(a${T}) = ${vec(f.h)}</div>`,
      ];
    }
    const name = config.cell.toUpperCase();
    return [
      `<div class="eq">h${T} = ${name}(x${T}, h${T1}${config.cell === "lstm" ? `, c${T1}` : ""})</div>`,
      `<div class="eq sub">x${T} = ${xText}, &nbsp; h${T1} = ${prev}</div>`,
      `<div class="eq sub">pre-activation = ${vec(f.a)}</div>`,
      `<div class="eq">h${T} = ${vec(f.h)}</div>`,
    ];
  }

  function outputLines(t, f) {
    const T = subscript(t);
    if (f.top.length) {
      const probs = f.top.map((p) => `${tok(p.token)} ${num(p.p, 2)}`).join(", ");
      const lines = [`<div class="eq">y${T} = softmax(W<sub>hy</sub> h${T} + b<sub>y</sub>) = ${probs}${f.y.length > f.top.length ? ", …" : ""}</div>`];
      if (f.counted) {
        lines.push(`<div class="eq">L${T} = −log y${T}[${tok(f.target_token)}] = −log ${num(f.target_prob, 3)} = <b>${num(f.loss, 3)}</b></div>`);
      } else {
        lines.push(`<div class="eq muted">no loss at this step</div>`);
      }
      return lines;
    }
    if (f.y.length) {
      const lines = [`<div class="eq">ŷ${T} = W<sub>hy</sub> h${T} + b<sub>y</sub> = ${vec(f.y, 3)}</div>`];
      if (f.counted && f.target_value) {
        lines.push(`<div class="eq">L${T} = ½‖ŷ${T} − y${T}‖² with y${T} = ${vec(f.target_value, 3)}: <b>${num(f.loss, 3)}</b></div>`);
      } else {
        lines.push(`<div class="eq muted">no loss at this step</div>`);
      }
      return lines;
    }
    return [`<div class="eq muted">this step only reads its input (no output)</div>`];
  }

  function backwardLines(t, b) {
    const T = subscript(t);
    if (!b) return [`<div class="eq muted">∂L/∂h${T}: step backward (←) until BPTT reaches t = ${t}</div>`];
    const from = [];
    for (let s = t; s < backwards.length; s++) {
      const row = backwards[s]?.flow_row;
      if (row && row.length > t && row[t] !== 0) from.push(`L${subscript(s)}: ${num(row[t], 2)}`);
    }
    return [
      `<div class="eq">‖∂L/∂h${T}‖ = <b>${num(b.dh_norm, 3)}</b>, &nbsp; ∂L/∂h${T} = ${vec(b.dh, 3)}</div>`,
      `<div class="eq sub">‖∂h${T}/∂h${subscript(t - 1)}‖ = σ<sub>max</sub> = ${num(b.jacobian_norm, 3)} ${b.jacobian_norm < 1 ? " (below 1: the gradient shrinks going back)" : b.jacobian_norm > 1 ? " (above 1: it can grow going back)" : ""}</div>`,
      from.length ? `<div class="eq sub">reaching h${T} from each loss: ${from.slice(0, 8).join(", ")}${from.length > 8 ? ", …" : ""}</div>` : "",
    ];
  }

  function render() {
    if (selected === null) {
      root.hidden = true;
      return;
    }
    const f = forwards[selected];
    const b = backwards[selected];
    const head = `<header><h3>Step t = ${selected}${f ? `, input ${tok(inputText(f))}` : ""}${f?.phase ? ` (${f.phase})` : ""}</h3>` +
      `<button type="button" data-action="close" title="close (Esc)">✕</button></header>`;
    const body = f
      ? [...rnnLines(selected, f, forwards[selected - 1]), ...outputLines(selected, f), ...backwardLines(selected, b)]
      : [`<div class="eq muted">not computed yet: step forward to t = ${selected}</div>`];
    root.innerHTML = head + body.join("");
    root.classList.toggle("left", selected >= T / 2); // keep the clicked cell in view
    root.querySelector("[data-action=close]").addEventListener("click", close);
    root.hidden = false;
  }

  const start = (frame) => {
    T = frame.seq_len ?? frame.tokens.length;
    forwards = [];
    backwards = [];
    render();
  };
  stream.on("hello", (frame) => {
    config = frame.config;
    start(frame);
  });
  stream.on("sequence", start);
  stream.on("forward", (frame) => {
    forwards[frame.t] = frame;
    if (frame.t === selected) render();
  });
  stream.on("backward", (frame) => {
    backwards[frame.t] = frame;
    if (selected !== null && frame.t >= selected) render();
  });
  state.watch("selected", (values) => {
    selected = values.selected;
    render();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && selected !== null) close();
  });
}

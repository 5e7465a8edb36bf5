// One step's recurrence as equations with this step's values in place of the symbols, for the
// cell popup: the vanilla cell's a_t = W_xh x_t + W_hh h_{t-1} + b_h split into its three terms;
// an LSTM's or a GRU's gates one by one (keyed by the cell's own gate names, so a cell this file
// has no equations for still shows each gate's values), its candidate's split pre-activation and
// how the state is updated; walking back, the gradient along an LSTM's cell state.

import { formatNumber, formatVector, subscript } from "../format.js";
import { gateLabel, gateName } from "./unrolled_gates.js";

export const escape = (text) =>
  String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
export const num = (x, digits = 3) => {
  const text = formatNumber(x, digits);
  return Number.isFinite(x) ? text : `<span class="nonfinite">${text}</span>`;
};
export const vec = (values, digits = 2) => {
  const text = escape(formatVector(values, digits));
  return Array.from(values ?? []).some((v) => !Number.isFinite(v)) ? `<span class="nonfinite">${text}</span>` : text;
};
export const tok = (token) => `“${escape(token === " " ? "␣" : token)}”`;

const sub = (text) => `<sub>${text}</sub>`;
const line = (html, kind = "") => `<div class="eq${kind ? ` ${kind}` : ""}">${html}</div>`;

// Each cell's gates: the symbol, the squashing function, and the weights' subscript.
const GATES = {
  lstm: [["i", "σ", "i"], ["f", "σ", "f"], ["o", "σ", "o"]],
  gru: [["z", "σ", "z"], ["r", "σ", "r"]],
};
// Each cell's candidate: its symbol, its weights' subscript and the recurrent input it reads.
const CANDIDATE = {
  rnn: { symbol: "a", w: "h", reads: (T1) => `h${T1}` },
  lstm: { symbol: "g", w: "g", reads: (T1) => `h${T1}` },
  gru: { symbol: "h̃", w: "h", reads: (T1) => `(r${sub("t")} ⊙ h${T1})` },
};

// a_t (the candidate's pre-activation) as its three terms, in a small table.
function termsTable(cell, t, f) {
  const c = CANDIDATE[cell];
  const T = subscript(t);
  const T1 = subscript(t - 1);
  const [x, h, b] = f.terms;
  const rows = [
    [`W${sub(`x${c.w}`)} x${T}`, x],
    [`W${sub(`h${c.w}`)} ${c.reads(T1)}`, h],
    [`b${sub(c.w)}`, b],
    [`= a${T}`, f.a],
  ];
  return `<table class="terms">${rows.map(([name, values]) => `<tr><th>${name}</th><td>${vec(values)}</td></tr>`).join("")}</table>`;
}

function gateLines(cell, t, f) {
  const T = subscript(t);
  const T1 = subscript(t - 1);
  return (GATES[cell] ?? []).map(([g, squash, w]) =>
    line(`${g}${T} = ${squash}(W${sub(`x${w}`)} x${T} + W${sub(`h${w}`)} h${T1} + b${sub(w)}) = ${vec(f.gates[g])} <span class="gate-name">${gateName(g)}</span>`));
}

function vanilla(t, f, config) {
  const T = subscript(t);
  return [
    line(`a${T} = W${sub("xh")} x${T} + W${sub("hh")} h${subscript(t - 1)} + b${sub("h")}`),
    termsTable("rnn", t, f),
    line(`h${T} = ${config?.activation ?? "tanh"}(a${T}) = ${vec(f.h)}`),
  ];
}

function lstm(t, f, previous) {
  const T = subscript(t);
  const T1 = subscript(t - 1);
  const before = previous?.gates?.c ? vec(previous.gates.c) : "0 (the initial state)";
  return [
    ...gateLines("lstm", t, f),
    line(`g${T} = tanh(a${T}), the candidate: a${T} = W${sub("xg")} x${T} + W${sub("hg")} h${T1} + b${sub("g")}`),
    termsTable("lstm", t, f),
    line(`g${T} = ${vec(f.gates.g)}`, "sub"),
    line(`c${T} = f${T} ⊙ c${T1} + i${T} ⊙ g${T} = ${vec(f.gates.c)}`),
    line(`with c${T1} = ${before}`, "sub"),
    line(`h${T} = o${T} ⊙ tanh(c${T}) = ${vec(f.h)}`),
  ];
}

function gru(t, f) {
  const T = subscript(t);
  const T1 = subscript(t - 1);
  return [
    ...gateLines("gru", t, f),
    line(`h̃${T} = tanh(a${T}), the candidate: a${T} = W${sub("xh")} x${T} + W${sub("hh")} (r${T} ⊙ h${T1}) + b${sub("h")}`),
    termsTable("gru", t, f),
    line(`h̃${T} = ${vec(f.gates.h_tilde)}`, "sub"),
    line(`h${T} = z${T} ⊙ h${T1} + (1 − z${T}) ⊙ h̃${T} = ${vec(f.h)}`),
  ];
}

// A cell this file has no equations for: each gate by its own name, and a_t's terms.
function generic(cell, t, f) {
  const T = subscript(t);
  const T1 = subscript(t - 1);
  const gates = Object.entries(f.gates ?? {}).map(([name, values]) => line(`${gateLabel(name)}${T} = ${vec(values)} <span class="gate-name">${gateName(name)}</span>`));
  const terms = f.terms
    ? [line(`a${T} = W x${T} + W h${T1} + b:`), `<table class="terms">${["x", "h", "b"].map((name, j) => `<tr><th>${name === "b" ? "b" : `W ${name}`}</th><td>${vec(f.terms[j])}</td></tr>`).join("")}</table>`]
    : [line(`pre-activation = ${vec(f.a)}`, "sub")];
  return [line(`h${T} = ${escape(String(cell).toUpperCase())}(x${T}, h${T1})`), ...gates, ...terms, line(`h${T} = ${vec(f.h)}`)];
}

// The recurrence of step t (f its forward frame, previous the step before's, config the run's).
export function recurrenceLines(config, t, f, previous) {
  const prev = previous ? vec(previous.h) : "0 (the initial state)";
  const xText = f.x ? vec(f.x) : `one-hot(${tok(f.input_token)})`;
  const given = line(`x${subscript(t)} = ${xText}, &nbsp; h${subscript(t - 1)} = ${prev}`, "sub");
  const cell = config?.cell ?? "rnn";
  if (!f.gates && cell === "rnn" && f.terms) return [given, ...vanilla(t, f, config)];
  if (cell === "lstm" && f.gates?.c && f.terms) return [given, ...lstm(t, f, previous)];
  if (cell === "gru" && f.gates?.h_tilde && f.terms) return [given, ...gru(t, f)];
  return [given, ...generic(cell, t, f)];
}

// Walking back along an LSTM's cell state: ||dL/dc_t||, and what one step back multiplies it by.
export function cellStateGradientLines(t, b, f) {
  if (b?.dc_norm === null || b?.dc_norm === undefined) return [];
  const T = subscript(t);
  const forget = f?.gates?.f;
  const mean = forget?.length ? forget.reduce((s, v) => s + v, 0) / forget.length : null;
  return [
    line(`‖∂L/∂c${T}‖ = <b>${num(b.dc_norm, 3)}</b>, &nbsp; ∂L/∂c${T} = ${vec(b.dc, 3)}`),
    mean === null ? "" : line(`∂c${T}/∂c${subscript(t - 1)} = diag(f${T}): one step back along the cell state multiplies the gradient by f${T} (mean ${num(mean, 2)}), no W and no tanh′`, "sub"),
  ];
}

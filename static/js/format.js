// Numbers and symbols as the page writes them: subscripts for time steps, short vectors, and
// non-finite values made visible (∞, NaN) rather than hidden.

import { formatNumber } from "./protocol.js";

export { formatNumber };

const DIGITS = "₀₁₂₃₄₅₆₇₈₉";

export function subscript(n) {
  return String(n).replace(/\d/g, (d) => DIGITS[d]).replace("-", "₋");
}

// A vector as [a, b, c], at most `limit` entries then "… (n values)".
export function formatVector(values, digits = 2, limit = 8) {
  const list = Array.from(values ?? []);
  const shown = list.slice(0, limit).map((v) => formatNumber(v, digits));
  const more = list.length > limit ? `, … (${list.length} values)` : "";
  return `[${shown.join(", ")}${more}]`;
}

// Real values as short text ("0.32, 0.00"): fixed digits, non-finite ones made visible.
export function formatValues(values, digits = 2, separator = ", ") {
  return Array.from(values, (v) => (Number.isFinite(v) ? v.toFixed(digits) : formatNumber(v))).join(separator);
}

// x_t of a forward frame as text: its token, or its real values.
export function inputText(frame) {
  return frame.x ? formatValues(frame.x) : frame.input_token;
}

// Every x_t of a hello or sequence frame as text: its tokens, or its real input vectors.
export function inputLabels(frame) {
  return frame.input_values ? frame.input_values.map((values) => formatValues(values)) : frame.tokens;
}

export function isNonFinite(x) {
  return typeof x === "number" && !Number.isFinite(x);
}

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

export function isNonFinite(x) {
  return typeof x === "number" && !Number.isFinite(x);
}

// Colour scales shared by the views. Blue-orange diverging: safe for the common colour-vision
// deficiencies (no red-green contrast carries meaning).

const NEG = [33, 102, 172]; // blue
const MID = [247, 247, 247];
const POS = [214, 96, 77]; // orange-red

function mix(a, b, s) {
  return a.map((v, i) => Math.round(v + (b[i] - v) * s));
}

// x in [-1, 1] (clamped) to an rgb() string; NaN shows as black so it is never mistaken for 0.
export function diverging(x) {
  if (!Number.isFinite(x)) return "rgb(0,0,0)";
  const s = Math.max(-1, Math.min(1, x));
  const [r, g, b] = s < 0 ? mix(MID, NEG, -s) : mix(MID, POS, s);
  return `rgb(${r},${g},${b})`;
}

export const DIVERGING_PLOTLY = [
  [0, "rgb(33,102,172)"],
  [0.5, "rgb(247,247,247)"],
  [1, "rgb(214,96,77)"],
];

// Gradient norm bands on a log scale: vanishing (purple), healthy (grey), exploding (orange).
export function gradientColour(norm) {
  if (!Number.isFinite(norm)) return "#b35806";
  const l = Math.log10(Math.max(norm, 1e-30));
  if (l < -3) return "#542788";
  if (l > 1) return "#e08214";
  return "#6b6b6b";
}

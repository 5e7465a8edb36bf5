// Colours shared by the views, chosen to survive the common colour-vision deficiencies: every
// pair that carries meaning differs in lightness as well as hue, and nothing relies on red
// against green (tests/browser/test_palette.py simulates protanopia, deuteranopia and tritanopia
// and checks each pair stays apart).

export const PALETTE = {
  // h_t and other signed values: blue below zero, orange above, white at zero, darkest at |x| = 1
  // so a saturated tanh unit stands out.
  negativeEnd: "#08306b",
  negative: "#4a90c8",
  zero: "#f7f7f7",
  positive: "#f4a259",
  positiveEnd: "#7f2704",
  // Gradient norms on a log scale: purple when they vanish, grey in the healthy band, orange when
  // they explode.
  vanishing: "#8073ac",
  neutral: "#3a3a3a",
  exploding: "#e66101",
  // inf / NaN: black, with yellow text where a number is written.
  nonFinite: "#000000",
  nonFiniteText: "#ffd92f",
  // Bars and lines: the model's outputs in blue, the target (the truth) in orange.
  model: "#2166ac",
  target: "#e66101",
  smooth: "#08306b",
  faint: "#9ecae1",
};

// The same hues for text, dark enough to read (4.5:1) on white and on the panels' tints.
export const EXPLODING_TEXT = "#a84f05";
export const VANISHING_TEXT = "#6a5d9c";

const STOPS = [
  [-1, PALETTE.negativeEnd],
  [-0.5, PALETTE.negative],
  [0, PALETTE.zero],
  [0.5, PALETTE.positive],
  [1, PALETTE.positiveEnd],
];

function rgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function mix(a, b, s) {
  return a.map((v, i) => Math.round(v + (b[i] - v) * s));
}

const STOP_RGB = STOPS.map(([x, hex]) => [x, rgb(hex)]);

// x in [-1, 1] (clamped) to an rgb() string; NaN and ±∞ show as black, never mistaken for 0.
export function diverging(x) {
  if (!Number.isFinite(x)) return PALETTE.nonFinite;
  const s = Math.max(-1, Math.min(1, x));
  for (let i = 1; i < STOP_RGB.length; i++) {
    const [x1, c1] = STOP_RGB[i];
    if (s <= x1) {
      const [x0, c0] = STOP_RGB[i - 1];
      const [r, g, b] = mix(c0, c1, (s - x0) / (x1 - x0));
      return `rgb(${r},${g},${b})`;
    }
  }
  return PALETTE.positiveEnd;
}

// The same scale for Plotly heatmaps (z from -limit to +limit).
export const DIVERGING_PLOTLY = STOPS.map(([x, hex]) => [(x + 1) / 2, hex]);

// Where the gradient bands lie, in log10 of the norm.
export const GRADIENT_BANDS = { vanishingBelow: -3, explodingAbove: 1 };

// A gradient norm to its band's colour: purple below 1e-3, grey up to 10, orange above; inf/NaN
// black.
export function gradientColour(norm) {
  if (!Number.isFinite(norm)) return PALETTE.nonFinite;
  const l = Math.log10(Math.max(norm, 1e-30));
  if (l < GRADIENT_BANDS.vanishingBelow) return PALETTE.vanishing;
  if (l > GRADIENT_BANDS.explodingAbove) return PALETTE.exploding;
  return PALETTE.neutral;
}

export function gradientBand(norm) {
  if (!Number.isFinite(norm)) return "nonfinite";
  const l = Math.log10(Math.max(norm, 1e-30));
  if (l < GRADIENT_BANDS.vanishingBelow) return "vanishing";
  if (l > GRADIENT_BANDS.explodingAbove) return "exploding";
  return "neutral";
}

// Line width for a gradient norm: thin when it vanishes, thick when it explodes.
export function gradientWidth(norm) {
  if (!Number.isFinite(norm)) return 10;
  const l = Math.log10(Math.max(norm, 1e-30));
  return Math.max(1, Math.min(10, 3.5 + 1.1 * l));
}

// log10 ratio of flow for the flow heatmap: ColorBrewer's PuOr, purple where the gradient fades
// (vanishing), white where it holds, orange where it grows (exploding).
export const FLOW_PLOTLY = [
  [0, "#542788"],
  [0.17, "#998ec3"],
  [0.33, "#d8daeb"],
  [0.5, PALETTE.zero],
  [0.67, "#fee0b6"],
  [0.83, "#f1a340"],
  [1, "#b35806"],
];

// The lab's conclusions in words, read off the live numbers: is σ_max above 1/γ, what does the
// bound allow, what was measured, and (the point of Pascanu et al. 2013) why a large σ_max is
// necessary for exploding gradients but not sufficient. Lines are HTML built from numbers only.

import { formatNumber } from "../protocol.js";
import { times } from "./flow.js";

const SIGMA = "σ<sub>max</sub>";
const RATIO = "‖∂L<sub>T</sub>/∂h<sub>0</sub>‖ / ‖∂L<sub>T</sub>/∂h<sub>T</sub>‖";
const TIE = 0.005; // σ_max within this of 1/γ counts as on the circle

export function verdict(summary, cell) {
  if (!summary) return [];
  const { sigma, gamma, T, ratio, boundRatio, saturation, nonFinite } = summary;
  const limit = 1 / gamma;
  const s = formatNumber(sigma, 2);
  const g = formatNumber(limit, 2);
  const lines = [];
  if (cell !== "rnn") {
    lines.push(`A gated cell: its gates open paths that the bound on the candidate matrix does not describe; only the measurement counts.`);
  } else if (!Number.isFinite(sigma)) {
    lines.push(`${SIGMA} is ${formatNumber(sigma)}: W<sub>hh</sub> itself has overflowed.`);
  } else if (Math.abs(sigma - limit) <= TIE * limit) {
    lines.push(`${SIGMA} = ${s} = 1/γ: the bound is flat, ×${times(boundRatio)} over ${T} steps; whatever shrinks the gradient comes from f′ &lt; γ.`);
  } else if (sigma < limit) {
    lines.push(`${SIGMA} = ${s} &lt; 1/γ = ${g}: every step must shrink the gradient; after ${T} steps at most ×${times(boundRatio)} of it is left. Sufficient for vanishing.`);
  } else {
    lines.push(`${SIGMA} = ${s} &gt; 1/γ = ${g}: the bound allows growth up to ×${times(boundRatio)} over ${T} steps. Explosion is possible, not certain.`);
  }
  if (nonFinite.length) {
    lines.push(`<b>Measured:</b> the gradient overflowed to NaN/∞ at ${nonFinite.length} of ${T + 1} steps.`);
    return lines;
  }
  if (!Number.isFinite(ratio)) {
    lines.push(`<b>Measured:</b> the last loss sends back ‖∂L<sub>T</sub>/∂h<sub>T</sub>‖ = ${formatNumber(summary.top)}, so there is no ratio to speak of (a saturated softmax gives no gradient).`);
    return lines;
  }
  let fate = "";
  if (ratio > 10) fate = ": it <b>explodes</b>";
  else if (ratio < 1e-3) fate = ": it <b>vanishes</b>";
  lines.push(`<b>Measured:</b> ${RATIO} = ×${times(ratio)}${fate}.`);
  if (cell === "rnn" && Number.isFinite(sigma) && sigma > limit * (1 + TIE) && ratio < 1 && saturation < 0.9) {
    lines.push(
      `<b>Not sufficient:</b> the units saturate (mean |f′(a<sub>t</sub>)| = ${formatNumber(saturation, 2)}), so each Jacobian diag(f′) W<sub>hh</sub> is smaller than W<sub>hh</sub> and pulls the gradient down.`,
    );
  }
  return lines;
}

// The spectral radius slider is logarithmic: ρ multiplies the gradient once per step, so halving
// and doubling are the same distance on the slider, and 1 sits near the middle.

export const RHO_MIN = 0.1;
export const RHO_MAX = 5;
const STEPS = 1000;

export function rhoFromSlider(position) {
  const rho = RHO_MIN * (RHO_MAX / RHO_MIN) ** (Number(position) / STEPS);
  return Math.round(rho * 100) / 100;
}

export function sliderFromRho(rho) {
  const clamped = Math.min(RHO_MAX, Math.max(RHO_MIN, rho));
  return Math.round((STEPS * Math.log(clamped / RHO_MIN)) / Math.log(RHO_MAX / RHO_MIN));
}

// Shared by the room pages (main.js wires the playground's views on the room's socket): the
// lab's spectrum slider among the knobs, what a refusal says, the fork kept for a reload, words.

import { latestOnly } from "./lab/runs.js";
import { rhoFromSlider, sliderFromRho } from "./lab/slider.js";

// The lab's spectrum slider: rescale W_hh to a spectral radius now, keeping its eigenvectors (the
// iteration starts over; the run and its training go on). It rests on the measured ρ.
export function mountRescale(root, stream) {
  const slider = root.querySelector("input[data-role=rescale]");
  const value = root.querySelector("[data-role=rescale-value]");
  if (!slider) return;
  const rescale = latestOnly();
  let dragging = false;
  const show = (rho) => {
    value.textContent = Number.isFinite(rho) ? rho.toFixed(2) : "–";
  };
  slider.addEventListener("input", () => {
    dragging = true;
    const rho = rhoFromSlider(slider.value);
    show(rho);
    rescale(() => stream.request("rescale", { spectral_radius: rho }));
  });
  slider.addEventListener("change", () => {
    dragging = false;
  });
  slider.addEventListener("pointerup", () => slider.blur()); // the arrows go back to the transport
  stream.on("spectrum", (frame) => {
    if (dragging || !Number.isFinite(frame.spectral_radius) || frame.spectral_radius <= 0) return;
    slider.value = String(sliderFromRho(frame.spectral_radius));
    show(frame.spectral_radius);
  });
}

// A refused room command's message (a lost connection says so in the status badge instead).
export function showRefusal(element) {
  return (error) => {
    if (error.code !== "closed") element.textContent = error.message;
  };
}

export function plural(n, word) {
  return `${n === 1 ? word : `${word}s`}`;
}

// A student's fork, kept by the page so a reload or a new connection resumes it (`resume_fork`).
export function forkStore(code) {
  const key = `unroll-fork-${code}`;
  return {
    get() {
      try {
        const kept = JSON.parse(localStorage.getItem(key) ?? "null");
        return kept?.fork_id && kept?.secret ? kept : null;
      } catch {
        return null;
      }
    },
    set({ fork_id, secret }) {
      localStorage.setItem(key, JSON.stringify({ fork_id, secret }));
    },
    clear() {
      localStorage.removeItem(key);
    },
  };
}

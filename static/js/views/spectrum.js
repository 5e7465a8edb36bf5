// The recurrent matrix's spectrum: its eigenvalues in the complex plane against the unit circle,
// the spectral radius and the largest singular value against 1/γ. If σ_max(W_hh) < 1/γ (γ bounds
// |f'|: 1 for tanh), gradients must vanish (Pascanu, Mikolov & Bengio 2013).

import { PALETTE } from "../colors.js";
import { formatNumber, powerOfTen } from "../format.js";
import { batched } from "../frame_batcher.js";
import { draw, finiteOrNull } from "../plot.js";

// A huge spectrum (an exploded W_hh) is labelled only at its ends and 0, in short form: Plotly's
// own labels for ±4×10³⁸ would run into each other and into the axis title. The vertical axis,
// drawn to the same scale, names only 0.
function ends(extent, vertical = false) {
  if (extent < 1e3) return {};
  if (vertical) return { tickvals: [0], ticktext: ["0"] };
  return { tickvals: [-extent, 0, extent], ticktext: [powerOfTen(-extent), "0", powerOfTen(extent)] };
}

export function mount(root, stream) {
  const readout = document.createElement("dl");
  readout.className = "readout";
  const plot = document.createElement("div");
  plot.className = "plot";
  root.append(readout, plot);
  let latest = null;

  const entry = (name, value, className = "") => {
    const dt = Object.assign(document.createElement("dt"), { innerHTML: name });
    const dd = Object.assign(document.createElement("dd"), { textContent: value, className });
    return [dt, dd];
  };

  const render = batched(() => {
    if (!latest) return;
    const s = latest;
    const re = s.eigenvalues_real.map(finiteOrNull);
    const im = s.eigenvalues_imag.map(finiteOrNull);
    const extent = Math.min(1e300, Math.ceil(2 * Math.max(1.2, ...re.filter((v) => v !== null).map((v) => Math.abs(v) * 1.1), ...im.filter((v) => v !== null).map((v) => Math.abs(v) * 1.1))) / 2);
    draw(
      plot,
      [{
        type: "scatter", mode: "markers", x: re, y: im,
        marker: { size: 8, color: s.spectral_radius > 1 ? PALETTE.exploding : PALETTE.model, line: { color: "#fff", width: 0.5 } },
        hovertemplate: "λ = %{x:.3f} %{y:+.3f}i<extra></extra>",
      }],
      {
        margin: { l: 44, r: 8, t: 6, b: 40 },
        shapes: [{ type: "circle", xref: "x", yref: "y", x0: -1, x1: 1, y0: -1, y1: 1, line: { color: PALETTE.neutral, width: 1.5, dash: "dot" } }],
        xaxis: { title: { text: "Re λ" }, range: [-extent, extent], zeroline: true, ...ends(extent) },
        yaxis: { title: { text: "Im λ" }, range: [-extent, extent], scaleanchor: "x", zeroline: true, ...ends(extent, true) },
      },
    );
    const bound = 1 / s.gamma;
    const verdict = s.vanishing_sufficient
      ? `σ_max < 1/γ = ${formatNumber(bound, 2)}: gradients must vanish`
      : `σ_max ≥ 1/γ = ${formatNumber(bound, 2)}: gradients may explode`;
    readout.replaceChildren(
      ...entry(`ρ(${s.matrix.replace("W_hh", "W<sub>hh</sub>")})`, formatNumber(s.spectral_radius, 3), s.spectral_radius > 1 ? "hot" : ""),
      ...entry("σ<sub>max</sub>", formatNumber(s.largest_singular_value, 3)),
      ...entry("γ (max |f′|)", formatNumber(s.gamma, 2)),
      ...entry("so", verdict, s.vanishing_sufficient ? "cold" : "hot"),
    );
  }, { heavy: true, minIntervalMs: 250, name: "spectrum", element: plot });

  stream.on("spectrum", (frame) => {
    latest = frame;
    render();
  });
}

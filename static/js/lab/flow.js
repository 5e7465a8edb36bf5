// How the gradient of the last loss reaches earlier hidden states, from a `diagnostics` frame,
// against what the per-step Jacobians and the Pascanu, Mikolov & Bengio (2013) bound allow:
//
//   dL_T/dh_k = dL_T/dh_T · J_T J_{T-1} ··· J_{k+1},   J_t = dh_t/dh_{t-1} = diag(f'(a_t)) W_hh
//   ||dL_T/dh_k|| <= ||dL_T/dh_T|| · Π ||J_t||  <=  ||dL_T/dh_T|| · (γ σ_max(W_hh))^(T-k)

import { Emitter } from "../emitter.js";
import { batched } from "../frame_batcher.js";
import { formatNumber } from "../protocol.js";
import { GRID, MUTED, PLOT_CONFIG, baseLayout, logTicks } from "./palette.js";

const finitePositive = (x) => Number.isFinite(x) && x > 0;

// Which loss to follow back: the last step whose loss reaches its own h (the others are masked).
function lossStep(flow) {
  for (let t = flow.length - 1; t >= 0; t--) {
    const own = flow[t]?.[t];
    if (finitePositive(own) || (typeof own === "number" && !Number.isFinite(own))) return t;
  }
  return flow.length - 1;
}

// Everything the charts and readouts need, by distance d = T - k from the loss.
export function flowSummary(frame) {
  const flow = frame.flow;
  const T = lossStep(flow);
  const row = flow[T] ?? [];
  const top = row[T];
  const gain = frame.gamma * frame.largest_singular_value;
  const distance = [];
  const measured = [];
  const jacobian = [];
  const bound = [];
  let product = top;
  const nonFinite = [];
  for (let d = 0; d <= T; d++) {
    const k = T - d;
    if (d > 0) product *= frame.jacobian_norms[k + 1];
    distance.push(d);
    measured.push(row[k]);
    jacobian.push(product);
    bound.push(top * gain ** d);
    if (!Number.isFinite(row[k])) nonFinite.push(d);
  }
  const last = measured[T];
  return {
    T,
    seqLen: frame.seq_len,
    distance,
    measured,
    jacobian,
    bound,
    nonFinite,
    top,
    // How much of the loss's gradient at its own step reaches step 0: the vanishing number.
    ratio: last / top,
    jacobianRatio: jacobian[T] / top,
    boundRatio: gain ** T,
    gamma: frame.gamma,
    sigma: frame.largest_singular_value,
    saturation: frame.saturation,
    loss: frame.loss,
  };
}

const plottable = (values) => values.map((v) => (finitePositive(v) ? v : null));

// A log-scale chart of ||dL_T/dh_k|| against T - k, one set of lines per run, overlaid.
// series: [{ stream, label, colour }]; options.traces picks which of measured, jacobian, bound.
export function mountFlow(root, series, options = {}) {
  const kinds = options.traces ?? ["bound", "jacobian", "measured"];
  const plot = document.createElement("div");
  plot.className = "lab-plot flow-plot";
  root.append(plot);
  const summaries = series.map(() => null);
  const ghosts = series.map(() => null); // a reference curve kept from earlier (before training)
  const visible = series.map(() => true);
  const chart = new Emitter(); // "summary": { index, summary } for each new measurement

  const style = {
    measured: { dash: "solid", width: 3.5, mode: "lines+markers", name: "measured ‖∂L_T/∂h_k‖" },
    jacobian: { dash: "dot", width: 2.5, mode: "lines", name: "‖∂L_T/∂h_T‖ · Π ‖J_t‖" },
    bound: { dash: "dash", width: 2, mode: "lines", name: "bound ‖∂L_T/∂h_T‖ (γσ)^(T−k)" },
  };

  const render = batched(() => {
    const traces = [];
    let maxT = 1;
    let lo = Infinity;
    let hi = -Infinity;
    series.forEach((s, i) => {
      const summary = summaries[i];
      const show = visible[i] && summary !== null;
      if (summary) maxT = Math.max(maxT, summary.T);
      const ghost = ghosts[i];
      if (options.ghosts) {
        traces.push({
          type: "scatter", mode: "lines", x: ghost?.distance ?? [], y: plottable(ghost?.measured ?? []),
          line: { color: s.colour, width: 2, dash: "dot" }, opacity: 0.45, visible: show && ghost !== null,
          name: `${s.label} at the start`, hovertemplate: `${s.label} at the start<br>T−k=%{x}<br>%{y:.3g}<extra></extra>`,
        });
      }
      for (const kind of kinds) {
        const st = style[kind];
        if (show) {
          for (const v of plottable(summary[kind])) {
            if (v !== null) {
              lo = Math.min(lo, Math.log10(v));
              hi = Math.max(hi, Math.log10(v));
            }
          }
        }
        traces.push({
          type: "scatter",
          mode: st.mode,
          x: summary?.distance ?? [],
          y: plottable(summary?.[kind] ?? []),
          line: { color: s.colour, width: st.width, dash: st.dash },
          marker: { color: s.colour, size: 6 },
          visible: show,
          name: `${s.label}: ${st.name}`,
          hovertemplate: `${s.label}: ${st.name}<br>T−k = %{x}<br>%{y:.3g}<extra></extra>`,
        });
      }
    });
    // A run with nothing to draw on a log axis (NaN, ∞, or no gradient at all) says why.
    const notes = [];
    series.forEach((s, i) => {
      const summary = summaries[i];
      if (!visible[i] || !summary || plottable(summary.measured).some((v) => v !== null)) return;
      const why = summary.nonFinite.length
        ? `the gradient overflowed to NaN/∞`
        : `‖∂L<sub>T</sub>/∂h<sub>T</sub>‖ = ${formatNumber(summary.top)}: no gradient to follow`;
      notes.push({
        xref: "paper", yref: "paper", x: 0.02, y: 0.98 - notes.length * 0.1, xanchor: "left", yanchor: "top",
        text: `${s.label}: ${why}`, showarrow: false, font: { size: 14, color: s.colour }, bgcolor: "rgba(255,255,255,0.85)",
      });
    });
    const layout = baseLayout({
      annotations: notes,
      xaxis: {
        title: { text: options.xTitle ?? "distance T − k (steps back from the loss)" },
        range: [-0.5, maxT + 0.5], zeroline: false, gridcolor: GRID, fixedrange: true,
      },
      yaxis: {
        title: { text: "‖∂L<sub>T</sub>/∂h<sub>k</sub>‖ (log scale)" }, type: "log", exponentformat: "power",
        gridcolor: GRID, fixedrange: true, color: MUTED,
        ...(options.yRange?.() ? { range: options.yRange(), autorange: false } : { autorange: true }),
        ...logTicks(...(options.yRange?.() ?? [lo, hi])),
      },
      uirevision: "flow",
    });
    window.Plotly.react(plot, traces, layout, PLOT_CONFIG);
    plot.dataset.drawn = String(Number(plot.dataset.drawn ?? 0) + 1);
  });

  series.forEach((s, i) => {
    s.stream.on("diagnostics", (frame) => {
      summaries[i] = flowSummary(frame);
      if (options.ghosts && ghosts[i] === null) ghosts[i] = summaries[i];
      chart.emit("summary", { index: i, summary: summaries[i] });
      render();
    });
    s.stream.on("hello", () => {
      ghosts[i] = null; // a new run: its first measurement becomes the reference again
      summaries[i] = null;
      render();
    });
  });
  render();
  return Object.assign(chart, {
    element: plot,
    summary: (i) => summaries[i],
    ghost: (i) => ghosts[i],
    setVisible(i, show) {
      visible[i] = show;
      render();
    },
    refresh: render,
    resetGhost(i) {
      ghosts[i] = summaries[i];
      render();
    },
  });
}

// "1.5e-6", "+∞", "NaN": a ratio as a short multiplier.
export function times(x) {
  if (!Number.isFinite(x)) return formatNumber(x);
  if (x === 0) return "0";
  if (x >= 1e4 || x < 1e-2) {
    const exponent = Math.floor(Math.log10(x));
    const mantissa = x / 10 ** exponent;
    return `${mantissa.toFixed(1)}·10${superscript(exponent)}`;
  }
  return x >= 10 ? x.toFixed(0) : x.toPrecision(2);
}

export function superscript(n) {
  return String(n).replace(/[-\d]/g, (c) => "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"[c === "-" ? 0 : Number(c) + 1]);
}

// The lesson cards' behaviour: how each sets up its run, which views it shows and points at,
// the live values it reads off the frames, and how it knows the student did the action.
// Their text and equations live in templates/lessons.html.

import { flowSummary, times } from "../lab/flow.js";
import { describeUpdate } from "../lab/updates.js";
import { formatNumber } from "../protocol.js";

const esc = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const vector = (values) => `(${values.map((v) => formatNumber(v, 2)).join(", ")})`;
const SIGMA = "σ<sub>max</sub>";

function gradientReadout(spectrum, summary) {
  if (!spectrum || !summary) return "measuring…";
  return [
    `ρ = <b>${formatNumber(spectrum.spectral_radius, 2)}</b>`,
    `${SIGMA} = ${formatNumber(spectrum.largest_singular_value, 2)}`,
    `bound ×${times(summary.boundRatio)}`,
    `reaches h<sub>0</sub>: <b>×${times(summary.ratio)}</b>`,
    `mean |f′| = ${formatNumber(summary.saturation, 2)}`,
  ].join(" · ");
}

// Follow the lab run's spectrum and diagnostics; call back with both once a measurement arrives.
function followGradients(ctx, lab, callback) {
  let spectrum = lab.last("spectrum");
  let summary = null;
  ctx.on(lab, "spectrum", (frame) => {
    spectrum = frame;
  });
  ctx.on(lab, "diagnostics", (frame) => {
    summary = flowSummary(frame);
    ctx.live(gradientReadout(spectrum, summary));
    callback(spectrum, summary);
  });
}

export const CARDS = [
  {
    name: "recurrence",
    panes: ["transport", "unrolled"],
    point: "unrolled",
    task: "Press → (or “forward step ▶”) three times and watch h<sub>t</sub> change while the weights stay the same.",
    async setup(ctx) {
      await ctx.netPreset();
    },
    watch(ctx) {
      let steps = 0;
      ctx.live("h<sub>t</sub> appears here as you step.");
      ctx.on(ctx.net, "forward", (f) => {
        ctx.live(`t = ${f.t}, input “${esc(f.input_token)}”: h<sub>${f.t}</sub> = ${vector(f.h)}`);
        steps += 1;
        if (steps >= 3) ctx.done();
      });
    },
  },
  {
    name: "softmax",
    panes: ["transport", "unrolled", "step-loss"],
    point: "step-loss",
    task: "Step forward to the end of the word (t = 3) and read each L<sub>t</sub> in the loss chart.",
    async setup(ctx) {
      await ctx.netPreset();
    },
    watch(ctx) {
      ctx.live("p(target) and L<sub>t</sub> appear here as you step.");
      ctx.on(ctx.net, "forward", (f) => {
        const p = f.target_prob;
        ctx.live(
          `t = ${f.t}: p(“${esc(f.target_token)}”) = ${formatNumber(p, 2)}, so L<sub>${f.t}</sub> = −log ${formatNumber(p, 2)} = <b>${formatNumber(f.loss, 2)}</b> · L so far = ${formatNumber(f.total_loss, 2)}`,
        );
        if (f.t === f.seq_len - 1) ctx.done();
      });
    },
  },
  {
    name: "bptt",
    panes: ["transport", "unrolled"],
    point: "unrolled",
    task: "The forward pass is done. Press ← (or “◀ backward step”) to walk the gradient back to t = 0.",
    async setup(ctx) {
      const hello = await ctx.netPreset();
      for (let t = 0; t < hello.seq_len; t++) await ctx.net.request("step_forward");
    },
    watch(ctx) {
      const norms = [];
      ctx.live("‖δ<sub>t</sub>‖ appears here, step by step from the last.");
      ctx.on(ctx.net, "backward", (f) => {
        norms.push(`‖δ<sub>${f.t}</sub>‖ = ${formatNumber(f.dh_norm, 2)}`);
        ctx.live(norms.join(" · "));
        if (f.t === 0) ctx.done();
      });
    },
  },
  {
    name: "update",
    panes: ["transport", "unrolled"],
    point: "transport",
    task: "Press Enter (or “finish iteration ⇥”) three times: each press runs forward, BPTT and one update. Read the loss of each update here: it falls.",
    async setup(ctx) {
      await ctx.netPreset();
    },
    watch(ctx) {
      const losses = [];
      ctx.live("each update's loss and gradient norm appear here.");
      ctx.on(ctx.net, "update", (u) => {
        losses.push(formatNumber(u.loss, 3));
        const clip = { mode: ctx.net.hello.config.clip_mode, threshold: ctx.net.hello.config.clip_threshold };
        ctx.live(`L per update: <b>${losses.join(" → ")}</b><br>last: ${esc(describeUpdate(u, clip))}`);
        if (losses.length >= 3) ctx.done();
      });
    },
  },
  {
    name: "vanishing",
    panes: ["lab"],
    point: "lab",
    task: "Drag the spectral radius ρ below 0.6 and watch the measured curve drop by orders of magnitude.",
    async setup(ctx) {
      await ctx.labConfigure({ activation: "tanh", spectral_radius: 1.0 });
    },
    watch(ctx) {
      followGradients(ctx, ctx.lab, (spectrum, summary) => {
        if (spectrum?.spectral_radius < 0.6 && summary.ratio < 1e-3) ctx.done();
      });
      ctx.labDiagnose();
    },
  },
  {
    name: "exploding",
    panes: ["lab"],
    point: "lab",
    task: "f is linear. Drag ρ past 1.2: the curve climbs. Then press “f = tanh” at the same ρ.",
    extra: [
      { label: "f = linear", run: (ctx) => ctx.labConfigure({ activation: "linear" }) },
      { label: "f = tanh", run: (ctx) => ctx.labConfigure({ activation: "tanh" }) },
    ],
    async setup(ctx) {
      await ctx.labConfigure({ activation: "linear", spectral_radius: 0.9 });
    },
    watch(ctx) {
      followGradients(ctx, ctx.lab, (spectrum, summary) => {
        const linear = ctx.lab.hello?.config.activation === "linear";
        if (linear && spectrum?.spectral_radius > 1.2 && summary.ratio > 10) ctx.done();
      });
      ctx.labDiagnose();
    },
  },
  {
    name: "clipping",
    panes: ["updates"],
    point: "updates",
    task: "f linear, ρ = 1.5. Press “train 20 updates” with clipping off: ‖g‖ runs away. Then turn on “clip by norm”, “start over” and train again.",
    extra: [
      { label: "train 20 updates", run: (ctx) => ctx.labUpdates(20) },
      { label: "clip by norm", toggle: true, run: (ctx, on) => ctx.setClip(on ? "norm" : "none") },
      { label: "start over", run: (ctx) => ctx.labConfigure({ spectral_radius: 1.5 }) },
    ],
    async setup(ctx) {
      await ctx.labConfigure({ activation: "linear", spectral_radius: 1.5, clip_mode: "none", clip_threshold: 1 });
    },
    watch(ctx) {
      ctx.live("each update's ‖g‖ appears here.");
      let clipped = 0;
      let skipped = 0;
      ctx.on(ctx.lab, "hello", () => {
        clipped = 0;
        skipped = 0;
      });
      ctx.on(ctx.lab, "update", (u) => {
        clipped += u.clipped;
        skipped += !u.finite;
        ctx.live(`update ${u.iteration + 1}: ${esc(describeUpdate(u, ctx.clip()))}<br>so far: ${clipped} clipped, ${skipped} skipped as non-finite`);
        if (u.clipped && ctx.clip().mode !== "none") ctx.done();
      });
    },
  },
  {
    name: "lstm",
    panes: ["cells"],
    point: "cells",
    task: "Press “train 2000 iterations” and watch the held-out MSE: which cell gets below the constant answer’s 1/6?",
    async setup(ctx) {
      await ctx.cells.ensureStarted();
    },
    watch(ctx) {
      ctx.live("train both, then compare.");
      ctx.onCleanup(
        ctx.cells.on("trained", (mse) => {
          const at = (m) => `<b>${formatNumber(m.mse, 3)}</b> (iteration ${m.iteration})`;
          ctx.live(`held-out MSE: vanilla RNN ${at(mse.rnn)} · LSTM ${at(mse.lstm)}; the constant answer scores 0.167`);
          ctx.done();
        }),
      );
    },
  },
];

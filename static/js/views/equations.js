// The model's equations for the run's cell, activation and output head, beside the network.

import { currentTask, state } from "../page_state.js";

const RNN = (f) => `h<sub>t</sub> = ${f}(W<sub>xh</sub> x<sub>t</sub> + W<sub>hh</sub> h<sub>t−1</sub> + b<sub>h</sub>)`;
const GRU = "h<sub>t</sub> = (1 − z<sub>t</sub>) ⊙ h<sub>t−1</sub> + z<sub>t</sub> ⊙ tanh(W x<sub>t</sub> + U (r<sub>t</sub> ⊙ h<sub>t−1</sub>))";
const LSTM = "c<sub>t</sub> = f<sub>t</sub> ⊙ c<sub>t−1</sub> + i<sub>t</sub> ⊙ g<sub>t</sub>, &nbsp; h<sub>t</sub> = o<sub>t</sub> ⊙ tanh(c<sub>t</sub>)";

export function mount(root) {
  const render = () => {
    const config = state.get("config");
    if (!config) return;
    const linear = currentTask()?.head === "linear" || state.get("vocab").length === 0;
    const cell = config.cell === "gru" ? GRU : config.cell === "lstm" ? LSTM : RNN(config.activation);
    const output = linear
      ? "ŷ<sub>t</sub> = W<sub>hy</sub> h<sub>t</sub> + b<sub>y</sub>"
      : "y<sub>t</sub> = softmax(W<sub>hy</sub> h<sub>t</sub> + b<sub>y</sub>)";
    const loss = linear ? "L = Σ<sub>t</sub> ½‖ŷ<sub>t</sub> − y<sub>t</sub>‖²" : "L = Σ<sub>t</sub> −log y<sub>t</sub>[target]";
    root.innerHTML = `${cell} &nbsp;·&nbsp; ${output} &nbsp;·&nbsp; ${loss}`;
  };
  state.watch(["config", "tasks", "vocab"], render);
}

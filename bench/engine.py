"""How fast the engine is: forward + full BPTT, and its ratios to three yardsticks.

    python -m bench.engine [--budget SECONDS]

Every figure is the median over many runs, and every ratio compares two timings taken in the
same run. One BLAS thread, as the server runs. Yardsticks:

- min-char-rnn's lossFun (bench/minchar_baseline.py) at its own size: target >= 2.5x faster;
- the floor of a recurrence, a bare `h = np.tanh(h @ W_hh + xw[t])` loop: target <= 2x;
- plain backward, against the diagnostics (gradient-flow matrix, Jacobian norms) at T=25.

Last, lesson presets trained through the one training loop the pages and the presets' tests
use (app.run.training.train_iterations): iterations per second as a student sees them.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads its BLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from app.engine import (
    CELLS,
    Backward,
    Cell,
    Forward,
    InitSpec,
    ModelSpec,
    Sequences,
    gradient_flow,
    init_params,
    jacobian_norms,
    loss_and_grads,
)
from app.engine.heads import head_forward
from app.engine.spec import DType
from app.engine.unroll import (
    build_model,
    head_gradients,
    make_batch,
    output_logits,
    project_inputs,
    run_backward,
    run_forward,
    start_tape,
)
from app.protocol import RunConfig
from app.run.state import RunState
from app.run.training import train_iterations
from app.tasks import PRESETS, TASKS
from bench.minchar_baseline import init as minchar_init
from bench.minchar_baseline import loss_fun as minchar_loss

SIZES = [  # (label, V, H, T, B)
    ("min-char V=65 H=100 T=25 B=1", 65, 100, 25, 1),
    ("H=256 T=100 B=1", 65, 256, 100, 1),
    ("H=256 T=100 B=32", 65, 256, 100, 32),
]


def median_time(fn: Callable[[], Any], budget: float, min_runs: int = 15) -> float:
    """Median seconds per call over as many runs as fit in `budget` (at least min_runs)."""
    fn()  # warm up: caches, allocator, BLAS
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < min_runs or (time.perf_counter() < deadline and len(times) < 5000):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(a: Callable[[], Any], b: Callable[[], Any], budget: float) -> tuple[float, float]:
    """Medians of a and b measured in alternating rounds, so drift affects both alike."""
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(5):
        ta.append(median_time(a, budget / 10))
        tb.append(median_time(b, budget / 10))
    return statistics.median(ta), statistics.median(tb)


def problem(
    cell: Cell, V: int, H: int, T: int, B: int, dtype: DType = "float64", seed: int = 0
) -> tuple[ModelSpec, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """A character model of the given size with random data."""
    rng = np.random.default_rng(seed)
    spec = ModelSpec(cell=cell, input_size=V, hidden_size=H, output_size=V, dtype=dtype)
    params = init_params(spec, InitSpec(scale=0.01), rng)
    return spec, params, rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))


def training_step(cell: Cell, V: int, H: int, T: int, B: int, dtype: DType, budget: float) -> float:
    """Median seconds of one loss_and_grads call."""
    spec, params, x, y = problem(cell, V, H, T, B, dtype)
    data = Sequences(x, y)
    return median_time(lambda: loss_and_grads(params, spec, data), budget)


def training_step_table(budget: float) -> None:
    """loss_and_grads (forward + full BPTT) for every size, cell and float type."""
    print("forward + full BPTT (loss_and_grads), median per call")
    print(f"  {'size':30} {'cell':5} {'float64':>12} {'float32':>12} {'64/32':>6}")
    for label, V, H, T, B in SIZES:
        for cell in CELLS:
            f64, f32 = (training_step(cell, V, H, T, B, d, budget) for d in ("float64", "float32"))
            print(f"  {label:30} {cell:5} {f64 * 1e3:9.3f} ms {f32 * 1e3:9.3f} ms {f64 / f32:6.2f}")


def minchar_ratio(budget: float) -> None:
    """Against min-char-rnn's lossFun at its own size."""
    V, H, T = 65, 100, 25
    spec, params, x, y = problem("rnn", V, H, T, 1)
    theirs = minchar_init(V, H, np.random.default_rng(0))
    xs, ys, h0 = [int(v) for v in x[:, 0]], [int(v) for v in y[:, 0]], np.zeros((H, 1))
    data = Sequences(x, y)
    ours, base = paired(
        lambda: loss_and_grads(params, spec, data), lambda: minchar_loss(theirs, xs, ys, h0), budget
    )
    print(f"\nmin-char-rnn lossFun (V={V}, H={H}, T={T}): {base * 1e6:8.1f} us")
    print(f"engine loss_and_grads, same size:          {ours * 1e6:8.1f} us")
    print(f"  speed-up: {base / ours:.2f}x   (target >= 2.5x)")


def floor_row(label: str, V: int, H: int, T: int, B: int, budget: float) -> None:
    """One size's per-step forward costs against the bare tanh loop."""
    spec, params, x, y = problem("rnn", V, H, T, B)
    model = build_model(params, spec)
    batch = make_batch(model, x, y)
    xw = project_inputs(model, batch)
    W = np.ascontiguousarray(params["W_hh"].T)

    def bare() -> None:
        h = np.zeros((B, H))
        for t in range(T):
            h = np.tanh(h @ W + xw[t])

    def loop() -> None:
        tape = start_tape(model, T, B, None)
        for t in range(T):
            model.cell.forward(tape, t, xw[t], model.w)

    floor, ours = paired(bare, loop, budget)
    whole = median_time(lambda: run_forward(model, batch, None), budget / 2)
    stepwise = median_time(lambda: Forward(params, spec, x, y).run(), budget / 2)
    print(
        f"  {label:30} floor {floor / T * 1e6:6.2f} us/step | recurrence loop "
        f"{ours / T * 1e6:6.2f} ({ours / floor:.2f}x) | fast forward incl. input "
        f"projection {whole / T * 1e6:6.2f} ({whole / floor:.2f}x) | step-by-step Forward "
        f"with per-step records {stepwise / T * 1e6:6.2f} ({stepwise / floor:.2f}x)"
    )


def floor_ratio(budget: float) -> None:
    """Per-step forward cost against a bare tanh recurrence over precomputed inputs."""
    print("\nper-step forward cost against the floor `h = np.tanh(h @ W_hh + xw[t])`")
    for label, V, H, T, B in SIZES:
        floor_row(label, V, H, T, B, budget)
    print("  target: fast forward <= 2x the floor")


def diagnostics_row(cell: Cell, budget: float) -> None:
    """One cell's gradient-flow matrix and Jacobian norms against its plain backward."""
    spec, params, x, y = problem(cell, 65, 100, 25, 1)
    trace = Forward(params, spec, x, y).run()
    model = build_model(params, spec)
    batch = make_batch(model, x, y)
    tape = run_forward(model, batch, None)
    assert batch.targets is not None
    targets = batch.targets

    def plain_backward() -> None:
        ys, _ = head_forward("softmax", output_logits(model, tape.hs[1:]), targets, None)
        dlogits, dh = head_gradients(model, batch, ys)
        run_backward(model, batch, tape, dh, dlogits)

    plain = median_time(plain_backward, budget / 2)
    stepwise = median_time(
        lambda: Backward(trace, params, spec, diagnostics=False).run(), budget / 2
    )
    flow = median_time(lambda: gradient_flow(trace, params, spec), budget / 2)
    norms = median_time(lambda: jacobian_norms(trace, params, spec), budget / 2)
    print(
        f"  {cell:5} plain backward {plain * 1e6:7.1f} us | step-by-step Backward "
        f"{stepwise * 1e6:7.1f} us | gradient flow (T x T) {flow * 1e6:7.1f} us "
        f"({flow / plain:.1f}x plain) | Jacobian norms (T) {norms * 1e6:7.1f} us "
        f"({norms / plain:.1f}x plain) | both: {(flow + norms) / plain:.1f}x plain, "
        f"{(flow + norms) / stepwise:.2f}x step-by-step"
    )


def diagnostics_ratio(budget: float) -> None:
    """Gradient-flow matrix and Jacobian norms against a plain backward pass, T=25."""
    print("\ndiagnostics at V=65 H=100 T=25 B=1, against plain backward")
    for cell in CELLS:
        diagnostics_row(cell, budget)
    print("  target: <= 2x")


def preset_training(budget: float) -> None:
    """Whole iterations of lesson presets through the one training loop the pages use."""
    print("\ntraining presets through app.run.training.train_iterations (the pages' loop)")
    for name in ("hello", "text", "numbers", "adding-gru-long"):
        preset = PRESETS[name]
        run = RunState.start(TASKS[preset.task], RunConfig.model_validate(dict(preset.config)))
        seconds = median_time(partial(train_iterations, run, 1), budget / 2)
        print(f"  {name:18} {seconds * 1e3:8.2f} ms per iteration  ({1 / seconds:7.1f} it/s)")


def main() -> None:
    """Run every section within about a minute."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per measurement")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"numpy {np.__version__}, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}\n")
    training_step_table(args.budget)
    minchar_ratio(args.budget * 4)
    floor_ratio(args.budget * 2)
    diagnostics_ratio(args.budget * 2)
    preset_training(args.budget * 2)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

"""How fast the engine is: forward + full BPTT, and its ratios to three yardsticks.

    python -m bench.engine [--budget SECONDS]

Every figure is the median over many runs, and every ratio compares two timings taken in the
same run. One BLAS thread, as the server runs. Yardsticks:

- min-char-rnn's lossFun (bench/minchar_baseline.py) at its own size: target >= 2.5x faster;
- the floor of a recurrence, a bare `h = np.tanh(h @ W_hh + xw[t])` loop: target <= 2x;
- plain backward, against the diagnostics (gradient-flow matrix, Jacobian norms) at T=25.

The per-step display path: a session stepping an iteration forward and back, each frame built
and encoded as the server sends it (what carrying the gates and the cell state costs).

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    Sweep,
    build_model,
    head_gradients,
    make_batch,
    output_logits,
    project_inputs,
    run_backward,
    run_forward,
    start_tape,
)
from app.protocol import Limits, RunConfig, encode
from app.run import presenter
from app.run.state import RunState
from app.run.training import train_iterations
from app.session import Session
from app.tasks import PRESETS, TASKS
from bench.minchar_baseline import init as minchar_init
from bench.minchar_baseline import loss_fun as minchar_loss

SIZES = [  # (label, V, H, T, B)
    ("min-char V=65 H=100 T=25 B=1", 65, 100, 25, 1),
    ("H=256 T=100 B=1", 65, 256, 100, 1),
    ("H=256 T=100 B=32", 65, 256, 100, 32),
]


def median_time(fn: Callable[[], Any], budget: float, min_runs: int = 15) -> float:
    """Median CPU seconds per call over as many runs as fit in `budget` (at least min_runs).

    CPU time of this process, not wall time: other processes on a busy machine do not inflate it.
    """
    fn()  # warm up: caches, allocator, BLAS
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < min_runs or (time.perf_counter() < deadline and len(times) < 5000):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def paired(
    a: Callable[[], Any], b: Callable[[], Any], budget: float, min_runs: int = 15
) -> tuple[float, float]:
    """Medians of a and b measured in alternating rounds, so drift affects both alike."""
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(5):
        ta.append(median_time(a, budget / 10, min_runs))
        tb.append(median_time(b, budget / 10, min_runs))
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


DISPLAY_SIZES = [  # (label, task, H, T, B)
    ("hello H=3 T=4 B=1", "hello", 3, 4, 1),
    ("adding H=16 T=40 B=32", "adding", 16, 40, 32),
    ("text H=64 T=25 B=16", "text", 64, 25, 16),
    ("text H=128 T=25 B=1", "text", 128, 25, 1),
]
LIMITS = Limits(
    max_hidden_size=256,
    max_seq_len=200,
    max_vocab=256,
    max_batch=64,
    max_train_iterations=5000,
    max_message_bytes=65536,
    max_commands_per_second=50,
)


def forward_frames(session: Session) -> None:
    """An iteration's forward pass stepped as the page steps it, each frame built and encoded
    as the server sends it."""
    session.stepper.restart()
    for _ in range(session.iteration.length):
        encode(session.step_forward())


def backward_frames(session: Session) -> None:
    """Its BPTT stepped the same way, from the first backward step (the flow matrix) on."""
    session.iteration.backward = None
    for _ in range(session.iteration.length):
        encode(session.step_backward())


@contextmanager
def without_insides() -> Iterator[None]:
    """The display path without the cell's insides: no gates, cell state or pre-activation
    terms in forward frames, no dL/dc_t in BPTT frames (the frames as they were before)."""
    inside, state_gradient = presenter._inside, Sweep.state_gradient
    presenter._inside = lambda record: {}
    Sweep.state_gradient = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        presenter._inside = inside
        Sweep.state_gradient = state_gradient  # type: ignore[method-assign]


def bare(frames: Callable[[Session], None], session: Session) -> None:
    """`frames` without the cell's insides."""
    with without_insides():
        frames(session)


def display_row(
    label: str, task: str, H: int, T: int, B: int, budget: float
) -> tuple[float, float]:
    """One size's per-step display cost for every cell, with the insides and without; the worst
    ratios of the two per step (forward and BPTT together) and on forward steps alone."""
    worst, forward_worst = 0.0, 0.0
    for cell in CELLS:
        config = RunConfig(task=task, cell=cell, hidden_size=H, seq_len=T, batch_size=B)
        session = Session(config, LIMITS)
        session.stepper.restart()
        row = []
        for frames in (forward_frames, backward_frames):
            full, without = paired(
                partial(frames, session), partial(bare, frames, session), budget / 2, min_runs=3
            )
            row.append((full / T, without / T))
        (f1, f0), (b1, b0) = row
        ratios = (f1 / f0, b1 / b0, (f1 + b1) / (f0 + b0))
        worst, forward_worst = max(worst, ratios[2]), max(forward_worst, ratios[0])
        forward = f"{f1 * 1e6:7.1f} vs {f0 * 1e6:7.1f} us ({ratios[0]:.2f}x)"
        backward = f"{b1 * 1e6:8.1f} vs {b0 * 1e6:8.1f} us ({ratios[1]:.2f}x)"
        print(f"  {label:22} {cell:5} forward {forward} | BPTT {backward} | both {ratios[2]:.2f}x")
    return worst, forward_worst


def display_path(budget: float) -> None:
    """The per-step display path: engine step, frame building and encoding, with and without
    the cell's insides (gates, cell state, pre-activation terms, dL/dc_t)."""
    print(
        "\nper-step display path (Session.step_forward / step_backward, each frame encoded):"
        " with the cell's insides vs without"
    )
    rows = [display_row(*size, budget) for size in DISPLAY_SIZES]
    worst, forward_worst = (max(column) for column in zip(*rows, strict=True))
    print(
        f"  carrying the cell's insides costs at most {worst:.2f}x per step, forward and BPTT"
        f" (target <= 1.3x); forward steps alone, whose frames carry them, {forward_worst:.2f}x"
    )


def preset_training(budget: float) -> None:
    """Whole iterations of lesson presets through the one training loop the pages use."""
    print("\ntraining presets through app.run.training.train_iterations (the pages' loop)")
    for name in ("hello", "text", "numbers", "adding-gru-long"):
        preset = PRESETS[name]
        run = RunState.start(TASKS[preset.task], RunConfig.model_validate(dict(preset.config)))
        seconds = median_time(partial(train_iterations, run, 1), budget / 2)
        print(f"  {name:18} {seconds * 1e3:8.2f} ms per iteration  ({1 / seconds:7.1f} it/s)")


SECTIONS: dict[str, tuple[Callable[[float], None], float]] = {
    "training": (training_step_table, 1),
    "minchar": (minchar_ratio, 4),
    "floor": (floor_ratio, 2),
    "diagnostics": (diagnostics_ratio, 2),
    "display": (display_path, 2),
    "presets": (preset_training, 2),
}


def main() -> None:
    """Run every section within about a minute."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per measurement")
    parser.add_argument("--only", choices=sorted(SECTIONS), help="run one section")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"numpy {np.__version__}, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}\n")
    for name, (section, scale) in SECTIONS.items():
        if args.only in (None, name):
            section(args.budget * scale)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

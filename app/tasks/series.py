"""Time-series forecasting: read a noisy sine wave (or a sum of two) and predict the next value.

Regression with a linear head and squared error. The inputs carry Gaussian noise; the targets
are the clean signal one step ahead, so the best forecast averages the noise out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.tasks.base import Batch, GeneratedTask, TaskInfo
from app.tasks.metrics import score_real

NOISE_STD = 0.1


@dataclass(frozen=True)
class Wave:
    """One sine component: amplitude and the range its angular frequency is drawn from."""

    amplitude: float
    min_frequency: float  # radians per step
    max_frequency: float


class SineTask(GeneratedTask):
    """Forecast x_{t+1} from x_0 .. x_t for random phases and frequencies."""

    heldout_size = 64

    input_vocab: tuple[str, ...] = ()
    output_vocab: tuple[str, ...] = ()

    def __init__(self, name: str, title: str, waves: tuple[Wave, ...]) -> None:
        self.waves = waves
        parts = " + ".join(
            f"{w.amplitude:g} sin(w{i + 1} t + p{i + 1})" for i, w in enumerate(waves)
        )
        self.info = TaskInfo(
            name=name,
            title=title,
            summary=(
                f"Read s(t) = {parts} plus noise of std {NOISE_STD:g}, one value per step, "
                "and predict the clean next value; predictions are drawn against the truth."
            ),
            input_kind="real",
            head="linear",
            defaults={"seq_len": 40, "hidden_size": 16},
            input_size=1,
            output_size=1,
        )

    def signals(self, rng: np.random.Generator, batch_size: int, length: int) -> np.ndarray:
        """(length, B) clean signals with random frequencies and phases."""
        t = np.arange(length)[:, None]  # (T, 1)
        signal = np.zeros((length, batch_size))
        for wave in self.waves:
            frequency = rng.uniform(wave.min_frequency, wave.max_frequency, size=batch_size)
            phase = rng.uniform(0.0, 2 * np.pi, size=batch_size)
            signal += wave.amplitude * np.sin(frequency * t + phase)
        return signal

    def _batch(self, rng: np.random.Generator, batch_size: int, seq_len: int) -> Batch:
        clean = self.signals(rng, batch_size, seq_len + 1)
        noisy = clean[:-1] + rng.normal(0.0, NOISE_STD, size=(seq_len, batch_size))
        return Batch(inputs=noisy[..., None], targets=clean[1:, :, None])  # (T, B, 1) each

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """MSE against the clean next value, beside two baselines: zero and "same as now"."""
        metrics = score_real(batch, ys)
        metrics["zero_mse"] = float((batch.targets**2).mean())
        metrics["persistence_mse"] = float(((batch.inputs - batch.targets) ** 2).mean())
        return metrics


def sine_task() -> SineTask:
    """One noisy sine wave."""
    return SineTask("sine", "Forecasting a noisy sine wave", (Wave(1.0, 0.15, 0.35),))


def sines_task() -> SineTask:
    """A slow and a fast sine wave added together."""
    return SineTask(
        "sines",
        "Forecasting the sum of two sine waves",
        (Wave(0.7, 0.1, 0.2), Wave(0.4, 0.5, 0.8)),
    )

"""The colours that carry meaning stay apart for colour-blind viewers (and on a projector).

Each colour of static/js/colors.js's PALETTE is passed through the simulations of protanopia,
deuteranopia and tritanopia of Machado, Oliveira & Fernandes (2009, severity 1), and every pair
that must be told apart is checked for a colour difference (CIE76 ΔE in Lab) well above the ~10
that reads as "clearly different" at a glance.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

COLORS_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "colors.js"

SIMULATIONS = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}

# Pairs a viewer must tell apart, and the smallest difference allowed under every simulation.
MUST_DIFFER = [
    (("vanishing", "neutral", "exploding", "nonFinite"), 20.0),  # gradient bands
    (("negativeEnd", "zero", "positiveEnd"), 30.0),  # the ends and middle of h's scale
    (("negative", "positive"), 20.0),
    (("model", "target"), 20.0),  # prediction against truth, bars against the target
    (("smooth", "faint"), 20.0),  # loss against smoothed loss
]


def palette() -> dict[str, str]:
    body = re.search(r"export const PALETTE = \{(.*?)\};", COLORS_JS.read_text(), re.S)
    assert body, "PALETTE not found in colors.js"
    return dict(re.findall(r'(\w+): "(#[0-9a-fA-F]{6})"', body.group(1)))


def lab(hex_colour: str, simulation: np.ndarray) -> np.ndarray:
    srgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(simulation @ linear, 0, 1)
    xyz = (
        np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
        @ seen
    )
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", list(SIMULATIONS))
def test_meaningful_colours_stay_apart(vision: str) -> None:
    colours = palette()
    for names, least in MUST_DIFFER:
        for a, b in combinations(names, 2):
            delta = float(
                np.linalg.norm(
                    lab(colours[a], SIMULATIONS[vision]) - lab(colours[b], SIMULATIONS[vision])
                )
            )
            assert delta >= least, f"{a} vs {b} under {vision}: ΔE {delta:.1f} < {least}"

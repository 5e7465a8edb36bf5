"""Files a user might upload, as bytes, and read onto a shelf as the upload route reads them."""

from __future__ import annotations

import numpy as np

from app.run.shelf import CsvFile, ModelFile, SidecarFile, TextFile, UploadLimits, read_upload
from tests.models.torch_reference import safetensors_bytes, sidecar_json, torch_tensors

LIMITS = UploadLimits(
    max_bytes=1_000_000,
    max_rows=100_000,
    max_weights_bytes=8 * 2**20,
    max_vocab=256,
    max_hidden_size=256,
)
RHYME = "Humpty Dumpty sat on a wall,\nHumpty Dumpty had a great fall.\n" * 8


def weather_csv(rows: int = 60) -> bytes:
    """A small weather series: a day count, a temperature that swings, and rain."""
    lines = ["day,temperature,rain"]
    lines += [f"{d},{10 + 5 * np.sin(d / 3):.3f},{(d * 7) % 5}" for d in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def series_upload() -> CsvFile:
    upload = read_upload("csv", weather_csv(), "weather.csv", LIMITS)
    assert isinstance(upload, CsvFile)
    return upload


def text_upload(level: str = "char", text: str = RHYME) -> TextFile:
    upload = read_upload("text", text.encode(), "rhyme.txt", LIMITS, level=level)
    assert isinstance(upload, TextFile)
    return upload


def torch_files(module: str, **sidecar: object) -> tuple[bytes, bytes]:
    """(weights, sidecar) of a random torch model: tokens of the rhyme, or the weather's columns."""
    H = 5
    if sidecar.get("kind", "tokens") == "tokens":
        vocab = sorted(set(RHYME))
        side = {"kind": "tokens", "vocab": vocab, **sidecar}
        tensors = torch_tensors(module, len(vocab), H, outputs=len(vocab))
    else:
        inputs = list(sidecar.get("inputs", ["rain", "temperature"]))  # type: ignore[call-overload]
        side = {"inputs": inputs, "outputs": ["temperature"], **sidecar}
        tensors = torch_tensors(module, len(inputs), H, outputs=1)
    return safetensors_bytes(tensors), sidecar_json(**side).encode()


def model_upload(module: str, **sidecar: object) -> ModelFile:
    weights, side = torch_files(module, **sidecar)
    read_side = read_upload("sidecar", side, "model.json", LIMITS)
    assert isinstance(read_side, SidecarFile)
    upload = read_upload("weights", weights, "model.safetensors", LIMITS, sidecar=read_side)
    assert isinstance(upload, ModelFile)
    return upload

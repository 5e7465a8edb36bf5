"""Files a user might upload, as bytes, and read onto a shelf as the upload route reads them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app import protocol as p
from app.run.shelf import CsvFile, ModelFile, SidecarFile, TextFile, UploadLimits, read_upload
from app.session import Session
from tests.models.torch_reference import safetensors_bytes, sidecar_json, torch_tensors

LIMITS = UploadLimits(
    max_bytes=1_000_000,
    max_rows=100_000,
    max_weights_bytes=8 * 2**20,
    max_vocab=256,
    max_hidden_size=256,
)
RHYME = "Humpty Dumpty sat on a wall,\nHumpty Dumpty had a great fall.\n" * 8
VOCAB = sorted(set(RHYME))
COLUMNS = ["rain", "temperature"]  # what a features model reads; it forecasts temperature
HIDDEN = 5


def weather_csv(rows: int = 60) -> bytes:
    """A small weather series: a day count, a temperature that swings, and rain."""
    lines = ["day,temperature,rain"]
    lines += [f"{d},{10 + 5 * np.sin(d / 3):.3f},{(d * 7) % 5}" for d in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def series_upload(data: bytes | None = None) -> CsvFile:
    upload = read_upload("csv", weather_csv() if data is None else data, "weather.csv", LIMITS)
    assert isinstance(upload, CsvFile)
    return upload


def text_upload(level: str = "char", text: str = RHYME) -> TextFile:
    upload = read_upload("text", text.encode(), "rhyme.txt", LIMITS, level=level)
    assert isinstance(upload, TextFile)
    return upload


@dataclass(frozen=True)
class TorchFiles:
    """A random torch model as its two files, and the tensors they hold."""

    tensors: dict[str, np.ndarray]
    weights: bytes
    sidecar: bytes


def torch_files(
    module: str,
    kind: str = "tokens",
    *,
    embedding: int = 0,
    head: bool = True,
    seed: int = 0,
    **sidecar: object,
) -> TorchFiles:
    """A model reading the rhyme's characters (tokens) or the weather's columns (features)."""
    if kind == "tokens":
        side: dict[str, object] = {"kind": "tokens", "vocab": VOCAB, **sidecar}
        D, outputs = embedding or len(VOCAB), side.get("output_vocab", VOCAB)
    else:
        side = {"kind": "features", "inputs": COLUMNS, "outputs": ["temperature"], **sidecar}
        D, outputs = len(side["inputs"]), side["outputs"]  # type: ignore[arg-type]
    tensors = torch_tensors(
        module,
        D,
        HIDDEN,
        seed=seed,
        vocab=len(VOCAB) if embedding else 0,
        outputs=len(outputs) if head else 0,  # type: ignore[arg-type]
    )
    return TorchFiles(tensors, safetensors_bytes(tensors), sidecar_json(**side).encode())


def model_upload(module: str, kind: str = "tokens", **options: object) -> ModelFile:
    return read_model(torch_files(module, kind, **options))  # type: ignore[arg-type]


def read_model(files: TorchFiles) -> ModelFile:
    side = read_upload("sidecar", files.sidecar, "model.json", LIMITS)
    assert isinstance(side, SidecarFile)
    upload = read_upload("weights", files.weights, "model.safetensors", LIMITS, sidecar=side)
    assert isinstance(upload, ModelFile)
    return upload


def use(
    session: Session, data: TextFile | CsvFile, model: ModelFile | None = None, **choice: object
) -> p.Hello:
    """Put the files on the session's shelf, as the upload route does, and learn from them."""
    upload_id = session.shelf.put(data, 4)
    model_id = None if model is None else session.shelf.put(model, 4)
    command = p.UseUpload.model_validate(
        {"type": "use_upload", "upload_id": upload_id, "model_id": model_id, **choice}
    )
    return session.use_upload(command)

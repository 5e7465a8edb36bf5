"""Files a user uploaded, read and checked, waiting on their session's shelf for use_upload.

The web layer hands each file as it arrives to the worker holding its session, which reads it
onto the session's shelf (`Shelf.read`); the session takes it from there by id. A shelf keeps a
few uploads (the oldest dropped first) and goes with its session (a move to another worker
takes it along); `nbytes` is what its uploads hold in memory, so the server can cap all
shelves together.
"""

from __future__ import annotations

import secrets
import sys
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import PurePosixPath

from app.inputs import InputError
from app.models import Sidecar, TorchModel, WeightsLimits, load_torch_model, parse_sidecar
from app.protocol import (
    ColumnScaling,
    ModelSummary,
    TableSummary,
    TextLevel,
    TextSummary,
    UploadKind,
    UploadReceipt,
)
from app.run.refusal import CommandRefused
from app.run.state import UPLOADED
from app.tasks.base import UNK
from app.tasks.uploaded import Table, TokenTextTask, read_table, read_text, text_task
from app.tasks.uploaded.series import column_scalings, longest_window, training_rows

MAX_NAME_CHARS = 100
ROW_OVERHEAD_BYTES = 36  # a table keeps each row's file line (a Python int in a tuple)


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may hold (the server's settings)."""

    max_bytes: int  # a text or CSV file, a sidecar
    max_rows: int  # rows of a CSV file
    max_weights_bytes: int  # a .safetensors file
    max_vocab: int
    max_hidden_size: int


@dataclass(frozen=True)
class UploadFile:
    """A file as it was uploaded for a session (its body capped), and what reading it allows."""

    kind: UploadKind
    data: bytes
    name: str
    limits: UploadLimits
    capacity: int  # uploads the session keeps
    level: TextLevel = "char"  # a text file's tokens: characters or words
    sidecar: str | None = None  # a weights file's: the upload id of its JSON sidecar


@dataclass(frozen=True)
class TextFile:
    """A text file: as read, and as a task on its own vocabulary."""

    name: str
    text: str  # newlines normalised; a loaded model's vocabulary re-reads it
    task: TokenTextTask

    @property
    def nbytes(self) -> int:
        """Memory held: the text twice (as read and as the task walks it) and its token ids."""
        return sys.getsizeof(self.text) + sys.getsizeof(self.task.text) + self.task.ids.nbytes


@dataclass(frozen=True)
class CsvFile:
    """A CSV file's table of numbers; the target and inputs are chosen when it is used."""

    name: str
    table: Table

    @property
    def nbytes(self) -> int:
        """Memory held: the values and each row's file line."""
        return self.table.values.nbytes + ROW_OVERHEAD_BYTES * self.table.rows


@dataclass(frozen=True)
class SidecarFile:
    """A model's JSON sidecar, waiting for its weights."""

    name: str
    sidecar: Sidecar

    @property
    def nbytes(self) -> int:
        """Memory held: its names."""
        names = (*self.sidecar.inputs, *self.sidecar.outputs)
        return sum(sys.getsizeof(name) for name in names)


@dataclass(frozen=True)
class ModelFile:
    """A torch model's weights, read with their sidecar into the engine's form."""

    name: str
    model: TorchModel

    @property
    def nbytes(self) -> int:
        """Memory held: the parameters."""
        return sum(value.nbytes for value in self.model.params.values())


Upload = TextFile | CsvFile | SidecarFile | ModelFile


def clean_name(name: str) -> str:
    """A file name as shown and saved: its last path part, printable, at most 100 characters."""
    base = PurePosixPath(name.replace("\\", "/")).name
    printable = "".join(ch for ch in base if ch.isprintable()).strip()
    return printable[:MAX_NAME_CHARS] or "upload"


def read_upload(
    kind: UploadKind,
    data: bytes,
    name: str,
    limits: UploadLimits,
    *,
    level: str = "char",
    sidecar: SidecarFile | None = None,
) -> Upload:
    """Read and check one uploaded file; InputError names the field, line and column."""
    name = clean_name(name)
    if kind == "text":
        text = read_text(data, limits.max_bytes)
        task = text_task(text, level=level, max_vocab=limits.max_vocab, name=UPLOADED)
        return TextFile(name, text, task)
    if kind == "csv":
        return CsvFile(name, read_table(data, max_bytes=limits.max_bytes, max_rows=limits.max_rows))
    weights = WeightsLimits(limits.max_weights_bytes, limits.max_hidden_size, limits.max_vocab)
    if kind == "sidecar":
        if len(data) > limits.max_bytes:
            raise InputError("sidecar", f"is {len(data)} bytes; the limit is {limits.max_bytes}")
        side = parse_sidecar(data, max_vocab=weights.max_vocab, max_features=weights.max_features)
        return SidecarFile(name, side)
    if sidecar is None:
        raise InputError("sidecar", "is missing: upload the model's JSON sidecar first")
    return ModelFile(name, load_torch_model(data, sidecar.sidecar, weights))


def _model_summary(side: Sidecar, model: TorchModel | None = None) -> ModelSummary:
    summary = ModelSummary(kind=side.kind, inputs=list(side.inputs), outputs=list(side.outputs))
    if model is None:
        return summary
    spec = model.spec
    return summary.model_copy(
        update={
            "module": model.module,
            "hidden_size": spec.hidden_size,
            "embedding_size": spec.embedding_size,
            "has_head": model.has_head,
        }
    )


def receipt(upload_id: str, upload: Upload, size: int) -> UploadReceipt:
    """What the uploader is told: the id to use it by, and what the file holds."""
    fields: dict[str, object] = {"id": upload_id, "name": upload.name, "bytes": size}
    if isinstance(upload, TextFile):
        task = upload.task
        fields["kind"] = "text"
        fields["text"] = TextSummary(
            level=task.level,
            tokens=len(task.ids),
            vocab_size=len(task.input_vocab),
            unknown=UNK in task.input_vocab,
            heldout_tokens=len(task.heldout_ids),
        )
    elif isinstance(upload, CsvFile):
        table = upload.table
        scaling = column_scalings(table)
        fields["kind"] = "csv"
        fields["table"] = TableSummary(
            rows=table.rows,
            header=table.header,
            columns=list(table.columns),
            scaling={k: ColumnScaling(mean=v.mean, std=v.std) for k, v in scaling.items()},
            heldout_rows=table.rows - training_rows(table.rows),
            max_seq_len=longest_window(table.rows),
        )
    elif isinstance(upload, SidecarFile):
        fields["kind"] = "sidecar"
        fields["model"] = _model_summary(upload.sidecar)
    else:
        fields["kind"] = "weights"
        fields["model"] = _model_summary(upload.model.sidecar, upload.model)
    return UploadReceipt.model_validate(fields)


class Shelf:
    """A session's uploads by id, the newest last."""

    def __init__(self) -> None:
        self._uploads: OrderedDict[str, Upload] = OrderedDict()

    @property
    def nbytes(self) -> int:
        """Memory its uploads hold."""
        return sum(upload.nbytes for upload in self._uploads.values())

    def read(self, file: UploadFile) -> UploadReceipt:
        """Read a file onto the shelf (weights with the sidecar it names, which they use up);
        the receipt. InputError names the field, line and column; nothing changes then."""
        side = None if file.sidecar is None else self.sidecar_file(file.sidecar)
        upload = read_upload(
            file.kind, file.data, file.name, file.limits, level=file.level, sidecar=side
        )
        if file.sidecar is not None:
            self.drop(file.sidecar)  # read into the model now
        return receipt(self.put(upload, file.capacity), upload, len(file.data))

    def put(self, upload: Upload, capacity: int) -> str:
        """Keep an upload (dropping the oldest past `capacity`); return its new id."""
        upload_id = secrets.token_urlsafe(12)
        self._uploads[upload_id] = upload
        while len(self._uploads) > capacity:
            self._uploads.popitem(last=False)
        return upload_id

    def drop(self, upload_id: str) -> None:
        """Forget an upload (a sidecar once its weights are read)."""
        self._uploads.pop(upload_id, None)

    def take(self, upload_id: str, field: str = "upload_id") -> Upload:
        """The upload by id (it stays on the shelf), or a refusal naming the field."""
        upload = self._uploads.get(upload_id)
        if upload is None:
            message = (
                f"no upload {upload_id!r} here: upload the file again (uploads last while the "
                "page stays connected, a few at a time)"
            )
            raise CommandRefused("out_of_range", message, field)
        return upload

    def data_file(self, upload_id: str) -> TextFile | CsvFile:
        """A text or CSV file by id, to learn from."""
        upload = self.take(upload_id)
        if isinstance(upload, TextFile | CsvFile):
            return upload
        raise _wrong_kind("upload_id", "a text or CSV file")

    def model_file(self, upload_id: str) -> ModelFile:
        """A model's weights by id."""
        upload = self.take(upload_id, "model_id")
        if isinstance(upload, ModelFile):
            return upload
        raise _wrong_kind("model_id", "a model's weights")

    def sidecar_file(self, upload_id: str) -> SidecarFile:
        """A model's sidecar by id."""
        upload = self.take(upload_id, "sidecar")
        if isinstance(upload, SidecarFile):
            return upload
        raise _wrong_kind("sidecar", "a model's JSON sidecar")


def _wrong_kind(field: str, wanted: str) -> CommandRefused:
    return CommandRefused("out_of_range", f"{field} must name {wanted}", field)

"""A user's own files: what an upload's receipt says, what a run on one shows and saves.

Files reach the server over HTTP (POST /api/uploads/{kind}?session=ID&name=FILE, the file as
the body), not inside a websocket message; the receipt names the upload, and the `use_upload`
command switches the session to it. A run on an upload tells the page about it in its hello
(`upload`), and a saved run carries the data (and a loaded model's weights) so it opens again.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.protocol.config import Exact, Strict
from app.protocol.generator import GeneratorState
from app.protocol.wire import Count, Matrix, Vector

UploadKind = Literal["text", "csv", "sidecar", "weights"]
TextLevel = Literal["char", "word"]
TorchModule = Literal["nn.RNN", "nn.LSTM", "nn.GRU"]


class ColumnScaling(Strict):
    """How a CSV column is normalised: (value - mean) / std, from the training rows alone."""

    mean: float
    std: float = Field(description="1 for a constant column, which is only centred")


class TextSummary(Strict):
    """A text file: its tokens and vocabulary."""

    level: TextLevel
    tokens: int = Field(description="characters or words in the file")
    vocab_size: int
    unknown: bool = Field(description="whether rare words were cut and read as <unk>")
    heldout_tokens: int = Field(description="the file's tail held out for evaluation")


class TableSummary(Strict):
    """A CSV file: its columns (with the normalisation each would get) and rows."""

    rows: int
    header: bool = Field(description="whether the first line named the columns")
    columns: list[str]
    scaling: dict[str, ColumnScaling]
    heldout_rows: int
    max_seq_len: int = Field(description="the longest window both splits can fill")


class ModelSummary(Strict):
    """A torch model's weights read with its sidecar (or the sidecar alone, before them)."""

    kind: Literal["tokens", "features"]
    inputs: list[str] = Field(description="input tokens by id, or input feature names")
    outputs: list[str] = Field(description="output tokens by id, or output feature names")
    module: TorchModule | None = Field(None, description="null for a sidecar alone")
    hidden_size: int | None = None
    embedding_size: int = Field(0, description="an nn.Embedding's width; 0 without one")
    has_head: bool = Field(False, description="false: a fresh nn.Linear head is drawn")


class UploadReceipt(Strict):
    """The answer to an upload (HTTP 201): its id for `use_upload`, and what the file holds."""

    id: str
    kind: UploadKind
    name: str = Field(description="the file's name, as sent")
    bytes: int
    text: TextSummary | None = None
    table: TableSummary | None = None
    model: ModelSummary | None = None


class UploadRefusal(Strict):
    """Why an upload was refused (HTTP 413, 422, 404 or 503); the session is untouched."""

    field: str = Field(description='what is wrong: "text", "csv", "weights.rnn.weight_hh_l0"')
    message: str
    line: int | None = Field(None, description="the file's line, from 1, where it applies")
    column: int | None = Field(None, description="the line's column (a CSV's cell), from 1")


class UploadInfo(Strict):
    """The run's own uploaded data, and the model loaded for it: what the page shows."""

    name: str = Field(description="the data file's name")
    kind: Literal["text", "series"]
    level: TextLevel | None = Field(None, description="text: characters or words")
    target: str | None = Field(None, description="series: the column forecast")
    inputs: list[str] | None = Field(None, description="series: the columns read")
    scaling: dict[str, ColumnScaling] | None = Field(
        None, description="series: each used column's normalisation"
    )
    model: str | None = Field(
        None, description='the loaded model, e.g. "nn.GRU (model.safetensors)"'
    )


class LoadedModelState(Exact):
    """A loaded model as a saved run carries it: its file, module and the weights it loaded."""

    name: str = Field(max_length=100)
    module: TorchModule
    params: dict[str, Vector | Matrix] = Field(description="as loaded (engine names), exact")


class UploadState(Exact):
    """A run's own uploaded data (and loaded model), as export carries it and import rebuilds it."""

    name: str = Field(max_length=100)
    kind: Literal["text", "series"]
    level: TextLevel | None = None
    text: str | None = Field(None, description="text: the tokens, as the task walks them")
    vocab: list[str] | None = Field(None, description="text: the vocabulary, by id")
    columns: dict[str, Vector] | None = Field(None, description="series: the used columns, raw")
    target: str | None = None
    inputs: list[str] | None = None
    model: LoadedModelState | None = None


class DataPosition(Exact):
    """Where a run's data stood before its current batch was drawn: cursor and generator."""

    cursor: Count | None = None
    rng: GeneratorState = Field(description="the data generator's state before the draw")


__all__ = [
    "ColumnScaling",
    "DataPosition",
    "LoadedModelState",
    "ModelSummary",
    "TableSummary",
    "TextLevel",
    "TextSummary",
    "TorchModule",
    "UploadInfo",
    "UploadKind",
    "UploadReceipt",
    "UploadRefusal",
    "UploadState",
]

"""A run on the user's own uploaded data, with a trained model loaded for it if any (OwnData).

`use_upload` makes one from the shelf's files; a run keeps it across reset and configure (its
task is named "uploaded"); a saved run carries it (UploadState) so an import rebuilds it. A
loaded model is the run's network only while the run's config builds exactly that network
(same cell, sizes, input and head): a run whose knobs change it starts fresh weights instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

from app.engine import Cell, EngineCell, ModelSpec, Net, SingleNet
from app.engine.types import Generator, Params
from app.inputs import InputError
from app.models import MODULE_CELLS, Sidecar, TorchModel
from app.protocol import (
    ColumnScaling,
    LoadedModelState,
    RunConfig,
    UploadInfo,
    UploadState,
    from_wire,
    wire_array,
)
from app.run.shelf import CsvFile, ModelFile, TextFile
from app.run.state import UPLOADED, build_net
from app.tasks import Task
from app.tasks.uploaded import SeriesTask, Table, TokenTextTask, series_task, text_task

OwnTask = TokenTextTask | SeriesTask


def run_cell(cell: EngineCell) -> Cell:
    """The cell a run's config names for an engine cell: torch's GRU form is a GRU to the knobs."""
    return "gru" if cell == "gru_torch" else cell


@dataclass(frozen=True)
class LoadedModel:
    """A trained model a run starts from: its file's name and its weights in the engine's form."""

    name: str
    torch: TorchModel

    @property
    def net(self) -> Net:
        """The network it is."""
        return SingleNet(self.torch.spec)

    def config_fields(self) -> dict[str, object]:
        """The knobs of a run that builds this network."""
        spec = self.torch.spec
        return {
            "cell": run_cell(spec.cell),
            "activation": spec.activation,
            "hidden_size": spec.hidden_size,
            "embedding_size": spec.embedding_size,
            "spectral_radius": None,  # its weights are used as they are
        }

    def misfit(self, net: Net) -> str | None:
        """How `net` differs from this model's network (torch's GRU form aside); None if not."""
        spec, mine = net.single_spec, self.torch.spec
        if spec is None:
            return "the model is one network; this run's is an encoder-decoder"
        if spec.cell == run_cell(mine.cell):
            spec = replace(spec, cell=mine.cell)
        for name in (f.name for f in fields(ModelSpec)):
            theirs, ours = getattr(spec, name), getattr(mine, name)
            if theirs != ours:
                return f"the model's {name} is {ours}; this run's network needs {theirs}"
        return None

    def start_params(self, rng: Generator, scale: float) -> Params:
        """Its weights, with a head drawn from `rng` if the file had none."""
        return self.torch.complete_params(rng, scale)


@dataclass(frozen=True)
class OwnData:
    """The uploaded data a run learns, as a task, and the model loaded for it (if any)."""

    name: str  # the data file's
    task: OwnTask
    model: LoadedModel | None = None

    def model_for(self, task: Task, net: Net) -> LoadedModel | None:
        """The loaded model, if the run is on this data and builds the model's network."""
        model = self.model
        if task is not self.task or model is None or model.misfit(net) is not None:
            return None
        return model

    @property
    def nbytes(self) -> int:
        """Memory its data and a loaded model's weights hold, beside the run's own arrays."""
        task, model = self.task, self.model
        if isinstance(task, TokenTextTask):
            data = sys.getsizeof(task.text) + task.ids.nbytes
        else:
            data = task.X.nbytes + task.y.nbytes + sum(raw.nbytes for raw in task.raw.values())
        weights = 0 if model is None else sum(v.nbytes for v in model.torch.params.values())
        return data + weights

    def without_model(self) -> OwnData:
        """The same data, to learn with fresh weights."""
        return self if self.model is None else replace(self, model=None)

    def config(self, current: RunConfig) -> RunConfig:
        """`current` turned to this data: its task and defaults, and the model's knobs."""
        fields = set(RunConfig.model_fields)
        changes = {k: v for k, v in self.task.info.defaults.items() if k in fields}
        changes["task"] = UPLOADED
        if self.model is not None:
            changes.update(self.model.config_fields())
        return RunConfig.model_validate({**current.model_dump(), **changes})

    def info(self) -> UploadInfo:
        """What the page shows about the run's data and model."""
        task = self.task
        model = None if self.model is None else f"{self.model.torch.module} from {self.model.name}"
        if isinstance(task, TokenTextTask):
            return UploadInfo(name=self.name, kind="text", level=task.level, model=model)
        scaling = {k: ColumnScaling(mean=v.mean, std=v.std) for k, v in task.scaling.items()}
        return UploadInfo(
            name=self.name,
            kind="series",
            target=task.target,
            inputs=list(task.inputs),
            scaling=scaling,
            model=model,
        )

    def state(self) -> UploadState:
        """What a saved run carries to rebuild this: the data as the task reads it, the model."""
        task = self.task
        model = self.model
        saved = (
            None
            if model is None
            else LoadedModelState.model_construct(
                name=model.name,
                module=model.torch.module,
                params={k: wire_array(v, np.float64) for k, v in model.torch.params.items()},
            )
        )
        if isinstance(task, TokenTextTask):
            return UploadState.model_construct(
                name=self.name,
                kind="text",
                level=task.level,
                text=task.text,
                vocab=list(task.input_vocab),
                model=saved,
            )
        return UploadState.model_construct(
            name=self.name,
            kind="series",
            columns={k: wire_array(v, np.float64) for k, v in task.raw.items()},
            target=task.target,
            inputs=list(task.inputs),
            model=saved,
        )


def own_data(
    data: TextFile | CsvFile,
    model: ModelFile | None = None,
    target: str | None = None,
    inputs: Sequence[str] | None = None,
) -> OwnData:
    """The run's data from uploaded files; InputError names what does not fit together."""
    if model is None:
        if isinstance(data, TextFile):
            return OwnData(data.name, data.task)
        table = data.table
        return OwnData(
            data.name, series_task(table, target or table.columns[-1], inputs, name=UPLOADED)
        )
    loaded = LoadedModel(model.name, model.model)
    side = model.model.sidecar
    if isinstance(data, TextFile):
        return OwnData(data.name, _text_for(data, side), loaded)
    return OwnData(data.name, _series_for(data.table, side, target, inputs), loaded)


def _text_for(data: TextFile, side: Sidecar) -> TokenTextTask:
    """The text read in the model's vocabulary (a language model's: it predicts what it reads)."""
    if not side.tokens:
        raise InputError("model_id", "the model reads feature columns: use it with a CSV file")
    if side.outputs != side.inputs:
        message = "the model predicts other tokens than it reads; a text trains its next token"
        raise InputError("model_id", message)
    level, vocab = data.task.level, side.inputs
    return text_task(data.text, level=level, max_vocab=len(vocab), vocab=vocab, name=UPLOADED)


def _series_for(
    table: Table, side: Sidecar, target: str | None, inputs: Sequence[str] | None
) -> SeriesTask:
    """The columns the model's sidecar names: its inputs, and its one output as the target."""
    if side.tokens:
        raise InputError("model_id", "the model reads tokens: use it with a text file")
    if len(side.outputs) != 1:
        message = f"the model forecasts {len(side.outputs)} columns; a CSV task forecasts one"
        raise InputError("model_id", message)
    chosen = (side.outputs[0], list(side.inputs))
    if (target or chosen[0], list(inputs or chosen[1])) != chosen:
        message = f"the model reads {', '.join(side.inputs)} and forecasts {side.outputs[0]}"
        raise InputError("target" if target not in (None, chosen[0]) else "inputs", message)
    return series_task(table, chosen[0], chosen[1], name=UPLOADED)


def restore_own(state: UploadState, config: RunConfig) -> OwnData:
    """The uploaded data (and model) a saved run carried; ValueError says what is wrong."""
    task = _restore_task(state)
    if state.model is None:
        return OwnData(state.name, task)
    saved = state.model
    cell = MODULE_CELLS[saved.module]
    spec = build_net(task, config).single_spec
    if spec is None or spec.cell != run_cell(cell):
        raise ValueError(
            f"the saved {saved.module} runs as cell {run_cell(cell)}, not {config.cell}"
        )
    spec = replace(spec, cell=cell)
    params = {k: from_wire(v) for k, v in saved.params.items()}
    if not all(np.isfinite(value).all() for value in params.values()):
        raise ValueError("the saved model's weights hold NaN or infinity")
    side = (
        Sidecar("tokens", task.input_vocab, task.output_vocab)
        if isinstance(task, TokenTextTask)
        else Sidecar("features", task.inputs, (task.target,))
    )
    torch = TorchModel(spec, params, saved.module, side)
    SingleNet(spec).check_params(torch.complete_params(np.random.default_rng(0), 0.0))
    return OwnData(state.name, task, LoadedModel(saved.name, torch))


def _restore_task(state: UploadState) -> OwnTask:
    if state.kind == "text":
        if state.text is None or state.vocab is None or state.level is None:
            raise ValueError("a saved text upload needs its text, level and vocab")
        vocab = state.vocab
        return text_task(
            state.text, level=state.level, max_vocab=len(vocab), vocab=vocab, name=UPLOADED
        )
    if state.columns is None or state.target is None or state.inputs is None:
        raise ValueError("a saved series upload needs its columns, target and inputs")
    names = tuple(state.columns)
    values = np.stack([from_wire(state.columns[name]) for name in names], axis=1)
    if not np.isfinite(values).all():
        raise ValueError("a saved series holds NaN or infinity")
    rows = tuple(range(1, len(values) + 1))
    table = Table(names, values, header=True, lines=rows)
    return series_task(table, state.target, state.inputs, name=UPLOADED)

"""Models brought from elsewhere: PyTorch recurrent weights read into the engine's form."""

from __future__ import annotations

from app.models.sidecar import Sidecar, parse_sidecar
from app.models.torch_weights import (
    MODULE_CELLS,
    Module,
    TorchModel,
    WeightsLimits,
    load_torch_model,
)

__all__ = [
    "MODULE_CELLS",
    "Module",
    "Sidecar",
    "TorchModel",
    "WeightsLimits",
    "load_torch_model",
    "parse_sidecar",
]

"""Every cell type by the name a ModelSpec gives it."""

from __future__ import annotations

from app.engine.cells import Cell, GRUCell, LSTMCell, VanillaCell
from app.engine.cells_torch import TorchGRUCell

CELL_TYPES: dict[str, type[Cell]] = {
    cls.name: cls for cls in (VanillaCell, LSTMCell, GRUCell, TorchGRUCell)
}


def make_cell(cell: str, hidden_size: int, activation: str = "tanh") -> Cell:
    """The cell object for a spec's `cell` name."""
    return CELL_TYPES[cell](hidden_size, activation)

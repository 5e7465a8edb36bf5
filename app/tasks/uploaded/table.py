"""An uploaded CSV file read into a table of numbers, every refusal naming its line and column.

The policy, so nothing is guessed silently:
- the delimiter is the one of ",", ";" and tab the first line holds most of (ties: ",");
- the first row is a header if any of its cells is text; without one the columns are
  named "column 1", "column 2", ...; header names must be distinct;
- blank lines, and rows whose cells are all blank, are skipped;
- every other row has as many cells as the first, each a finite number (Python's float syntax:
  1, -2.5, 3e-4); an empty cell (a missing value) or text is refused, naming line and column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from app.inputs import InputError, decode_utf8

MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 100_000
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Table:
    """The numbers of a CSV file, one column per named field."""

    columns: tuple[str, ...]
    values: np.ndarray  # (N, C) float64
    header: bool  # whether the first line named the columns
    lines: tuple[int, ...]  # the file line of each row, for messages about rows

    @property
    def rows(self) -> int:
        """N, the number of data rows."""
        return int(self.values.shape[0])


def _number(cell: str) -> float | None:
    """The cell's value, or None if it is not a number."""
    try:
        return float(cell)
    except ValueError:
        return None


def _delimiter(text: str) -> str:
    """The delimiter the first non-blank line holds most of."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    return max(DELIMITERS, key=first.count)


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(file line, stripped cells) of every row with a non-blank cell."""
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text), strict=True)
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if any(cells):
                yield reader.line_num, cells
    except csv.Error as exc:  # e.g. a quote left open to the end of the file
        message = f"cannot be read as CSV: {exc} (is a quote left open?)"
        raise InputError("csv", message, line=reader.line_num) from exc


def _header(line: int, cells: list[str]) -> tuple[str, ...]:
    """The column names of a header row, checked to be distinct."""
    names = [cell or f"column {k + 1}" for k, cell in enumerate(cells)]
    for k, name in enumerate(names):
        if name in names[:k]:
            message = f"the column name {name!r} is used twice; name every column differently"
            raise InputError("csv", message, line=line, column=k + 1)
    return tuple(names)


def _values(line: int, cells: list[str], columns: tuple[str, ...]) -> list[float]:
    """A data row's numbers, or InputError at its first missing, textual or infinite cell."""
    if len(cells) != len(columns):
        message = f"has {len(cells)} cells; the first row has {len(columns)}"
        raise InputError("csv", message, line=line)
    values = []
    for k, cell in enumerate(cells):
        where = {"line": line, "column": k + 1}
        if not cell:
            message = f"the {columns[k]!r} cell is empty: missing values are not filled in"
            raise InputError("csv", message, **where)
        value = _number(cell)
        if value is None:
            raise InputError("csv", f"{cell!r} in column {columns[k]!r} is not a number", **where)
        if not np.isfinite(value):
            message = f"{cell!r} in column {columns[k]!r} is not a finite number"
            raise InputError("csv", message, **where)
        values.append(value)
    return values


def _first_row(line: int, cells: list[str]) -> tuple[tuple[str, ...], list[list[float]]]:
    """(column names, the row's numbers if it is data): a header if any cell is text."""
    if any(cell and _number(cell) is None for cell in cells):  # a name, not a number
        return _header(line, cells), []
    columns = tuple(f"column {k + 1}" for k in range(len(cells)))
    return columns, [_values(line, cells, columns)]


def read_table(
    data: bytes, *, max_bytes: int = MAX_CSV_BYTES, max_rows: int = MAX_CSV_ROWS
) -> Table:
    """The numbers of an uploaded CSV file; InputError names the line, column and reason."""
    if len(data) > max_bytes:
        raise InputError("csv", f"is {len(data)} bytes; the limit is {max_bytes}")
    rows = _rows(decode_utf8(data, "csv"))
    first = next(rows, None)
    if first is None:
        raise InputError("csv", "is empty: upload a file with a column of numbers")
    columns, values = _first_row(*first)
    header = not values
    lines = [] if header else [first[0]]
    for line, cells in rows:
        if len(values) == max_rows:
            raise InputError("csv", f"has more than {max_rows} rows of data", line=line)
        values.append(_values(line, cells, columns))
        lines.append(line)
    if not values:
        raise InputError("csv", "has a header but no rows of numbers")
    return Table(columns, np.array(values, dtype=np.float64), header, tuple(lines))

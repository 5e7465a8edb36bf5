"""Tasks on the user's own data: an uploaded text file, or a column of an uploaded CSV file.

Each satisfies app.tasks.base.Task, so a session runs it like a preset's task. Limits come in as
arguments; every refusal is an app.inputs.InputError naming the field, line and column.
"""

from __future__ import annotations

from app.tasks.uploaded.series import Scaling, SeriesTask, series_task
from app.tasks.uploaded.table import Table, read_table
from app.tasks.uploaded.text import TokenTextTask, read_text, text_task

__all__ = [
    "Scaling",
    "SeriesTask",
    "Table",
    "TokenTextTask",
    "read_table",
    "read_text",
    "series_task",
    "text_task",
]

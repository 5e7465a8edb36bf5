"""Lesson tasks: the data and presets that make each idea visible."""

from __future__ import annotations

from app.tasks.base import Batch, Task, TaskInfo
from app.tasks.presets import PRESETS, Expectation, Preset, describe_presets, describe_tasks
from app.tasks.registry import TASKS
from app.tasks.text import CharTextTask

__all__ = [
    "PRESETS",
    "TASKS",
    "Batch",
    "CharTextTask",
    "Expectation",
    "Preset",
    "Task",
    "TaskInfo",
    "describe_presets",
    "describe_tasks",
]

"""Lesson tasks: the data and presets that make each idea visible."""

from __future__ import annotations

from app.tasks.base import Batch, Task, TaskInfo
from app.tasks.hello import HelloTask

TASKS: dict[str, Task] = {task.info.name: task for task in (HelloTask(),)}

__all__ = ["TASKS", "Batch", "Task", "TaskInfo"]

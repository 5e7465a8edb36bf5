"""Every built-in task by name."""

from __future__ import annotations

from app.tasks.base import Task
from app.tasks.hello import HelloTask
from app.tasks.melody import MelodyTask
from app.tasks.memory import AddingTask, RememberTask
from app.tasks.numbers import NumbersTask
from app.tasks.sentiment import SentimentTask
from app.tasks.series import sine_task, sines_task
from app.tasks.tagging import TaggingTask
from app.tasks.text import corpus_task
from app.tasks.words import NextWordTask


def built_in_tasks() -> tuple[Task, ...]:
    """One fresh instance of every shipped task, in lesson order."""
    return (
        HelloTask(),
        corpus_task(),
        NextWordTask(),
        SentimentTask(),
        TaggingTask(),
        MelodyTask(),
        NumbersTask(),
        sine_task(),
        sines_task(),
        AddingTask(),
        RememberTask(),
    )


# Tasks hold no mutable state (a text stream's position travels as an explicit cursor), so one
# instance of each serves every session.
TASKS: dict[str, Task] = {task.info.name: task for task in built_in_tasks()}

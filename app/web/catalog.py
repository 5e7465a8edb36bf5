"""What the pages offer: the lesson tasks and their presets, from app.tasks."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter

from app.tasks import describe_presets, describe_tasks

router = APIRouter(prefix="/api")


@cache
def _tasks() -> list[dict[str, Any]]:
    return describe_tasks()


@cache
def _presets() -> list[dict[str, Any]]:
    return describe_presets()


@router.get("/tasks")
async def tasks() -> list[dict[str, Any]]:
    """Every lesson task: architecture, inputs, head, vocabularies and its lesson text."""
    return _tasks()


@router.get("/presets")
async def presets() -> list[dict[str, Any]]:
    """Every preset: a task with a run configuration that works out of the box, and its lesson."""
    return _presets()

"""Every preset by name, and the JSON descriptions of the tasks and presets the pages list."""

from __future__ import annotations

from typing import Any

from app.tasks.catalogue import lesson_presets
from app.tasks.preset import Expectation, Preset
from app.tasks.registry import TASKS

__all__ = ["PRESETS", "Expectation", "Preset", "describe_presets", "describe_tasks"]

PRESETS: dict[str, Preset] = {preset.name: preset for preset in lesson_presets()}


def describe_tasks() -> list[dict[str, Any]]:
    """Every task as JSON-able values, for /api/tasks."""
    out = []
    for task in TASKS.values():
        info = task.info
        out.append(
            {
                "name": info.name,
                "title": info.title,
                "summary": info.summary,
                "architecture": info.architecture,
                "input_kind": info.input_kind,
                "head": info.head,
                "lesson": info.lesson,
                "defaults": dict(info.defaults),
                "fixed_seq_len": info.fixed_seq_len,
                "input_size": info.input_size or len(task.input_vocab),
                "output_size": info.output_size or len(task.output_vocab),
                "input_vocab": list(task.input_vocab),
                "output_vocab": list(task.output_vocab),
                "presets": [p.name for p in PRESETS.values() if p.task == info.name],
            }
        )
    return out


def describe_presets() -> list[dict[str, Any]]:
    """Every preset as JSON-able values, for /api/presets."""
    return [
        {
            "name": preset.name,
            "title": preset.title,
            "task": preset.task,
            "note": preset.note,
            "lesson": preset.lesson,
            "config": dict(preset.config),
            "iterations": preset.iterations,
            "expectations": [
                {"metric": e.metric, "below": e.below, "above": e.above}
                for e in preset.expectations
            ],
            "statement": preset.statement(),
        }
        for preset in PRESETS.values()
    ]

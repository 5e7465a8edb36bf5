"""What the pages offer: the lesson tasks and their presets, from app.tasks.

Both lists are fixed for the life of the process and every page fetches them, so each is encoded
and compressed once and revalidated by its ETag: a repeat visit gets a 304, not 70 kB again.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from app.tasks import describe_presets, describe_tasks
from app.web.assets import REVALIDATE, Encoded

router = APIRouter(prefix="/api")
JSON: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}}}}


@cache
def _tasks() -> Encoded:
    return Encoded.of(orjson.dumps(describe_tasks()), "application/json")


@cache
def _presets() -> Encoded:
    return Encoded.of(orjson.dumps(describe_presets()), "application/json")


@router.get("/tasks", responses=JSON)
async def tasks(request: Request) -> Response:
    """Every lesson task: architecture, inputs, head, vocabularies and its lesson text."""
    return _tasks().response(request.headers, REVALIDATE, request.method)


@router.get("/presets", responses=JSON)
async def presets(request: Request) -> Response:
    """Every preset: a task with a run configuration that works out of the box, and its lesson."""
    return _presets().response(request.headers, REVALIDATE, request.method)

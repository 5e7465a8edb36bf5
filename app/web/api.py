"""Small JSON endpoints beside the stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app import __version__
from app import protocol as p

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness for Docker's HEALTHCHECK and load balancers."""
    sessions = len(request.app.state.sessions.live)
    rooms = len(request.app.state.rooms.owned)
    return {"status": "ok", "version": __version__, "sessions": sessions, "rooms": rooms}


@router.get("/api/protocol.json")
async def protocol_schema() -> dict[str, Any]:
    """JSON Schema of every command and frame, generated from app.protocol."""
    return p.json_schema()

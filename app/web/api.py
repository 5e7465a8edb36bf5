"""Small JSON endpoints beside the stream."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

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


CDN = "https://cdn.jsdelivr.net"  # where FastAPI's Swagger UI page loads its script and styles


@router.get("/api/docs", include_in_schema=False)
async def api_docs() -> HTMLResponse:
    """FastAPI's Swagger UI for the JSON API, allowed its CDN and its one inline script."""
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="Unroll - API")
    inline = re.findall(rb"<script>(.*?)</script>", page.body, re.S)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in inline
    )
    policy = (
        f"default-src 'self'; script-src 'self' {CDN} {hashes}; "
        f"style-src 'self' 'unsafe-inline' {CDN}; img-src 'self' data: https:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
    )
    page.headers["content-security-policy"] = policy
    return page

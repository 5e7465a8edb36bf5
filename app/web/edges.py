"""What every request meets first: the Host allowlist, the cap on its body, security headers.

One ASGI middleware, so no route can forget any of it:
- a Host this server does not answer to (see hosts.py) gets 400, a websocket 403 at the handshake;
- a body over its cap gets 413: at once when Content-Length says so (the body is never read),
  else as soon as the bytes read pass it. The cap is `max_body_bytes`, or what the route declares
  with `@body_limit(...)` (uploads);
- every response carries a Content-Security-Policy (scripts from this server only, websockets
  to it, framing by this server, or by UNROLL_EMBED_ORIGINS for an `?embed=1` page), nosniff and
  a referrer policy. A route may send a policy of its own (the API docs page does).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.hosts import HostPolicy
from app.web.settings import Settings

log = logging.getLogger("unroll.edges")

BODY_CAP = "unroll_body_cap"  # the attribute @body_limit sets on a route's endpoint
SAFE_HOST = re.compile(r"[a-z0-9.\-]+(:[0-9]+)?|\[[0-9a-f:.]+\](:[0-9]+)?")
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def body_limit(cap: Callable[[Settings], int]) -> Callable[[Endpoint], Endpoint]:
    """Declare a route's own body cap, read from the settings (put it under @router.post)."""

    def declare(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, BODY_CAP, cap)
        return endpoint

    return declare


def content_security_policy(host: str, frame_ancestors: str) -> str:
    """Scripts, styles, images and sockets from this server only; framing as given."""
    host = host.strip().lower()
    sockets = f" ws://{host} wss://{host}" if SAFE_HOST.fullmatch(host) else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # plotly and the views position things inline
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _too_large(cap: int) -> dict[str, str]:
    return {"code": "too_large", "message": f"the request body is over {cap} bytes"}


class Edges:
    """The Host allowlist, body caps and security headers, around the whole app."""

    def __init__(self, app: ASGIApp, settings: Settings, hosts: HostPolicy) -> None:
        self.app = app
        self.settings = settings
        self.hosts = hosts
        embedders = [o.strip().rstrip("/") for o in settings.embed_origins.split(",")]
        embedders = [o for o in embedders if o]
        self.embed_ancestors = "*" if "*" in embedders else " ".join(["'self'", *embedders])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host") or ""
        if not self.hosts.allows(host):
            await self._refuse_host(scope, send, host)
        elif scope["type"] == "websocket":
            await self.app(scope, receive, send)
        else:
            await self._http(scope, receive, self._secured(scope, send, host))

    async def _refuse_host(self, scope: Scope, send: Send, host: str) -> None:
        log.warning("refused a request for host %r: see UNROLL_ALLOWED_HOSTS", host[:100])
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        message = "this server does not answer to that host name (see UNROLL_ALLOWED_HOSTS)"
        detail = {"code": "forbidden", "field": "host", "message": message}
        response = JSONResponse({"detail": detail}, status_code=400)
        await response({"type": "http"}, _no_body, self._secured(scope, send, ""))

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = _header(scope, b"content-length")
        if length is None and _header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body
            return
        cap = self._body_cap(scope)
        if length is not None and length.isdigit() and int(length) > cap:
            response = JSONResponse({"detail": _too_large(cap)}, status_code=413)
            await response(scope, _no_body, send)  # refused unread
            return
        read = 0

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            read += len(message.get("body", b""))
            if read > cap:
                raise HTTPException(413, _too_large(cap))
            return message

        await self.app(scope, counted, send)

    def _body_cap(self, scope: Scope) -> int:
        """The cap the matching route declares, else max_body_bytes."""
        router = getattr(scope.get("app"), "router", None)
        for route in _endpoints(getattr(router, "routes", [])):
            match, _ = route.matches(scope)
            if match is Match.FULL:
                declared = getattr(getattr(route, "endpoint", None), BODY_CAP, None)
                return int(declared(self.settings)) if declared else self.settings.max_body_bytes
        return self.settings.max_body_bytes

    def _secured(self, scope: Scope, send: Send, host: str) -> Send:
        embed = "embed=1" in scope.get("query_string", b"").decode("latin-1").split("&")
        policy = content_security_policy(host, self.embed_ancestors if embed else "'self'")
        headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [(key, value) for key, value in headers if key not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return secured


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _endpoints(routes: Any) -> Iterator[Any]:
    """Every route with an endpoint, including those of routers the app includes (FastAPI keeps
    an included router as one route of its own, holding the router's routes)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _endpoints(included.routes)
        else:
            yield route

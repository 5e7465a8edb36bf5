"""The playground's websocket, /ws: one private session per connection, in a worker process.

Also what every socket endpoint shares: the origin check, refusing a client when the server is
full, and serving a connection until it closes.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from app import protocol as p
from app.session import CommandRefused
from app.web.client import CLOSE_POLICY, CLOSE_TRY_AGAIN
from app.web.connection import LiveConnection
from app.web.hosts import HostPolicy
from app.web.sessions import SessionRegistry
from app.web.settings import Settings
from app.web.workers.messages import WorkerLost

router = APIRouter()


def origin_allowed(websocket: WebSocket) -> bool:
    """A browser's socket must come from an allowed origin: CORS does not guard websockets.

    Scripts and tests send no Origin; hijacking a socket across sites needs a browser.
    """
    origin = websocket.headers.get("origin")
    hosts: HostPolicy = websocket.app.state.hosts
    return origin is None or hosts.origin_allowed(origin, websocket.headers.get("host", ""))


async def accept(websocket: WebSocket) -> Settings | None:
    """Accept a socket from an allowed origin (returning the settings); refuse any other."""
    settings: Settings = websocket.app.state.settings
    if not origin_allowed(websocket):
        await websocket.close(code=CLOSE_POLICY)  # before accept: the handshake gets HTTP 403
        return None
    await websocket.accept()
    return settings


async def refuse_busy(websocket: WebSocket, message: str) -> None:
    """Tell a client the server is full, and close."""
    await websocket.send_text(p.encode(p.Error(code="server_busy", message=message)).decode())
    await websocket.close(code=CLOSE_TRY_AGAIN, reason="server full")


async def serve(connection: LiveConnection) -> None:
    """Serve a connection until it closes; then the session it drove (if any) is freed."""
    registry: SessionRegistry = connection.websocket.app.state.sessions
    try:
        await connection.run()
    except WebSocketDisconnect:
        pass
    finally:
        registry.remove(connection.client)


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    """One session per connection."""
    settings = await accept(websocket)
    if settings is None:
        return
    registry: SessionRegistry = websocket.app.state.sessions
    full = f"the server is full ({settings.max_sessions} sessions); try again soon"
    if registry.full:
        await refuse_busy(websocket, full)
        return
    try:
        hosted = await registry.workers.open()
    except (CommandRefused, WorkerLost) as exc:  # no memory or no worker left for one more
        await refuse_busy(websocket, f"the server cannot open a session now ({exc}); try later")
        return
    try:
        connection = LiveConnection(websocket, settings, hosted)
        if not registry.try_add(connection.client):
            await refuse_busy(websocket, full)
            return
        assert connection.driver is not None
        with registry.uploadable(connection.driver):  # the page's files reach its session
            await serve(connection)
    finally:  # however it ended (the connection closes it too; twice is harmless)
        await hosted.close()

"""Classroom routes: create a room, its pages (teacher, student, lobby), its QR code, its socket."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import __version__
from app import protocol as p
from app.web.broker import BROKER_ERRORS
from app.web.client import CLOSE_NORMAL, CLOSE_TRY_AGAIN
from app.web.connection import LiveConnection
from app.web.hosts import HostPolicy
from app.web.live import accept, refuse_busy, serve
from app.web.pages import templates
from app.web.qr import qr_svg
from app.web.rooms.notices import closed_data, join_info
from app.web.rooms.registry import CODE_PATTERN, Rooms, RoomsFull
from app.web.settings import Settings
from app.web.throttle import AddressLimiter, RoomLimits

router = APIRouter()

RoomCode = Annotated[str, Path(pattern=CODE_PATTERN, description="a room's join code")]


UNAVAILABLE = "rooms are unavailable right now (the server cannot reach its broker)"


def _rooms(request: Request | WebSocket) -> Rooms:
    rooms: Rooms = request.app.state.rooms
    return rooms


def _limits(connection: Request | WebSocket) -> RoomLimits:
    limits: RoomLimits = connection.app.state.room_limits
    return limits


def _address(connection: Request | WebSocket) -> str:
    return connection.client.host if connection.client else ""


def _wait(limiter: AddressLimiter, connection: Request | WebSocket) -> int:
    """Whole seconds until this client's address may go on (0: now)."""
    return math.ceil(limiter.wait(_address(connection)))


def _too_many(wait: int, what: str) -> HTTPException:
    message = f"too many {what} from your address; try again in {wait} s"
    detail = {"code": "rate_limited", "message": message}
    return HTTPException(429, detail, headers={"Retry-After": str(wait)})


async def _exists(request: Request, code: str) -> bool:
    """Whether a room is live; 503 when the broker (Redis) cannot be reached.

    A code that does not exist counts against the asker's address (guessing is slowed down).
    """
    misses = _limits(request).misses
    wait = _wait(misses, request)
    if wait:
        raise _too_many(wait, "unknown room codes")
    try:
        live = await _rooms(request).exists(code)
    except BROKER_ERRORS as exc:
        raise HTTPException(503, {"code": "server_busy", "message": UNAVAILABLE}) from exc
    if not live:
        misses.take(_address(request))
    return live


async def _live_code(request: Request, code: str) -> str:
    """The code, normalised; 404 (naming the field) when no such room is live."""
    code = code.upper()
    if not await _exists(request, code):
        message = f"no room {code}"
        raise HTTPException(404, {"code": "not_found", "field": "code", "message": message})
    return code


@router.post("/api/rooms", status_code=201)
async def create_room(request: Request) -> dict[str, Any]:
    """Start a room. The token in the answer is the only way to control it: keep it secret."""
    settings: Settings = request.app.state.settings
    hosts: HostPolicy = request.app.state.hosts
    headers = request.headers
    if not hosts.from_own_page(
        headers.get("origin"), headers.get("sec-fetch-site"), headers.get("host", "")
    ):
        message = "rooms are created from this server's own pages"
        raise HTTPException(403, {"code": "forbidden", "message": message})
    creations = _limits(request).creations
    wait = _wait(creations, request)
    if wait:
        raise _too_many(wait, "new rooms")
    try:
        room = await _rooms(request).create()
    except RoomsFull as exc:
        raise HTTPException(503, {"code": "server_busy", "message": str(exc)}) from exc
    except BROKER_ERRORS as exc:
        raise HTTPException(503, {"code": "server_busy", "message": UNAVAILABLE}) from exc
    creations.take(_address(request))
    return {
        "code": room.code,
        "token": room.token,
        **join_info(request.url, settings, room.code).fields(),
        # The token rides in the fragment: browsers never send it to a server or a log.
        "teacher_url": f"/room/{room.code}/teach#token={room.token}",
        "qr_url": f"/room/{room.code}/qr.svg",
    }


@router.get("/room", response_class=HTMLResponse, include_in_schema=False)
async def lobby(
    request: Request, code: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None
) -> Response:
    """Start a room, or type a join code."""
    if code:
        return RedirectResponse(f"/room/{code.upper()}", status_code=303)
    return templates.TemplateResponse(request, "room_lobby.html", {"version": __version__})


@router.get("/room/{code}", response_class=HTMLResponse, include_in_schema=False)
async def student_page(request: Request, code: RoomCode) -> Response:
    """A student's view of a room: the teacher's run, live and read-only, and a fork button."""
    code = code.upper()
    live = await _exists(request, code)
    context = {"version": __version__, "code": code, "live": live}
    return templates.TemplateResponse(
        request, "room_student.html", context, status_code=200 if live else 404
    )


@router.get("/room/{code}/teach", response_class=HTMLResponse, include_in_schema=False)
async def teacher_page(request: Request, code: RoomCode) -> Response:
    """The teacher's page: join code, link and QR for the projector, controls, student count."""
    code = await _live_code(request, code)
    settings: Settings = request.app.state.settings
    context = {
        "version": __version__,
        "code": code,
        **join_info(request.url, settings, code).fields(),
    }
    return templates.TemplateResponse(request, "room_teacher.html", context)


@router.get("/room/{code}/qr.svg", include_in_schema=False)
async def room_qr(request: Request, code: RoomCode) -> Response:
    """The room's join link as a QR code."""
    code = await _live_code(request, code)
    join = join_info(request.url, request.app.state.settings, code)
    return Response(qr_svg(join.url), media_type="image/svg+xml")


@router.websocket("/ws/room/{code}")
async def room_socket(websocket: WebSocket, code: str) -> None:
    """A seat in a room: everyone watches; the token (sent in `join`) makes a teacher."""
    settings = await accept(websocket)
    if settings is None:
        return
    code = code.upper() if re.fullmatch(CODE_PATTERN, code) else "?"
    misses = _limits(websocket).misses
    wait = _wait(misses, websocket)
    if wait:
        message = f"too many unknown room codes from your address; try again in {wait} s"
        await websocket.send_text(p.encode(p.Error(code="rate_limited", message=message)).decode())
        await websocket.close(code=CLOSE_TRY_AGAIN, reason="too many unknown room codes")
        return
    connection = LiveConnection(websocket, settings)
    try:
        seat = await _rooms(websocket).seat(code, connection.client) if code != "?" else None
    except RoomsFull as exc:
        await refuse_busy(websocket, str(exc))
        return
    except BROKER_ERRORS:
        await refuse_busy(websocket, UNAVAILABLE)
        return
    if seat is None:
        misses.take(_address(websocket))
        await websocket.send_text(closed_data(code, "not_found"))
        await websocket.close(code=CLOSE_NORMAL, reason="no such room")
        return
    connection.seat = seat
    await serve(connection)  # a student who forked holds a session, freed here

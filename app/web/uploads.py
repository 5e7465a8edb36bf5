"""Uploads over HTTP: a text or CSV file, a torch model's JSON sidecar and its .safetensors weights.

POST /api/uploads/{kind}?session=ID&name=FILE with the raw file as the body (no multipart):
the file is read off the event loop and put on the shelf of the live session it names (the
session id of the page's hello); the answer is a receipt (201) with the upload's id and what
the file holds. The session then switches to it with the `use_upload` command. A weights file
names its sidecar's upload (`sidecar=ID`). Bad input is HTTP 422 with the InputError's field,
message, line and column, a body past its cap 413, an unknown session 404, uploads past their
shared memory budget 503; the session is untouched by all of them.

Uploads live on their session's shelf: a few per session (the oldest dropped), gone with it.
Every shelf of this process counts against one budget (max_upload_memory_bytes).
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from app import protocol as p
from app.inputs import InputError
from app.run.shelf import UploadLimits, read_upload, receipt
from app.session import CommandRefused, Session
from app.web.edges import body_limit
from app.web.settings import Settings

router = APIRouter()
MEMORY_FACTOR = 3  # reading a file holds it, its decoded text and its parsed form at once


class Shelves:
    """The live sessions of this process that take uploads, by id; they leave as they close."""

    def __init__(self) -> None:
        self._sessions: weakref.WeakValueDictionary[str, Session] = weakref.WeakValueDictionary()

    def track(self, session: Session) -> Session:
        """Let uploads reach `session` while it lives."""
        self._sessions[session.id] = session
        return session

    def find(self, session_id: str) -> Session | None:
        """The live session with this id, if any."""
        return self._sessions.get(session_id)

    def nbytes(self) -> int:
        """Memory every shelf's uploads hold."""
        return sum(session.shelf.nbytes for session in list(self._sessions.values()))


def install(app: FastAPI) -> None:
    """Serve uploads on `app`: its route, and the shelves new playground sessions join."""
    app.state.uploads = Shelves()
    app.include_router(router)


def limits_of(settings: Settings) -> UploadLimits:
    """What one upload may hold."""
    return UploadLimits(
        max_bytes=settings.max_upload_bytes,
        max_rows=settings.max_upload_rows,
        max_weights_bytes=settings.max_weights_bytes,
        max_vocab=settings.max_vocab,
        max_hidden_size=settings.max_hidden_size,
    )


def refusal(status: int, field: str, message: str, **place: int | None) -> JSONResponse:
    """An upload's refusal: the field, the reason, and where in the file when it is known."""
    body = p.UploadRefusal(field=field, message=message, **place)
    return JSONResponse(body.model_dump(), status_code=status)


async def read_body(request: Request, cap: int) -> bytes | None:
    """The request body, or None as soon as it is known to pass `cap` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/api/uploads/{kind}",
    status_code=201,
    response_model=p.UploadReceipt,
    responses={code: {"model": p.UploadRefusal} for code in (404, 413, 422, 503)},
)
@body_limit(lambda settings: max(settings.max_upload_bytes, settings.max_weights_bytes))
async def upload(
    kind: p.UploadKind,
    request: Request,
    session: Annotated[str, Query(min_length=1, max_length=64, description="the page's session")],
    name: Annotated[str, Query(max_length=1000, description="the file's name")] = "upload",
    level: Annotated[p.TextLevel, Query(description="text: characters or words")] = "char",
    sidecar: Annotated[str | None, Query(max_length=64, description="weights: its sidecar")] = None,
) -> p.UploadReceipt | JSONResponse:
    """Read one uploaded file onto its session's shelf; the receipt names it for use_upload."""
    settings: Settings = request.app.state.settings
    shelves: Shelves = request.app.state.uploads
    owner = shelves.find(session)
    if owner is None:
        return refusal(404, "session", "no such session here: reload the page, then upload")
    cap = settings.max_weights_bytes if kind == "weights" else settings.max_upload_bytes
    data = await read_body(request, cap)
    if data is None:
        return refusal(413, kind, f"is larger than {cap} bytes, the limit for this kind of file")
    if shelves.nbytes() + MEMORY_FACTOR * len(data) > settings.max_upload_memory_bytes:
        message = "the server holds as many uploads as it can just now; try again in a while"
        return refusal(503, kind, message)
    shelf = owner.shelf
    try:
        side = None if sidecar is None else shelf.sidecar_file(sidecar)
        limits = limits_of(settings)
        read = partial(read_upload, kind, data, name, limits, level=level, sidecar=side)
        parsed = await anyio.to_thread.run_sync(read)
    except CommandRefused as refused:
        return refusal(422, refused.field or kind, refused.message)
    except InputError as bad:
        return refusal(422, bad.field, bad.message, line=bad.line, column=bad.column)
    if sidecar is not None:
        shelf.drop(sidecar)  # read into the model now
    return receipt(shelf.put(parsed, settings.max_uploads_per_session), parsed, len(data))

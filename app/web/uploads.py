"""Uploads over HTTP: a text or CSV file, a torch model's JSON sidecar and its .safetensors weights.

POST /api/uploads/{kind}?session=ID&name=FILE with the raw file as the body (no multipart):
the body (capped) goes to the worker process holding the live session it names (the session id
of the page's hello), which reads the file there, off the event loop, onto the session's shelf;
the answer is a receipt (201) with the upload's id and what the file holds. The session then
switches to it with the `use_upload` command. A weights file names its sidecar's upload
(`sidecar=ID`). Bad input is HTTP 422 with the InputError's field, message, line and column, a
body past its cap 413, an unknown session 404, uploads past their shared memory budget 503; the
session is untouched by all of them.

Uploads live on their session's shelf: a few per session (the oldest dropped), gone with it.
Every shelf of this server counts against one budget (max_upload_memory_bytes), kept in the
workers' ledger (app/web/workers/pool.py) with the files being read meanwhile.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from app import protocol as p
from app.run.shelf import UploadFile, UploadLimits
from app.session import CommandRefused
from app.web.edges import body_limit
from app.web.sessions import SessionRegistry
from app.web.settings import Settings
from app.web.workers.messages import Reply, WorkerLost

router = APIRouter()
MEMORY_FACTOR = 3  # reading a file holds it, its decoded text and its parsed form at once
GONE = "no such session here: reload the page, then upload"


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


def answer(reply: Reply, kind: p.UploadKind) -> Response:
    """The worker's reply as HTTP: the receipt, or the refusal with its place in the file."""
    if reply.refusal is not None:
        refused = reply.refusal
        status = 503 if refused.code == "over_budget" else 422  # no memory left to move it
        place = {"line": refused.line, "column": refused.column}
        return refusal(status, refused.field or kind, refused.message, **place)
    if reply.failed or reply.misplaced:
        raise RuntimeError(f"the worker failed to read a {kind} upload")
    return Response(reply.frames[0].data, status_code=201, media_type="application/json")


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
) -> Response:
    """Read one uploaded file onto its session's shelf; the receipt names it for use_upload."""
    settings: Settings = request.app.state.settings
    sessions: SessionRegistry = request.app.state.sessions
    driver = sessions.find(session)
    if driver is None:
        return refusal(404, "session", GONE)
    cap = settings.max_weights_bytes if kind == "weights" else settings.max_upload_bytes
    data = await read_body(request, cap)
    if data is None:
        return refusal(413, kind, f"is larger than {cap} bytes, the limit for this kind of file")
    workers, reading = sessions.workers, MEMORY_FACTOR * len(data)
    if not workers.start_reading(reading):
        message = "the server holds as many uploads as it can just now; try again in a while"
        return refusal(503, kind, message)
    limits, capacity = limits_of(settings), settings.max_uploads_per_session
    file = UploadFile(kind, data, name, limits, capacity, level=level, sidecar=sidecar)
    try:
        reply = await driver.upload(file)
    except (WorkerLost, CommandRefused):  # the session closed, or its worker stopped, meanwhile
        return refusal(404, "session", GONE)
    finally:
        workers.done_reading(reading)
    return answer(reply, kind)

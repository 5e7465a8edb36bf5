"""A worker process: the sessions it holds, and the requests it runs, interactive ones first.

Each request is one op on one session (see messages.py); its frames are encoded here, so the
server only forwards strings. Between two requests the worker reads everything that arrived
and runs the interactive ones (a step, a knob) before the next batch work (a training chunk,
a new run), so a light command waits for at most one piece of work already running.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
import weakref
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel

from app import protocol as p
from app.inputs import InputError
from app.run import budget
from app.run.shelf import UploadFile
from app.run.state import RunState, weigh
from app.session import CommandRefused, Session
from app.web.driver import ROUTES
from app.web.workers import machine
from app.web.workers.messages import (
    Channel,
    Claim,
    Encoded,
    Granted,
    Refusal,
    Reply,
    Request,
    SealedImport,
)

log = logging.getLogger("unroll.worker")


def refused(error: p.Error) -> CommandRefused:
    """A message refused as it was read, as the refusal a session would raise."""
    return CommandRefused(error.code, error.message, error.field)


def encoded(frames: Any) -> list[Encoded]:
    """A Session method's result (a frame, a list of frames, or None) as encoded frames."""
    if frames is None:
        return []
    if isinstance(frames, BaseModel):
        frames = [frames]
    return [Encoded(str(getattr(frame, "type", "")), p.encode(frame)) for frame in frames]


class Host:
    """The sessions of one worker, each under its key, and what each op does to them."""

    def __init__(self, limits: p.Limits, max_import_bytes: int) -> None:
        self.limits = limits
        self.max_import_bytes = max_import_bytes
        self.sessions: dict[int, Session] = {}
        self._weights: dict[int, tuple[weakref.ref[RunState], budget.Estimate]] = {}

    def handle(self, request: Request, claim: budget.Claim | None = None) -> Reply:
        """Carry out one request; a refusal or a failure leaves the session as it was."""
        reply = Reply(request.id)
        started = time.process_time()
        grant = request.grant
        allowance = budget.Allowance(
            session_bytes=None if grant is None else grant.session_bytes,
            seconds=None if grant is None else grant.seconds,
            claim=claim,
        )
        try:
            with budget.allowance(allowance):
                OPS[request.op](self, request, reply)
        except budget.Misplaced:
            reply.misplaced = True
        except CommandRefused as refusal:
            reply.refusal = Refusal(refusal.code, refusal.message, refusal.field)
        except Exception:  # the session survives a bug in one command
            log.exception("%s on a session failed", request.op)
            reply.failed = True
        reply.cpu = time.process_time() - started
        self._weigh(request.key, reply)
        return reply

    def _weigh(self, key: int, reply: Reply) -> None:
        """The session's estimate (computed once per run), for the server's ledger."""
        session = self.sessions.get(key)
        if session is None:
            self._weights.pop(key, None)
            return
        run = session.run
        known = self._weights.get(key)
        if known is None or known[0]() is not run:
            known = (weakref.ref(run), weigh(run.task, run.config, run.text, run.upload))
            self._weights[key] = known
        reply.uploads = session.shelf.nbytes
        reply.bytes, reply.seconds = known[1].bytes + reply.uploads, known[1].seconds

    def open(self, request: Request, reply: Reply) -> None:
        """A new session: the default run, or an exported state (a fork, or a move with the
        session's id and uploads), checked exactly as an import is."""
        state, session_id, shelf = request.payload
        session = Session(p.RunConfig(), self.limits)
        if state is not None:
            parsed = p.parse_state(state)
            if isinstance(parsed, p.Error):
                raise refused(parsed)
            session.import_state(parsed)
        if session_id is not None:
            session.id = session_id
        if shelf is not None:
            session.shelf = shelf
        self.sessions[request.key] = session
        reply.session_id = session.id

    def command(self, request: Request, reply: Reply) -> None:
        """A client's command: its row of the driver's table (ROUTES) does the work."""
        command = request.payload
        if isinstance(command, SealedImport):
            command = self._unseal(command, reply)
        route = ROUTES[command.type]
        assert route.work is not None, f"{command.type} has no session work"
        reply.frames = encoded(route.work(self.sessions[request.key], command))

    def _unseal(self, sealed: SealedImport, reply: Reply) -> p.Command:
        limits = self.limits
        parsed = p.parse_command(sealed.raw, limits.max_message_bytes, self.max_import_bytes)
        if isinstance(parsed, p.Error):
            reply.command_id = parsed.command_id
            raise refused(parsed)
        reply.command_id = parsed.id
        return parsed

    def call(self, request: Request, reply: Reply) -> None:
        """Session methods in a row (a job's step, hello and spectrum): their frames in order."""
        session = self.sessions[request.key]
        for name, *args in request.payload:
            reply.frames += encoded(getattr(session, name)(*args))

    def upload(self, request: Request, reply: Reply) -> None:
        """A file read onto the session's shelf: its receipt, or where the file goes wrong."""
        file: UploadFile = request.payload
        try:
            receipt = self.sessions[request.key].shelf.read(file)
        except InputError as bad:
            reply.refusal = Refusal("out_of_range", bad.message, bad.field, bad.line, bad.column)
            return
        reply.frames = encoded(receipt)

    def export(self, request: Request, reply: Reply) -> None:
        """The whole session as JSON, to open it elsewhere (a student's fork; a move, which
        takes its uploads along)."""
        session = self.sessions[request.key]
        reply.state = p.encode(session.export().state)
        reply.session_id = session.id
        if request.payload:  # a move
            reply.shelf = session.shelf

    def close(self, request: Request, reply: Reply) -> None:
        """Forget a session; its memory goes back to the system."""
        self.sessions.pop(request.key, None)
        machine.release_memory()


OPS: dict[str, Callable[[Host, Request, Reply], None]] = {
    "open": Host.open,
    "command": Host.command,
    "call": Host.call,
    "upload": Host.upload,
    "export": Host.export,
    "close": Host.close,
}


class Worker:
    """A worker's loop: read requests as they come, run them interactive first."""

    def __init__(self, channel: Channel, host: Host) -> None:
        self.channel = channel
        self.host = host
        self.waiting: dict[str, deque[Request]] = {"interactive": deque(), "batch": deque()}

    def serve(self) -> None:
        """Until the server closes the socket."""
        try:
            while True:
                self._read(block=not any(self.waiting.values()))
                lane = "interactive" if self.waiting["interactive"] else "batch"
                request = self.waiting[lane].popleft()
                self.channel.send(self.host.handle(request, partial(self._claim, request.id)))
        except (EOFError, ConnectionError):
            return

    def _read(self, *, block: bool) -> None:
        message = self.channel.receive(block=block)
        while message is not None:
            self._queue(message)
            message = self.channel.receive(block=False)

    def _queue(self, message: object) -> None:
        assert isinstance(message, Request), f"unexpected {type(message).__name__}"
        self.waiting[message.lane].append(message)

    def _claim(self, request: int, size: int) -> int | None:
        """Ask the server for a run's memory; requests arriving meanwhile wait their turn."""
        self.channel.send(Claim(request, size))
        while True:
            message = self.channel.receive(block=True)
            if isinstance(message, Granted):
                return message.free
            self._queue(message)


def run(sock: socket.socket, limits: p.Limits, max_import_bytes: int, nice: int) -> None:
    """A worker process's main: serve the sessions the server sends, until it hangs up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server; it hangs up on us
    if nice:
        os.nice(nice)
    machine.tune_allocator()
    Worker(Channel(sock), Host(limits, max_import_bytes)).serve()

"""A worker process's side, run in this process: its queue and what its sessions leave behind."""

from __future__ import annotations

import gc
import socket
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from app import protocol as p
from app.web.sessions import limits_from
from app.web.settings import Settings
from app.web.workers.host import Host, Worker
from app.web.workers.hosted import LIGHT_SECONDS
from app.web.workers.messages import (
    Channel,
    Claim,
    Grant,
    Granted,
    Lane,
    Reply,
    Request,
    SealedImport,
)

SETTINGS = Settings()
LIMITS = limits_from(SETTINGS)
BIG = Grant(session_bytes=None, seconds=None)


class Server:
    """The server's end of a worker's socket, with the worker serving in a thread."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self.channel = Channel(ours)
        self.host = Host(LIMITS, SETTINGS.max_import_bytes)
        self.thread = threading.Thread(target=Worker(Channel(theirs), self.host).serve)
        self.thread.start()
        self._ids = iter(range(1, 10**6))

    def send(self, op: str, key: int, payload: Any = None, lane: Lane = "batch") -> int:
        request = Request(next(self._ids), op, key, payload, lane, BIG)  # type: ignore[arg-type]
        self.channel.send(request)
        return request.id

    def reply(self, *, grant: bool = True) -> Reply | Claim:
        """The worker's next message; its claims for memory granted unless told otherwise."""
        while True:
            message = self.channel.receive(block=True)
            if isinstance(message, Claim) and grant:
                self.channel.send(Granted(None))
                continue
            assert isinstance(message, Reply | Claim)
            return message

    def call(self, op: str, key: int, payload: Any = None) -> Reply:
        self.send(op, key, payload)
        reply = self.reply()
        assert isinstance(reply, Reply)
        return reply

    def close(self) -> None:
        self.channel.sock.close()
        self.thread.join(10)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


def test_interactive_requests_go_before_the_batch_work_waiting(server: Server) -> None:
    server.call("open", 1, (None, None, None))
    server.call("open", 2, (None, None, None))
    # The worker opens a run and asks for its memory; while it waits, work piles up.
    configure = p.Configure(type="configure", config=p.RunConfig(hidden_size=5))
    first = server.send("command", 1, configure)
    claim = server.reply(grant=False)
    assert isinstance(claim, Claim) and claim.request == first
    batch = [server.send("call", 1, [("train", 1)]) for _ in range(3)]
    step = server.send("command", 2, p.StepForward(type="step_forward"), lane="interactive")
    server.channel.send(Granted(None))
    order = []
    for _ in range(5):
        reply = server.reply()
        assert isinstance(reply, Reply) and reply.refusal is None and not reply.failed
        order.append(reply.id)
    assert order == [first, step, *batch]  # the step jumped the queued training


def test_a_reply_carries_encoded_frames_its_cost_and_the_sessions_weight(server: Server) -> None:
    opened = server.call("open", 7, (None, None, None))
    assert opened.bytes > 0 and 0 < opened.seconds < LIGHT_SECONDS and opened.frames == []
    reply = server.call("call", 7, [("hello",), ("spectrum",)])
    assert [frame.type for frame in reply.frames] == ["hello", "spectrum"]
    assert orjson.loads(reply.frames[0].data)["type"] == "hello"
    assert reply.cpu > 0 and reply.bytes == opened.bytes
    closed = server.call("close", 7)
    assert closed.bytes == 0 and server.host.sessions == {}


def test_an_import_too_large_for_the_loop_is_read_and_checked_by_the_worker(
    server: Server,
) -> None:
    server.call("open", 3, (None, None, None))
    state = orjson.loads(server.call("export", 3).state or b"")
    good = orjson.dumps({"type": "import", "id": 41, "state": state})
    reply = server.call("command", 3, SealedImport(good))
    assert reply.command_id == 41 and reply.refusal is None
    assert [frame.type for frame in reply.frames] == ["hello", "spectrum"]
    broken = server.call("command", 3, SealedImport(b'{"type": "import", "id": 42, "state": {'))
    assert broken.refusal is not None and broken.refusal.code == "invalid_json"
    wrong = {"type": "import", "id": 43, "state": {**state, "iteration": -1}}
    refused = server.call("command", 3, SealedImport(orjson.dumps(wrong)))
    assert refused.command_id == 43 and refused.refusal is not None
    assert refused.refusal.field == "state.iteration"
    padded = orjson.dumps({"type": "sample", "id": 44, "pad": "x" * SETTINGS.max_message_bytes})
    too_large = server.call("command", 3, SealedImport(padded))
    assert too_large.refusal is not None and too_large.refusal.code == "too_large"


def test_a_refused_or_failed_request_leaves_the_session_as_it_was(server: Server) -> None:
    server.call("open", 5, (None, None, None))
    before = server.call("export", 5).state
    refused = server.call("command", 5, p.StepBackward(type="step_backward"))
    assert refused.refusal is not None and refused.refusal.code == "bad_phase"
    failed = server.call("call", 5, [("no_such_method",)])
    assert failed.failed and failed.frames == []
    assert server.call("export", 5).state == before


def test_a_closed_session_is_freed_in_its_worker_without_the_cycle_collector() -> None:
    host = Host(LIMITS, SETTINGS.max_import_bytes)
    gc.collect()
    gc.disable()
    try:
        for key, config in enumerate([p.RunConfig(), p.RunConfig(task="numbers", cell="lstm")]):
            host.handle(Request(1, "open", key, (None, None, None)))
            session = weakref.ref(host.sessions[key])
            run = weakref.ref(host.sessions[key].run)
            host.handle(Request(2, "command", key, p.Configure(type="configure", config=config)))
            host.handle(Request(3, "call", key, [("train", 3), ("finish_iteration",)]))
            host.handle(Request(4, "call", key, [("advance",)] * 3))
            host.handle(Request(5, "export", key))
            host.handle(Request(6, "close", key))
            assert session() is None and run() is None
    finally:
        gc.enable()

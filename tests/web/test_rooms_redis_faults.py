"""Redis faults: rooms survive a Redis restart, and a server stops promptly when Redis is gone.

Real server processes and a real redis-server, which the tests crash, restart and freeze. The
bounds here are generous, so a busy machine cannot make them flake; the README reports what
they measure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from bench._redis import RedisServer, redis_server
from bench._server import ServerProcess, running_server
from tests.web.test_rooms_redis import command, post_room, recv, room_socket, seat

ENV = {"UNROLL_MAX_COMMANDS_PER_SECOND": "1000"}


@pytest.fixture
def store() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@contextmanager
def servers(store: RedisServer, count: int) -> Iterator[list[ServerProcess]]:
    """`count` server processes on this Redis, started side by side."""
    env = {**ENV, "UNROLL_REDIS_URL": store.url}
    with ExitStack() as stack, ThreadPoolExecutor(count) as pool:
        yield list(pool.map(lambda _: stack.enter_context(running_server(**env)), range(count)))


def _until(ws: ClientConnection, wanted: Any, seen: list[Any]) -> Any:
    """Read frames (into `seen`) until one satisfies `wanted`; return it."""
    while True:
        seen.append(recv(ws))
        if wanted(seen[-1]):
            return seen[-1]


def _closed(ws: ClientConnection) -> tuple[Any, int | None, str | None]:
    """The last frame before the server closed the socket, and the close code and reason."""
    last = None
    try:
        while True:
            last = recv(ws)
    except ConnectionClosed as closed:
        received = closed.rcvd
    return last, received and received.code, received and received.reason


def test_a_room_survives_a_redis_restart_and_a_stop_tells_its_viewers(
    store: RedisServer,
) -> None:
    with servers(store, 2) as (a, b):
        room = post_room(a)
        code, key = room["code"], f"unroll:roomdir:{room['code']}"
        with (
            room_socket(a, code) as teacher,
            room_socket(b, code) as student,
            room_socket(a, code) as neighbour,
        ):
            seat(teacher)
            command(teacher, {"type": "join", "token": room["token"], "id": 1})
            seat(student)
            seat(neighbour)
            command(teacher, {"type": "step_forward", "id": 2})
            store.restart()  # empty: the room's directory entry is gone
            back = time.monotonic()
            keys = redis.Redis(port=store.port)
            while not keys.exists(key):  # written again by its owner, process A
                assert time.monotonic() - back < 15, "the room's entry never came back"
                time.sleep(0.05)
            keys.close()
            # The teacher goes on; students on both processes follow, never told it ended.
            taught = command(teacher, {"type": "step_forward", "id": 3})
            assert [f["type"] for f in taught] == ["forward", "ack"]
            for viewer in (student, neighbour):
                seen: list[Any] = []
                frame = _until(viewer, lambda f: f.get("t") == 1 or "reason" in f, seen)
                assert frame == taught[0], seen
            # A student arriving now, through process B, finds the room.
            with room_socket(b, code) as late:
                seat(late)
                assert [recv(late)["t"] for _ in range(2)] == [0, 1]
            # B stops; the room lives on A: B's student is sent to reconnect (elsewhere).
            b.process.terminate()
            assert _closed(student)[1:] == (1012, "the server is restarting")
            # A, the room's own server, stops: its viewers are told why.
            a.process.terminate()
            for viewer in (teacher, neighbour):
                last, close_code, _ = _closed(viewer)
                assert (last["type"], last["reason"], close_code) == (
                    "room_closed",
                    "stopped",
                    1000,
                )
                assert (
                    last["message"]
                    == f"The server running room {code} stopped, so the room has ended."
                )


@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_with_redis_gone_a_stop_is_prompt_and_viewers_are_told(
    store: RedisServer, fault: str
) -> None:
    with servers(store, 1) as (server,):
        room = post_room(server)
        with (
            room_socket(server, room["code"]) as teacher,
            room_socket(server, room["code"]) as student,
        ):
            seat(teacher)
            command(teacher, {"type": "join", "token": room["token"], "id": 1})
            seat(student)
            store.kill() if fault == "killed" else store.freeze()
            asked = time.monotonic()
            server.process.terminate()
            server.process.wait(timeout=30)
            took = time.monotonic() - asked
            assert took < 8, f"stopping took {took:.1f} s"  # docker stop waits 10 s
            for viewer in (teacher, student):
                last, code, _ = _closed(viewer)
                assert (last["type"], last["reason"], code) == ("room_closed", "stopped", 1000)

"""A closed connection is freed by reference counting alone: no cycle holds it or what it drove.

Each test runs with the cycle collector off: an object that outlives its connection's close here
would stay in memory until a full collection on a busy server.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from app import protocol as p
from app.web.broker import local_broker
from app.web.connection import LiveConnection
from app.web.live import serve
from app.web.rooms.registry import Rooms
from app.web.sessions import SessionRegistry
from app.web.settings import Settings
from tests.conftest import run_async
from tests.web.hostutil import registry
from tests.web.rawws import StalledSocket

SETTINGS = Settings(max_commands_per_second=1000)
Refs = list[weakref.ref[Any]]


@pytest.fixture(autouse=True)
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def command(socket: StalledSocket, message: str) -> Awaitable[None]:
    return socket.incoming.put({"type": "websocket.receive", "text": message})


async def hang_up(socket: StalledSocket, serving: asyncio.Task[None]) -> None:
    """The client goes away; wait until its connection has closed."""
    await socket.incoming.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(serving, 10)


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


def assert_freed(refs: Refs) -> None:
    """Every object is gone (a worker thread may hold its last task's arguments a moment)."""
    deadline = time.monotonic() + 2
    while any(ref() is not None for ref in refs) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [ref() for ref in refs] == [None] * len(refs)


def connect(socket: StalledSocket, sessions: SessionRegistry, **session: Any) -> LiveConnection:
    """A connection served as the endpoints serve one, to a server holding `sessions`."""
    socket.app = SimpleNamespace(state=SimpleNamespace(sessions=sessions))  # type: ignore[attr-defined]
    socket.reading.set()
    return LiveConnection(socket, SETTINGS, **session)  # type: ignore[arg-type]


def acked(socket: StalledSocket, command_id: int) -> bool:
    return any(f["type"] == "ack" and f["command_id"] == command_id for f in socket.sent)


def refs_of(connection: LiveConnection) -> Refs:
    """Weak references to a connection and to everything it drives."""
    held: list[Any] = [connection, connection.client]
    if connection.driver is not None:
        held += [connection.driver, connection.driver.hosted]
    if connection.seat is not None:
        held.append(connection.seat)
    return [weakref.ref(thing) for thing in held]


def test_a_closed_playground_connection_and_its_session_are_freed() -> None:
    async def scenario() -> Refs:
        socket = StalledSocket([{"type": "play", "steps_per_second": 100, "id": 1}])
        async with registry(SETTINGS) as sessions:
            connection = connect(socket, sessions, hosted=await sessions.workers.open())
            sessions.try_add(connection.client)
            refs = refs_of(connection)
            serving = asyncio.create_task(serve(connection))
            del connection
            await until(lambda: len(socket.sent) > 8)  # play is running
            await command(socket, '{"type": "finish_iteration", "id": 2}')
            await command(socket, '{"type": "train", "iterations": 5000, "id": 3}')
            await until(lambda: any(f["type"] == "progress" for f in socket.sent))
            await hang_up(socket, serving)  # in the middle of training
            assert not sessions.live
            assert sessions.workers.committed == {}  # closed in its worker
            return refs

    assert_freed(run_async(scenario()))


def test_a_closed_student_is_freed_and_so_is_the_copy_it_forked() -> None:
    async def scenario() -> tuple[Refs, Refs]:
        async with registry(SETTINGS) as sessions:
            brief = SETTINGS.model_copy(update={"fork_grace_seconds": 0.05})
            return await student_forks(Rooms(brief, sessions, local_broker()))

    async def student_forks(rooms: Rooms) -> tuple[Refs, Refs]:
        room = await rooms.create()
        socket = StalledSocket([])
        student = connect(socket, rooms.sessions)
        student.seat = await rooms.seat(room.code, student.client)
        seated = refs_of(student)
        serving = asyncio.create_task(serve(student))
        await room.run(p.StepForward(type="step_forward"))
        await command(socket, '{"type": "fork", "id": 1}')
        await until(lambda: acked(socket, 1))
        forked = refs_of(student) + [weakref.ref(f) for f in rooms.forks.by_id.values()]
        del student
        await command(socket, '{"type": "play", "steps_per_second": 100, "id": 2}')
        await until(lambda: len(socket.sent) > 12)
        await hang_up(socket, serving)
        await until(lambda: not rooms.sessions.live)  # parked, then freed after its grace
        await room.end("ended")
        return seated, forked

    seated, forked = run_async(scenario())
    assert_freed(seated + forked)


def test_a_closed_teacher_is_freed_while_the_room_goes_on() -> None:
    async def scenario() -> Refs:
        async with registry(SETTINGS) as sessions:
            return await teacher_leaves(Rooms(SETTINGS, sessions, local_broker()))

    async def teacher_leaves(rooms: Rooms) -> Refs:
        room = await rooms.create()
        socket = StalledSocket([{"type": "join", "token": room.token, "id": 1}])
        teacher = connect(socket, rooms.sessions)
        teacher.seat = await rooms.seat(room.code, teacher.client)
        refs = refs_of(teacher)
        serving = asyncio.create_task(serve(teacher))
        del teacher
        await until(lambda: acked(socket, 1))
        await command(socket, '{"type": "play", "steps_per_second": 100, "id": 2}')
        await until(lambda: len(socket.sent) > 12)
        await hang_up(socket, serving)
        assert not room.teachers and not room.ended
        await room.end("ended")
        return refs

    assert_freed(run_async(scenario()))


def test_an_ended_room_its_relay_and_its_students_are_freed() -> None:
    async def scenario() -> Refs:
        async with registry(SETTINGS) as sessions:
            return await room_ends(Rooms(SETTINGS, sessions, local_broker()))

    async def room_ends(rooms: Rooms) -> Refs:
        room = await rooms.create()
        socket = StalledSocket([])
        student = connect(socket, rooms.sessions)
        student.seat = await rooms.seat(room.code, student.client)
        serving = asyncio.create_task(serve(student))
        refs = refs_of(student)  # a student closed on purpose, by the room's end
        del student
        refs += [weakref.ref(thing) for thing in (room, room.driver, room.driver.hosted)]
        refs.append(weakref.ref(rooms.relays[room.code]))
        await room.run(p.Play(type="play", steps_per_second=100))
        await until(lambda: len(socket.sent) > 8)
        await room.end("ended")
        del room
        await hang_up(socket, serving)
        await until(lambda: not rooms.relays)
        return refs

    assert_freed(run_async(scenario()))

"""The classroom benchmark's clients, run in worker processes: watching students and forkers.

A watching student only reads and times each frame of the room where it arrives. A forker takes
a private copy of the room (`fork`) and trains it, one `train` command after another, until the
benchmark tells it to stop; it times each progress frame, whose iteration counts what it trained.
Each process also ticks a timer, to show how late its own event loop runs: a lag that is the
clients' own (they share the machine's 2 cores with the server) rather than the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import websockets

from bench import _server as harness
from bench._lean_student import Seen, lean_student

# The frame's identity: its type, iteration and step; cheap to find, no JSON decoding.
KEY = re.compile(
    r'\{"type":"(forward|backward|update|sequence|spectrum)","iteration":\d+(,"t":\d+)?'
)
TYPE = re.compile(r'\{"type":"(\w+)"')
ITERATION = re.compile(r'"iteration":(\d+)')
COMMAND_ID = re.compile(r'"command_id":(\d+)')
CONNECT_SECONDS = 30.0  # the most a worker waits for its students to be seated
RUN_LIMIT_SECONDS = 120.0  # every client gives up after this, whatever happens
TICK_SECONDS = 0.005  # the client loop's own lateness is sampled this often


@dataclass
class Forked:
    """One forker: when its fork was answered, and (arrival, iteration) of each progress frame."""

    forked_at: float | None = None
    progress: list[tuple[float, int]] = field(default_factory=list)
    trains: int = 0  # train commands it finished
    refusals: list[str] = field(default_factory=list)


@dataclass
class Share:
    """What one client process measured."""

    seen: list[Seen]
    forked: list[Forked]
    cpu_seconds: float
    loop_lateness: list[float]  # how late each of its timer ticks fired, in seconds


def connect(url: str) -> websockets.connect:
    """A client connection as a browser's: no size limit, no compression."""
    return websockets.connect(url, max_size=None, compression=None, open_timeout=30)


async def student(url: str, seen: Seen, seated: asyncio.Semaphore) -> None:
    async with connect(url) as ws:
        seated.release()
        async for message in ws:
            arrived = time.monotonic()  # system-wide on Linux: comparable across processes
            key = KEY.match(message if isinstance(message, str) else message.decode())
            if key:
                seen.arrivals[key.group(0)] = arrived
            elif '"type":"room_closed"' in message:
                seen.closed = True
                return


async def _answer(ws: Any, command_id: int, record: Forked) -> bool:
    """Read until the command's ack (true) or refusal (false), noting progress on the way."""
    async for message in ws:
        text = str(message)
        kind = TYPE.match(text)
        name = kind.group(1) if kind else ""
        if name == "progress":
            record.progress.append((time.monotonic(), int(ITERATION.search(text).group(1))))  # type: ignore[union-attr]
        elif name in ("ack", "error"):
            found = COMMAND_ID.search(text)
            if found and int(found.group(1)) == command_id:
                if name == "error":
                    record.refusals.append(text[:200])
                return name == "ack"
    raise ConnectionError("the server closed the fork")


async def _trained(ws: Any, record: Forked) -> None:
    """Read until the training job ends: its closing sequence frame (none comes while training)."""
    async for message in ws:
        text = str(message)
        kind = TYPE.match(text)
        name = kind.group(1) if kind else ""
        if name == "progress":
            record.progress.append((time.monotonic(), int(ITERATION.search(text).group(1))))  # type: ignore[union-attr]
        elif name == "sequence":
            record.trains += 1
            return
    raise ConnectionError("the server closed the fork")


async def forker(url: str, iterations: int, record: Forked, forked: asyncio.Semaphore) -> None:
    """Fork the room, then train at the default lesson size again and again until cancelled."""
    async with connect(url) as ws:
        await ws.send(orjson.dumps({"type": "fork", "id": 1}).decode())
        if not await _answer(ws, 1, record):
            forked.release()
            return
        record.forked_at = time.monotonic()
        forked.release()
        command_id = 1
        while True:
            command_id += 1
            train = {"type": "train", "iterations": iterations, "id": command_id}
            await ws.send(orjson.dumps(train).decode())
            if await _answer(ws, command_id, record):
                await _trained(ws, record)
            else:
                await asyncio.sleep(0.5)  # refused (e.g. busy): try again, politely


async def _tick(lateness: list[float]) -> None:
    """Sample how late this process's event loop wakes up."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + TICK_SECONDS
        await asyncio.sleep(TICK_SECONDS)
        lateness.append(loop.time() - due)


async def _seat(tasks: list[asyncio.Task[None]], ready: asyncio.Semaphore, count: int) -> None:
    """Wait until `count` clients released `ready` (seated, or forked)."""
    async with asyncio.timeout(CONNECT_SECONDS):
        for _ in range(count):
            await ready.acquire()
    failed = [t for t in tasks if t.done() and t.exception() is not None]
    if failed:
        raise RuntimeError(f"a client failed: {failed[0].exception()!r}")


@dataclass(frozen=True)
class Plan:
    """One client process's share: how many watch, how many fork and train, and how."""

    students: int
    forkers: int
    iterations: int  # per train command
    lean: bool  # watching students on the bare reader (_lean_student), not the websockets library


async def run_share(
    url: str, plan: Plan, control: Any
) -> tuple[list[Seen], list[Forked], list[float]]:
    """One process's share of the clients: students seated, forkers forked and training; then
    back when the room ends (its students are told) and the benchmark says stop."""
    ready, stop = control
    students, iterations = plan.students, plan.iterations
    seen = [Seen() for _ in range(students)]
    forked = [Forked() for _ in range(plan.forkers)]
    watch = lean_student if plan.lean else student
    lateness: list[float] = []
    ticker = asyncio.create_task(_tick(lateness))
    seated = asyncio.Semaphore(0)
    watching = []
    for s in seen:
        watching.append(asyncio.create_task(watch(url, s, seated)))
        await asyncio.sleep(0.002)  # no thundering herd at the accept queue
    await _seat(watching, seated, students)
    done_forking = asyncio.Semaphore(0)
    training = []
    for f in forked:
        training.append(asyncio.create_task(forker(url, iterations, f, done_forking)))
        await asyncio.sleep(0.02)  # forks one after another, as a class does
    await _seat(training, done_forking, plan.forkers)
    ready.put(os.getpid())
    await asyncio.to_thread(stop.wait, RUN_LIMIT_SECONDS)
    await asyncio.wait(watching, timeout=10)  # the room has ended: its close is on its way
    for task in [*training, ticker, *watching]:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*training, ticker, *watching, return_exceptions=True)
    return seen, forked, lateness


def worker(url: str, plan: Plan, control: Any) -> Share:
    """Run a share of the clients in this process; also report its CPU seconds."""
    before = harness.own_cpu_seconds()
    seen, forked, lateness = asyncio.run(run_share(url, plan, control))
    return Share(seen, forked, harness.own_cpu_seconds() - before, lateness)

"""A lecture hall on one server: a teacher playing at 20 steps/s, 300 students, 1 stalled student;
with `--forked 40`, 40 of the 300 fork the room and train while the others follow (issue 12).

The teacher creates a room, joins it with the token and plays; students connect to the room's
socket and only read. Every frame is keyed by its prefix (`{"type":"forward","iteration":3,"t":1`)
and timed where it arrives; the teacher's arrival time is the reference. One more student never
reads, to show a slow student does not slow the room. The room's end closes every student.
A forker sends `fork`, then `train` (100 iterations: the Train command's default, at the room's
default lesson size) again and again until the benchmark ends; the iteration of its progress
frames counts what it trained while the teacher played.

The clients run in `--workers` processes (the forkers spread over them too); a watching student
is a bare websocket reader (bench/_lean_student.py), so the clients take little of the 2 cores.

Prints: frames the teacher got per second, frames delivered to following students per second,
the share of the teacher's frames each following student got (worst and mean), the lag behind
the teacher (p50, p99, max), the forks' training throughput, server CPU (cores; its event loop's
process alone; how often that was preempted) and memory, the client processes' CPU and how late
their own event loops ran, and what else kept the machine busy (it may be shared). `--detail`
says where the lag comes from. Loopback only, bounded in time:
`python -m bench.classroom [--students 300] [--forked 0] [--rate 20] [--seconds 10]
[--workers 3] [--detail] [--renice-workers N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from app.web.workers import machine
from bench import _classroom_report as report
from bench import _server as harness
from bench._classroom_clients import CONNECT_SECONDS, KEY, Plan, Share, worker

WARM_UP_SECONDS = 1.0  # the forks train a while before the measured stretch starts


def create_room(server: harness.ServerProcess) -> dict[str, str]:
    origin = f"http://127.0.0.1:{server.port}"  # rooms are created from the server's own pages
    request = urllib.request.Request(
        f"{origin}/api/rooms", method="POST", headers={"Origin": origin}
    )
    answer: dict[str, str] = orjson.loads(urllib.request.urlopen(request, timeout=10).read())
    return answer


async def until_seated(teacher: ClientConnection, students: int) -> None:
    """Everyone is seated once the teacher's student count says so."""
    async with asyncio.timeout(CONNECT_SECONDS + 10):
        async for message in teacher:
            frame = orjson.loads(message)
            if frame["type"] == "room" and frame["students"] == students:
                return


async def play(teacher: ClientConnection, rate: float, seconds: float) -> dict[str, float]:
    """Play for `seconds`, then pause; when the teacher got each frame (the reference)."""
    await teacher.send(orjson.dumps({"type": "play", "steps_per_second": rate, "id": 2}))
    reference: dict[str, float] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for message in teacher:
                key = KEY.match(str(message))
                if key:
                    reference[key.group(0)] = time.monotonic()
    await teacher.send(orjson.dumps({"type": "pause", "id": 3}))
    return reference


async def measure(server: harness.ServerProcess, args: argparse.Namespace) -> report.Row:
    """Seat the class, let the forkers fork and train, play, end the room; what each saw."""
    room = create_room(server)
    url = f"ws://127.0.0.1:{server.port}/ws/room/{room['code']}"
    loop = asyncio.get_running_loop()
    watching = args.students - args.forked
    with multiprocessing.Manager() as manager:
        ready, stop = manager.Queue(), manager.Event()
        async with (
            websockets.connect(url, max_size=None, compression=None) as teacher,
            # The stalled student: reads nothing, so its socket and then its queue fill up.
            websockets.connect(url, max_size=None, compression=None, max_queue=1),
        ):
            await teacher.send(orjson.dumps({"type": "join", "token": room["token"], "id": 1}))
            with ProcessPoolExecutor(args.workers) as pool:
                plans = [
                    Plan(n, f, args.iterations, args.client == "lean")
                    for n, f in zip(
                        spread(watching, args.workers),
                        spread(args.forked, args.workers),
                        strict=True,
                    )
                ]
                futures = [
                    loop.run_in_executor(pool, worker, url, plan, (ready, stop)) for plan in plans
                ]
                try:
                    pids = await clients_ready(ready, args.workers, futures)
                    await until_seated(teacher, watching + 1)  # the stalled one included
                    if args.forked:
                        await asyncio.sleep(WARM_UP_SECONDS)
                    meter = harness.Meter(server)
                    clients_before = clients_cpu(pids)
                    machine_before = harness.machine_busy_seconds()
                    started = time.monotonic()
                    reference = await play(teacher, args.rate, args.seconds)
                    usage = meter.read()
                    window = (started, time.monotonic())
                    clients = (clients_cpu(pids) - clients_before) / usage.wall
                    busy = (harness.machine_busy_seconds() - machine_before) / usage.wall
                    await asyncio.sleep(0.5)  # the last frames reach the students
                    await teacher.send(orjson.dumps({"type": "end_room", "id": 4}))
                finally:
                    stop.set()
                shares: list[Share] = await asyncio.gather(*futures)
    if args.detail:
        report.detail(shares, reference)
    return report.summary(shares, reference, usage, (clients, busy), window)


def spread(total: int, parts: int) -> list[int]:
    """`total` clients over `parts` processes as evenly as it goes (a part may get none)."""
    return [total // parts + (i < total % parts) for i in range(parts)]


async def clients_ready(
    ready: object, workers: int, futures: list[asyncio.Future[Share]]
) -> list[int]:
    """Wait until every client process has seated its students and forked its forkers."""
    pids = []
    for _ in range(workers):
        get = asyncio.ensure_future(asyncio.to_thread(ready.get, True, 2 * CONNECT_SECONDS))  # type: ignore[attr-defined]
        done, _ = await asyncio.wait([get, *futures], return_when=asyncio.FIRST_COMPLETED)
        if get not in done:  # a client process failed before it was ready: show why
            get.cancel()
            for future in done:
                future.result()
            raise RuntimeError("a client process ended early")
        pids.append(get.result())
    return pids


def clients_cpu(pids: list[int]) -> float:
    """CPU seconds the client processes used so far."""
    return sum(harness.process_cpu_seconds(pid) for pid in pids)


def renice_workers(server: harness.ServerProcess, nice: int) -> None:
    """Lower the priority of every process of the server's tree but the server itself."""
    for pid in machine.tree(server.process.pid):
        if pid != server.process.pid:
            with contextlib.suppress(OSError):  # gone meanwhile
                now = os.getpriority(os.PRIO_PROCESS, pid)
                os.setpriority(os.PRIO_PROCESS, pid, max(now, nice))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--students", type=int, default=300, help="students in the room, forkers included"
    )
    parser.add_argument("--forked", type=int, default=0, help="students who fork and train")
    parser.add_argument("--iterations", type=int, default=100, help="iterations per train command")
    parser.add_argument("--rate", type=float, default=20.0, help="teacher's steps per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=3, help="client processes")
    parser.add_argument(
        "--renice-workers",
        type=int,
        default=None,
        metavar="N",
        help="experiment: run the server's worker processes at nice N at least (its event loop "
        "stays at 0), as a server change would",
    )
    parser.add_argument(
        "--client",
        choices=["lean", "websockets"],
        default="lean",
        help="watching students: a bare reader (cheap), or the websockets library's client",
    )
    parser.add_argument("--detail", action="store_true", help="where the lag comes from")
    args = parser.parse_args()
    env = {"UNROLL_MAX_ROOM_STUDENTS": str(args.students + 10)}
    with harness.running_server(**env) as server:
        if args.renice_workers is not None:
            renice_workers(server, args.renice_workers)
        row = asyncio.run(measure(server, args))
    report.show(row, args)


if __name__ == "__main__":
    main()

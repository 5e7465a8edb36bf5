"""A lecture hall on one server: 1 teacher playing at 20 steps/s, 300 students, 1 stalled student.

The teacher creates a room, joins it with the token and plays; students connect to the room's
socket and only read. Every frame is keyed by its prefix (`{"type":"forward","iteration":3,"t":1`)
and timed where it arrives; the teacher's arrival time is the reference. One more student never
reads, to show a slow student does not slow the room. The room's end closes every student.

Prints: frames the teacher got per second, frames delivered to students per second, the share of
the teacher's frames each healthy student got (worst and mean), the lag behind the teacher (p50,
p99, max), server CPU (cores) and memory, and the client processes' CPU, which would otherwise
be mistaken for the server's. Loopback only, bounded in time:
`python bench/classroom.py [--students 300] [--rate 20] [--seconds 10] [--workers 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from bench import _server as harness

# The frame's identity: its type, iteration and step; cheap to find, no JSON decoding.
KEY = re.compile(
    r'\{"type":"(forward|backward|update|sequence|spectrum)","iteration":\d+(,"t":\d+)?'
)
CONNECT_SECONDS = 30.0  # the most a worker waits for its students to be seated
RUN_LIMIT_SECONDS = 120.0  # every client gives up after this, whatever happens


@dataclass
class Seen:
    """When one student got each frame."""

    arrivals: dict[str, float] = field(default_factory=dict)
    closed: bool = False


async def student(url: str, seen: Seen, seated: asyncio.Semaphore) -> None:
    async with websockets.connect(url, max_size=None, compression=None, open_timeout=30) as ws:
        seated.release()
        async for message in ws:
            arrived = time.monotonic()  # system-wide on Linux: comparable across processes
            key = KEY.match(message if isinstance(message, str) else message.decode())
            if key:
                seen.arrivals[key.group(0)] = arrived
            elif '"type":"room_closed"' in message:
                seen.closed = True
                return


async def run_students(url: str, count: int) -> list[Seen]:
    """One worker's share of the students, connected a few at a time; back when the room ends."""
    seen = [Seen() for _ in range(count)]
    seated = asyncio.Semaphore(0)
    tasks = []
    for s in seen:
        tasks.append(asyncio.create_task(student(url, s, seated)))
        await asyncio.sleep(0.002)  # no thundering herd at the accept queue
    async with asyncio.timeout(CONNECT_SECONDS):
        for _ in range(count):
            await seated.acquire()
    await asyncio.wait(tasks, timeout=RUN_LIMIT_SECONDS)
    return seen


def worker(url: str, count: int) -> tuple[list[Seen], float]:
    """Run a share of the students in this process; also report its CPU seconds."""
    before = harness.own_cpu_seconds()
    seen = asyncio.run(run_students(url, count))
    return seen, harness.own_cpu_seconds() - before


def create_room(server: harness.ServerProcess) -> dict[str, str]:
    url = f"http://127.0.0.1:{server.port}/api/rooms"
    answer: dict[str, str] = orjson.loads(
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10).read()
    )
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


async def measure(
    server: harness.ServerProcess, students: int, rate: float, seconds: float, workers: int
) -> dict[str, float]:
    room = create_room(server)
    url = f"ws://127.0.0.1:{server.port}/ws/room/{room['code']}"
    loop = asyncio.get_running_loop()
    async with (
        websockets.connect(url, max_size=None, compression=None) as teacher,
        # The stalled student: reads nothing, so its socket and then its queue fill up.
        websockets.connect(url, max_size=None, compression=None, max_queue=1),
    ):
        await teacher.send(orjson.dumps({"type": "join", "token": room["token"], "id": 1}))
        with ProcessPoolExecutor(workers) as pool:
            futures = [
                loop.run_in_executor(pool, worker, url, n)
                for n in harness.shares(students, workers)
            ]
            await until_seated(teacher, students + 1)  # the stalled one included
            meter = harness.Meter(server)
            reference = await play(teacher, rate, seconds)
            usage = meter.read()
            await asyncio.sleep(0.5)  # the last frames reach the students
            await teacher.send(orjson.dumps({"type": "end_room", "id": 4}))
            results = await asyncio.gather(*futures)
    seen = [s for share, _ in results for s in share]
    return summary(seen, reference, usage, sum(used for _, used in results))


def summary(
    seen: list[Seen], reference: dict[str, float], usage: harness.Usage, workers_cpu: float
) -> dict[str, float]:
    """What the students got against what the teacher got, and what it cost."""
    got = [sum(k in s.arrivals for k in reference) for s in seen]
    shares_got = [n / max(len(reference), 1) for n in got]
    lags = sorted(
        s.arrivals[k] - at for s in seen for k, at in reference.items() if k in s.arrivals
    )
    return {
        "students": len(seen),
        "closed_politely": sum(s.closed for s in seen),
        "teacher_frames_per_s": len(reference) / usage.wall,
        "delivered_frames_per_s": sum(got) / usage.wall,
        "worst_share": min(shares_got),
        "mean_share": sum(shares_got) / len(shares_got),
        "lag_p50_ms": 1000 * harness.quantile(lags, 0.5),
        "lag_p99_ms": 1000 * harness.quantile(lags, 0.99),
        "lag_max_ms": 1000 * harness.quantile(lags, 1.0),
        "cpu_cores": usage.cpu_cores,
        "rss_mb": usage.rss_mb,
        "rss_growth_mb": usage.rss_growth_mb,
        "client_cpu_cores": (workers_cpu + usage.own_cpu_seconds) / usage.wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="teacher's steps per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=3, help="client processes for students")
    args = parser.parse_args()
    env = {"UNROLL_MAX_ROOM_STUDENTS": str(args.students + 10)}
    with harness.running_server(**env) as server:
        row = asyncio.run(measure(server, args.students, args.rate, args.seconds, args.workers))
    print(
        f"students {row['students']:.0f} (+1 stalled), teacher got "
        f"{row['teacher_frames_per_s']:.1f} frames/s, students got "
        f"{row['delivered_frames_per_s']:.0f} frames/s in all"
    )
    print(
        f"share of the teacher's frames per healthy student: worst {row['worst_share']:.2%}, "
        f"mean {row['mean_share']:.2%}"
    )
    print(
        f"lag behind the teacher: p50 {row['lag_p50_ms']:.2f} ms, p99 {row['lag_p99_ms']:.2f} ms, "
        f"max {row['lag_max_ms']:.2f} ms"
    )
    print(
        f"server: {row['cpu_cores']:.3f} cores, {row['rss_mb']:.0f} MB RSS "
        f"({row['rss_growth_mb']:+.1f} MB while playing); client processes: "
        f"{row['client_cpu_cores']:.2f} cores"
    )
    print(
        f"closed politely at the room's end: {row['closed_politely']:.0f} of {row['students']:.0f}"
    )


if __name__ == "__main__":
    main()

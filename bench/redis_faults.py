"""Redis faults: how long a room takes to come back after Redis restarts, and how long a server
takes to stop (SIGTERM) when Redis is gone.

Recovery: two server processes share a private redis-server; a teacher drives a room on A, a
student follows it through B. Redis is killed and started again, empty. Timed from the moment it
accepts connections again: the room's directory entry written again by A, and the student on B
receiving the teacher's next step. Stop: one server with a room, a teacher and a student; Redis
is killed (connections refused) or frozen (SIGSTOP: connections hang); then SIGTERM, timed to
the process's exit (`docker stop` kills after 10 s).

Loopback only: `python -m bench.redis_faults [--rounds 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
import urllib.request
from typing import Any

import orjson
import redis
from websockets.sync.client import ClientConnection, connect

from bench._redis import redis_server
from bench._server import ServerProcess, running_server

ENV = {"UNROLL_MAX_COMMANDS_PER_SECOND": "1000"}


def _room(server: ServerProcess) -> tuple[dict[str, Any], ClientConnection, ClientConnection]:
    """A room with its teacher joined and one student seated (on `server` both)."""
    origin = f"http://127.0.0.1:{server.port}"
    request = urllib.request.Request(
        f"{origin}/api/rooms", method="POST", headers={"Origin": origin}
    )
    room = orjson.loads(urllib.request.urlopen(request, timeout=10).read())
    teacher = connect(f"ws://127.0.0.1:{server.port}/ws/room/{room['code']}", open_timeout=10)
    _send(teacher, {"type": "join", "token": room["token"], "id": 1})
    _read_until(teacher, lambda f: f.get("command_id") == 1)
    return room, teacher, _seated(server, room["code"])


def _seated(server: ServerProcess, code: str) -> ClientConnection:
    """A student of the room, once seated (it has the run's spectrum)."""
    student = connect(f"ws://127.0.0.1:{server.port}/ws/room/{code}", open_timeout=10)
    _read_until(student, lambda f: f["type"] == "spectrum")
    return student


def _send(ws: ClientConnection, message: dict[str, Any]) -> None:
    ws.send(orjson.dumps(message).decode())


def _read_until(ws: ClientConnection, wanted: Any) -> Any:
    while not wanted(frame := orjson.loads(ws.recv(timeout=30))):
        pass
    return frame


def recovery(rounds: int) -> tuple[list[float], list[float]]:
    """(seconds until the directory entry is back, until the student gets the next step)."""
    entry, follow = [], []
    with redis_server() as store:
        env = {**ENV, "UNROLL_REDIS_URL": store.url}
        with running_server(**env) as a, running_server(**env) as b:
            room, teacher, _ = _room(a)
            student = _seated(b, room["code"])
            keys = redis.Redis(port=store.port)
            for _ in range(rounds):
                store.restart()
                back = time.monotonic()
                while not keys.exists(f"unroll:roomdir:{room['code']}"):
                    time.sleep(0.005)
                entry.append(time.monotonic() - back)
                _send(teacher, {"type": "advance", "id": 9})  # a frame unlike any before it
                shown = _read_until(
                    teacher, lambda f: f["type"] in ("forward", "backward", "update")
                )
                _read_until(student, lambda f, shown=shown: f == shown)
                follow.append(time.monotonic() - back)
            keys.close()
    return entry, follow


def stop_time(fault: str) -> float:
    """Seconds from SIGTERM to exit, with Redis killed or frozen."""
    with redis_server() as store, running_server(**ENV, UNROLL_REDIS_URL=store.url) as server:
        _, teacher, student = _room(server)
        store.kill() if fault == "killed" else store.freeze()
        asked = time.monotonic()
        server.process.terminate()
        server.process.wait(timeout=60)
        took = time.monotonic() - asked
        for ws in (teacher, student):
            ws.close()
        return took


def _summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    entry, follow = recovery(args.rounds)
    print(f"after a Redis restart, the room's entry is back: {_summary(entry)}")
    print(f"after a Redis restart, the student follows again: {_summary(follow)}")
    for fault in ("killed", "frozen"):
        times = [stop_time(fault) for _ in range(args.rounds)]
        print(f"SIGTERM with Redis {fault}: the process exits in {_summary(times)}")


if __name__ == "__main__":
    main()

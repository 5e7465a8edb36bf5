"""Memory: how many sessions fit, and whether memory comes back when heavy sessions close.

1. 300 default sessions (the lesson a page opens with) on a server whose memory budget is
   1 GB: how many it accepts, and the resident memory of the whole server (its process tree).
2. 40 heavy sessions, each stepped through a whole iteration, its diagnostics and some
   training; then every client leaves. Prints the memory before, at the peak and how long it
   takes to come back within 100 MB of where it started (never forcing a garbage collection).

Loopback only, bounded in time: `python -m bench.memory [--sessions 300] [--heavy 40]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from bench import _server as harness
from bench.fairness import greeted, request

SEQ_LEN = 80
HEAVY = {"task": "text", "cell": "rnn", "hidden_size": 96, "seq_len": SEQ_LEN, "batch_size": 32}
BACK_WITHIN_MB = 100.0
BACK_SECONDS = 10.0


async def default_sessions(url: str, count: int) -> tuple[list[ClientConnection], int]:
    """Open `count` sessions at once; the ones the server accepted, and how many it refused."""

    async def one() -> ClientConnection | None:
        ws = await websockets.connect(url, max_size=None, compression=None, open_timeout=60)
        first = {"type": "queued"}
        while first["type"] == "queued":  # told its place while many open at once
            first = orjson.loads(await ws.recv())
        if first["type"] != "hello":
            await ws.close()
            return None
        while orjson.loads(await ws.recv())["type"] != "spectrum":
            pass
        return ws

    opened = await asyncio.gather(*(one() for _ in range(count)))
    accepted = [ws for ws in opened if ws is not None]
    return accepted, count - len(accepted)


async def fill(server: harness.ServerProcess, count: int) -> dict[str, Any]:
    before = server.rss_mb()
    sessions, refused = await default_sessions(server.ws, count)
    await asyncio.sleep(1.0)
    held = server.rss_mb()
    for ws in sessions:
        await ws.close()
    return {
        "sessions": len(sessions),
        "refused": refused,
        "rss_idle_mb": before,
        "rss_mb": held,
        "mb_per_session": (held - before) / max(len(sessions), 1),
    }


async def heavy_session(url: str) -> ClientConnection:
    """A heavy run, stepped through everything that allocates."""
    ws = await greeted(url)
    reply = (await request(ws, {"type": "configure", "config": HEAVY}))[-1]
    assert reply["type"] == "ack", reply
    for command in ({"type": "finish_iteration"}, {"type": "diagnose"}):
        await request(ws, command)
    await request(ws, {"type": "train", "iterations": 20})
    while orjson.loads(await ws.recv())["type"] != "sequence":
        pass  # training ends with the next iteration's sequence
    for _ in range(SEQ_LEN + 1):
        await request(ws, {"type": "advance"})  # into BPTT: the tapes are full
    return ws


async def release(server: harness.ServerProcess, count: int) -> dict[str, Any]:
    baseline = server.rss_mb()
    sessions = await asyncio.gather(*(heavy_session(server.ws) for _ in range(count)))
    peak = server.rss_mb()
    for ws in sessions:
        await ws.close()
    closed = time.monotonic()
    back = float("nan")
    while time.monotonic() - closed < 3 * BACK_SECONDS:
        if server.rss_mb() <= baseline + BACK_WITHIN_MB:
            back = time.monotonic() - closed
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(max(0.0, BACK_SECONDS - (time.monotonic() - closed)))
    return {
        "heavy_sessions": count,
        "rss_baseline_mb": baseline,
        "rss_peak_mb": peak,
        "back_within_100mb_s": back,
        "rss_after_10s_mb": server.rss_mb(),
    }


def show(row: dict[str, Any]) -> None:
    for name, value in row.items():
        print(
            f"{name:>22} {value:>10.2f}" if isinstance(value, float) else f"{name:>22} {value:>10}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--heavy", type=int, default=40)
    args = parser.parse_args()
    fits = {"UNROLL_MEMORY_BUDGET_MB": "1024", "UNROLL_MAX_SESSIONS": str(args.sessions + 10)}
    with harness.running_server(**fits) as server:
        show(asyncio.run(fill(server, args.sessions)))
    with harness.running_server(UNROLL_MAX_COMMANDS_PER_SECOND="1000") as server:
        show(asyncio.run(release(server, args.heavy)))


if __name__ == "__main__":
    main()

"""Load on the live websocket: N sessions stepping at 20 steps/s, plus one stalled client.

Each healthy client sends `advance` 20 times a second (one step of the forward, backward, update
cycle) and times each command's round trip to its ack. One extra client starts `play` at 20 steps
per second and never reads. Prints, per N: frames delivered (total, and to healthy clients as a
share of what they asked for), p50/p99 round trip, server CPU and memory. Loopback only, bounded
in time: `python bench/load.py [--seconds 5] [--sizes 1,10,50,100,200]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import orjson
import websockets

from bench import _server as harness

RATE = 20.0


@dataclass
class ClientStats:
    """What one healthy client saw."""

    sent: int = 0
    acked: int = 0
    frames: int = 0
    round_trips: list[float] = field(default_factory=list)


async def healthy_client(
    url: str, seconds: float, stats: ClientStats, start: asyncio.Event
) -> None:
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.recv()  # hello
        await ws.recv()  # spectrum
        await start.wait()
        sent_at: dict[int, float] = {}

        async def reader() -> None:
            async for message in ws:
                stats.frames += 1
                # Only acks are decoded: the client must not be the bottleneck it measures.
                if isinstance(message, str) and message.startswith('{"type":"ack"'):
                    frame = orjson.loads(message)
                    if frame["command_id"] in sent_at:
                        sent = sent_at.pop(frame["command_id"])
                        stats.round_trips.append(time.perf_counter() - sent)
                        stats.acked += 1

        reading = asyncio.create_task(reader())
        # Real clients are not in lockstep: each starts at its own phase of the 50 ms period.
        await asyncio.sleep(random.uniform(0, 1.0 / RATE))
        loop = asyncio.get_running_loop()
        due = loop.time()
        end = due + seconds
        command_id = 0
        while loop.time() < end:
            command_id += 1
            sent_at[command_id] = time.perf_counter()
            await ws.send(orjson.dumps({"type": "advance", "id": command_id}).decode())
            stats.sent += 1
            due += 1.0 / RATE
            await asyncio.sleep(max(0.0, due - loop.time()))
        await asyncio.sleep(0.3)  # let the last replies arrive
        reading.cancel()


async def stalled_client(url: str, stop: asyncio.Event) -> None:
    """Asks for a stream and never reads it."""
    async with websockets.connect(url, max_size=None, compression=None, max_queue=1) as ws:
        await ws.send(orjson.dumps({"type": "play", "steps_per_second": RATE}).decode())
        await stop.wait()


async def run_clients(url: str, clients: int, seconds: float, delay: float) -> list[ClientStats]:
    """One worker process's share of the healthy clients."""
    stats = [ClientStats() for _ in range(clients)]
    start = asyncio.Event()
    tasks = [asyncio.create_task(healthy_client(url, seconds, s, start)) for s in stats]
    await asyncio.sleep(delay)  # every worker's connections settle, then all start together
    start.set()
    await asyncio.gather(*tasks)
    return stats


def worker(url: str, clients: int, seconds: float, delay: float) -> tuple[list[ClientStats], float]:
    """Run a share of the clients; also report this process's CPU seconds while it did."""
    before = harness.own_cpu_seconds()
    stats = asyncio.run(run_clients(url, clients, seconds, delay))
    return stats, harness.own_cpu_seconds() - before


async def measure(
    server: harness.ServerProcess,
    clients: int,
    seconds: float,
    pool: ProcessPoolExecutor,
    workers: int,
) -> dict[str, float]:
    stop = asyncio.Event()
    stalled = asyncio.create_task(stalled_client(server.ws, stop))
    loop = asyncio.get_running_loop()
    delay = 1.0 + clients * 0.01
    futures = [
        loop.run_in_executor(pool, worker, server.ws, share, seconds, delay)
        for share in harness.shares(clients, workers)
    ]
    await asyncio.sleep(delay - 0.2)
    meter = harness.Meter(server)
    results = await asyncio.gather(*futures)
    usage = meter.read()
    stop.set()
    await stalled
    stats = [s for share, _ in results for s in share]
    client_cpu = sum(seconds_used for _, seconds_used in results)
    return summary(stats, clients, seconds, usage, client_cpu)


def summary(
    stats: list[ClientStats], clients: int, seconds: float, usage: harness.Usage, client_cpu: float
) -> dict[str, float]:
    """One row of the table: what the clients saw and what the server used."""
    trips = sorted(t for s in stats for t in s.round_trips)
    asked = sum(s.sent for s in stats)
    return {
        "clients": clients,
        "frames_per_s": sum(s.frames for s in stats) / seconds,
        "delivered_share": sum(s.acked for s in stats) / max(asked, 1),
        "p50_ms": 1000 * statistics.median(trips) if trips else float("nan"),
        "p99_ms": 1000 * harness.quantile(trips, 0.99),
        "cpu_cores": usage.cpu_cores,
        "client_cpu_cores": client_cpu / usage.wall,
        "rss_mb": usage.rss_mb,
        "mb_per_session": usage.rss_growth_mb / clients,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sizes", default="1,10,50,100,200")
    parser.add_argument("--workers", type=int, default=3, help="client processes")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    env = {"UNROLL_MAX_SESSIONS": str(max(sizes) + 10), "UNROLL_MAX_COMMANDS_PER_SECOND": "100"}
    print(
        f"{'N':>5} {'frames/s':>9} {'acked':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU':>5} "
        f"{'RSS MB':>7} {'MB/sess':>8}"
    )
    with harness.running_server(**env) as server, ProcessPoolExecutor(args.workers) as pool:
        for n in sizes:
            row = asyncio.run(measure(server, n, args.seconds, pool, args.workers))
            print(
                f"{n:>5} {row['frames_per_s']:>9.0f} {row['delivered_share']:>7.1%} "
                f"{row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {row['cpu_cores']:>5.2f} "
                f"{row['rss_mb']:>7.1f} {row['mb_per_session']:>8.3f} "
                f"{row['client_cpu_cores']:>10.2f}"
            )


if __name__ == "__main__":
    main()

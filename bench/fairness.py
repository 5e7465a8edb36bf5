"""Fairness under a mixed load: light clients keep their pace while heavy clients saturate.

20 light clients each send `advance` 20 times a second on the default lesson and time every
command's round trip to its ack; at the same time 2 clients train at the largest sizes the
server allows, 1 client steps (`advance`, back to back) an LSTM at the largest allowed sizes, and
1 client imports a maximal export over and over. "Largest allowed" is what the server says: a
run at every cap is refused with the largest hidden size that fits its per-session budget.

Prints the light clients' round trips (p50, p99, max), the commands and frames they lost, what
the heavy clients got done, and the server's CPU and memory (the whole process tree, sampled
through the run) against its configured budget. Loopback only, bounded in time:
`python -m bench.fairness [--seconds 20] [--light 20] [--budget-mb 3072]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from bench import _server as harness
from bench.load import ClientStats, healthy_client

MAX_HIDDEN = 256
LARGEST = {"cell": "lstm", "hidden_size": MAX_HIDDEN, "seq_len": 200, "batch_size": 64}
TASK = "text"
WARM_UP_SECONDS = 3.0  # the heavy clients are busy before the light ones are measured


async def request(ws: ClientConnection, command: dict[str, Any]) -> list[dict[str, Any]]:
    """Send a command; every frame up to its ack or error."""
    command_id = command.setdefault("id", int(time.monotonic() * 1e6))
    await ws.send(orjson.dumps(command).decode())
    frames = []
    while True:
        frame = orjson.loads(await ws.recv())
        frames.append(frame)
        if frame["type"] in ("ack", "error") and frame.get("command_id") == command_id:
            return frames


async def greeted(url: str) -> ClientConnection:
    """A new session, once it has its hello and spectrum (a busy server may say it queues)."""
    ws = await websockets.connect(url, max_size=None, compression=None, open_timeout=30)
    while orjson.loads(await ws.recv())["type"] != "spectrum":
        pass
    return ws


async def largest(ws: ClientConnection) -> dict[str, Any]:
    """The largest run the server allows: every cap, then the hidden size it says fits."""
    config = {"task": TASK, **LARGEST}
    reply = (await request(ws, {"type": "configure", "config": config}))[-1]
    if reply["type"] == "error":
        assert reply["code"] == "over_budget", reply
        field = reply["field"].removeprefix("config.")
        config[field] = int(reply["message"].split("at most ")[1].split()[0])
        reply = (await request(ws, {"type": "configure", "config": config}))[-1]
        assert reply["type"] == "ack", reply
    return config


async def maximal_export(ws: ClientConnection, limit: int) -> str:
    """The largest export an import accepts: an export's size is its weights' (and optimizer
    slots'), so the LSTM with the largest hidden size whose export is under the limit."""
    hidden = MAX_HIDDEN
    while True:
        sized = {"task": TASK, "cell": "lstm", "hidden_size": hidden, "seq_len": 50}
        assert (await request(ws, {"type": "configure", "config": sized}))[-1]["type"] == "ack"
        await request(ws, {"type": "train", "iterations": 3})
        await asyncio.sleep(0.5)
        frames = await request(ws, {"type": "export"})
        state = next(frame for frame in frames if frame["type"] == "export")["state"]
        message = orjson.dumps({"type": "import", "id": 1, "state": state}).decode()
        if len(message) <= limit:
            return message
        hidden = int(hidden * 0.9)


@dataclass
class Heavy:
    """What the heavy clients got done."""

    trained: int = 0
    advanced: int = 0
    imported: int = 0
    refusals: list[str] = field(default_factory=list)
    seen: dict[int, int] = field(default_factory=dict)  # iterations each trainer got done

    def trained_by(self, trainer: int) -> int:
        return self.seen.get(trainer, 0)


async def trainer(url: str, stop: asyncio.Event, heavy: Heavy) -> None:
    ws = await greeted(url)
    await largest(ws)
    first: int | None = None
    while not stop.is_set():  # back to back: a new train as soon as one ends
        await request(ws, {"type": "train", "iterations": 5000})
        last = None
        while not stop.is_set() and last != "sequence":
            try:
                frame = orjson.loads(await asyncio.wait_for(ws.recv(), 1.0))
            except TimeoutError:
                continue
            last = frame["type"]
            if last == "progress":
                first = frame["iteration"] if first is None else first
                heavy.trained += frame["iteration"] - first - heavy.trained_by(id(ws))
                heavy.seen[id(ws)] = frame["iteration"] - first
    await ws.close()


async def stepper(url: str, stop: asyncio.Event, heavy: Heavy) -> None:
    ws = await greeted(url)
    await largest(ws)
    while not stop.is_set():
        await request(ws, {"type": "advance"})
        heavy.advanced += 1
    await ws.close()


async def importer(url: str, stop: asyncio.Event, heavy: Heavy, message: str) -> None:
    ws = await greeted(url)
    while not stop.is_set():
        reply = (await request(ws, orjson.loads(message)))[-1]
        heavy.imported += reply["type"] == "ack"
        if reply["type"] == "error":
            heavy.refusals.append(reply["message"])
    await ws.close()


def light_share(url: str, clients: int, seconds: float, delay: float) -> list[ClientStats]:
    """One client process's share of the light clients (bench.load's healthy client)."""

    async def run() -> list[ClientStats]:
        stats = [ClientStats() for _ in range(clients)]
        start = asyncio.Event()
        tasks = [asyncio.create_task(healthy_client(url, seconds, s, start)) for s in stats]
        await asyncio.sleep(delay)
        start.set()
        await asyncio.gather(*tasks)
        return stats

    return asyncio.run(run())


async def sample_memory(server: harness.ServerProcess, stop: asyncio.Event) -> float:
    """The largest resident memory of the server's tree, sampled twice a second."""
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, server.rss_mb())
        await asyncio.sleep(0.5)
    return peak


async def measure(server: harness.ServerProcess, args: argparse.Namespace) -> dict[str, Any]:
    setup = await greeted(server.ws)
    export = await maximal_export(setup, args.import_bytes)
    await setup.close()
    stop, heavy = asyncio.Event(), Heavy()
    memory = asyncio.create_task(sample_memory(server, stop))
    loads = [trainer(server.ws, stop, heavy) for _ in range(2)]
    loads += [stepper(server.ws, stop, heavy), importer(server.ws, stop, heavy, export)]
    running = [asyncio.create_task(load) for load in loads]
    await asyncio.sleep(WARM_UP_SECONDS)
    loop = asyncio.get_running_loop()
    delay = 2.0
    with ProcessPoolExecutor(args.processes) as pool:
        futures = [
            loop.run_in_executor(pool, light_share, server.ws, share, args.seconds, delay)
            for share in harness.shares(args.light, args.processes)
        ]
        await asyncio.sleep(delay - 0.2)
        meter = harness.Meter(server)
        results = await asyncio.gather(*futures)
        usage = meter.read()
    stop.set()
    await asyncio.gather(*running)
    stats = [s for share in results for s in share]
    return summary(stats, heavy, usage, await memory, len(export))


def summary(
    stats: list[ClientStats], heavy: Heavy, usage: harness.Usage, peak_mb: float, export: int
) -> dict[str, Any]:
    trips = sorted(t for s in stats for t in s.round_trips)
    sent, acked = sum(s.sent for s in stats), sum(s.acked for s in stats)
    return {
        "light_p50_ms": 1000 * statistics.median(trips),
        "light_p99_ms": 1000 * harness.quantile(trips, 0.99),
        "light_max_ms": 1000 * trips[-1],
        "light_sent": sent,
        "light_lost": sent - acked,
        "trained_iterations": heavy.trained,
        "lstm_advances": heavy.advanced,
        "imports": heavy.imported,
        "imports_refused": len(heavy.refusals),
        "export_mb": export / 2**20,
        "server_cores": usage.cpu_cores,
        "event_loop_cores": usage.loop_cores,
        "peak_rss_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--light", type=int, default=20, help="light clients")
    parser.add_argument("--processes", type=int, default=2, help="client processes (light)")
    parser.add_argument("--budget-mb", type=int, default=3072, help="the server's memory budget")
    parser.add_argument("--import-bytes", type=int, default=4 * 2**20)
    args = parser.parse_args()
    env = {
        "UNROLL_MEMORY_BUDGET_MB": str(args.budget_mb),
        "UNROLL_MAX_IMPORT_BYTES": str(args.import_bytes),
        "UNROLL_MAX_COMMANDS_PER_SECOND": "100",
    }
    with harness.running_server(**env) as server:
        row = asyncio.run(measure(server, args))
    row["budget_mb"] = args.budget_mb
    for name, value in row.items():
        print(
            f"{name:>20} {value:>10.2f}" if isinstance(value, float) else f"{name:>20} {value:>10}"
        )


if __name__ == "__main__":
    main()

"""Start the real server in a child process on 127.0.0.1 for a benchmark; meter its CPU and RSS.

The server is a process tree (the server, its worker processes and their fork server): CPU and
memory are those of the whole tree.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.web.workers import machine


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A running server: its pid and port."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def cpu_seconds(self) -> float:
        """User plus system CPU time the whole tree used so far, the reaped workers' too."""
        return sum(_cpu_seconds(pid, reaped=True) for pid in machine.tree(self.process.pid))

    def loop_cpu_seconds(self) -> float:
        """CPU time of the server process alone: its event loop (and its few threads)."""
        return _cpu_seconds(self.process.pid, reaped=False)

    def loop_preemptions(self) -> int:
        """Times the server's event loop was taken off a core while it could still run."""
        return preemptions(self.process.pid)

    def rss_mb(self) -> float:
        """Resident memory of the whole tree in MB."""
        return machine.tree_rss(self.process.pid) / 2**20


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time one process (a benchmark's client) used so far; 0 if gone."""
    return _cpu_seconds(pid, reaped=False)


def preemptions(pid: int) -> int:
    """A process's involuntary context switches so far: on a busy machine, how often it was
    made to wait for a core (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("nonvoluntary_ctxt_switches:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy so far (not idle, not waiting on I/O):
    with the benchmark's own usage, it shows what else ran on a shared machine meanwhile."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, stat.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int, *, reaped: bool) -> float:
    """User plus system CPU time of a process (and of its reaped children); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11 : 15 if reaped else 13]) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_server(**env: str) -> Iterator[ServerProcess]:
    """`python -m app` on a free loopback port, stopped on exit."""
    port = free_port()
    environment = {**os.environ, "UNROLL_HOST": "127.0.0.1", "UNROLL_PORT": str(port)}
    environment.update({"UNROLL_LOG_LEVEL": "warning", **env})
    process = subprocess.Popen([sys.executable, "-m", "app"], env=environment)
    try:
        deadline = time.monotonic() + 60  # generous: a saturated machine starts Python slowly
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield ServerProcess(process, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # never leave an orphaned server behind
            process.kill()
            process.wait(timeout=10)


def own_cpu_seconds() -> float:
    """User plus system CPU time this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def shares(total: int, parts: int) -> list[int]:
    """`total` clients spread over `parts` worker processes as evenly as it goes (no empty part)."""
    return [n for n in (total // parts + (i < total % parts) for i in range(parts)) if n]


def quantile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values (nearest rank below); NaN when there are none."""
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


@dataclass
class Usage:
    """What the server used over a stretch of a benchmark, and what this process used."""

    wall: float
    cpu_cores: float
    loop_cores: float
    loop_preemptions_per_s: float
    rss_mb: float
    rss_growth_mb: float
    own_cpu_seconds: float


class Meter:
    """Started at the beginning of a stretch; `read` at its end."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.rss_before = server.rss_mb()
        self.cpu_before = server.cpu_seconds()
        self.loop_before = server.loop_cpu_seconds()
        self.preempted_before = server.loop_preemptions()
        self.own_before = own_cpu_seconds()
        self.started = time.monotonic()

    def read(self) -> Usage:
        """The usage from the start until now."""
        wall = time.monotonic() - self.started
        rss = self.server.rss_mb()
        return Usage(
            wall=wall,
            cpu_cores=(self.server.cpu_seconds() - self.cpu_before) / wall,
            loop_cores=(self.server.loop_cpu_seconds() - self.loop_before) / wall,
            loop_preemptions_per_s=(self.server.loop_preemptions() - self.preempted_before) / wall,
            rss_mb=rss,
            rss_growth_mb=rss - self.rss_before,
            own_cpu_seconds=own_cpu_seconds() - self.own_before,
        )

"""A private redis-server on a loopback port, which tests and benchmarks kill, freeze, restart."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench._server import free_port


class RedisServer:
    """redis-server on 127.0.0.1:port, saving nothing (a restart starts it empty, as ours does)."""

    def __init__(self, port: int) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("rooms across processes need Redis: apt-get install redis-server")
        self.command = [binary, "--bind", "127.0.0.1", "--port", str(port)]
        self.command += ["--save", "", "--appendonly", "no"]
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start, and return once it answers PING."""
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """Gone at once, as a crash (connections are refused)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def freeze(self) -> None:
        """Still there, answering nothing (connections hang), as a hung host or a partition."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def restart(self) -> None:
        """Crash and come back empty, on the same port."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
        self.kill()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A running RedisServer on a free port, stopped afterwards whatever state it is in."""
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()

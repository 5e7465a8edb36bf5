"""Shared fixtures: the app, and a real uvicorn server on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.web.main import create_app
from app.web.server import UnrollServer, uvicorn_config
from app.web.settings import Settings

T = TypeVar("T")

# Starlette's TestClient calls the server "testserver": answer to it, as Django's test runner
# adds it to ALLOWED_HOSTS. Every other default of the Host allowlist stays as it ships.
os.environ.setdefault("UNROLL_ALLOWED_HOSTS", "testserver")


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API may own this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings() -> Settings:
    # One worker of each kind, quick to start; both at the normal OS priority, so
    # the tests' runs are not starved on a machine saturated by others (--stress).
    return Settings(
        max_commands_per_second=1000, workers=1, heavy_workers=1, heavy_nice=0, light_nice=0
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class LiveServer:
    """A running server and where to reach it."""

    server: uvicorn.Server
    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def start_server(
    app: FastAPI, settings: Settings, port: int | None = None
) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Start uvicorn as the CLI does, in a thread; return once it accepts connections."""
    port = port or free_port()
    config = uvicorn_config(app, settings, host="127.0.0.1", port=port, log_level="warning")
    server = UnrollServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread, port


@pytest.fixture
def live_server(app: FastAPI, settings: Settings) -> Iterator[LiveServer]:
    server, thread, port = start_server(app, settings)
    yield LiveServer(server, port)
    server.should_exit = True
    thread.join(timeout=10)

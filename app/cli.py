"""Command line: `unroll serve --host H --port P` (also `python -m app`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _pin_blas_threads() -> None:
    """One BLAS thread: threaded OpenBLAS beside the event loop turns sub-ms steps into stalls."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def build_parser() -> argparse.ArgumentParser:
    """Parser for the `unroll` command."""
    parser = argparse.ArgumentParser(prog="unroll", description="Unroll: watch an RNN learn.")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="start the web server")
    serve.add_argument("--host", default=None, help="address to bind (env UNROLL_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (env UNROLL_PORT)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `unroll` console script."""
    _pin_blas_threads()
    args = build_parser().parse_args(argv)
    if args.command not in (None, "serve"):
        return 2
    from app.web.main import create_app
    from app.web.server import UnrollServer, uvicorn_config
    from app.web.settings import Settings
    from app.web.workers import machine

    machine.tune_allocator()  # large send queues go back to the system once sent

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)
    UnrollServer(uvicorn_config(create_app(settings), settings)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

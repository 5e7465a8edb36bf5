"""app/engine stays pure NumPy: no web framework, no I/O libraries."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "app" / "engine"
FORBIDDEN = {"fastapi", "starlette", "pydantic", "uvicorn", "websockets", "jinja2", "orjson", "app"}
ALLOWED_APP = "app.engine"


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
    files = sorted(ENGINE.rglob("*.py"))
    assert files, "the engine package should exist"
    for path in files:
        for name in imported_modules(path):
            top = name.split(".")[0]
            if name == ALLOWED_APP or name.startswith(ALLOWED_APP + "."):
                continue
            assert top not in FORBIDDEN, f"{path.name} imports {name}"

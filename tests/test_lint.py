"""ruff (lint and format) and mypy pass; the measures of the house style hold.

No source file over 400 lines; no function in app/ over cyclomatic complexity 10 (radon); no
isinstance on the kinds of network outside the network module, where the one interface hides them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
MAX_COMPLEXITY = 10
SOURCES = ("app", "bench", "tests", "static", "templates")
SUFFIXES = {".py", ".js", ".css", ".html"}
NETWORK_MODULE = ROOT / "app" / "engine" / "net.py"
NETWORK_KINDS = {  # the specs, nets and passes that the Net interface stands for
    "ModelSpec",
    "Seq2SeqSpec",
    "Net",
    "SingleNet",
    "EncoderDecoder",
    "Forward",
    "SinglePass",
    "EncoderDecoderPass",
    "Backward",
    "EncoderDecoderBackward",
    "Chain",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def source_files(*folders: str, suffixes: set[str] = SUFFIXES) -> Iterator[Path]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in suffixes and path.is_file() and "__pycache__" not in path.parts:
                yield path


def test_no_source_file_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for path in source_files(*SOURCES)
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these files (over {MAX_LINES} lines): {long}"


def test_no_function_in_app_is_over_complexity_10() -> None:
    def blocks(found: list[object]) -> Iterator[object]:
        for block in found:
            yield block
            yield from blocks(getattr(block, "closures", []))

    complex_ = {
        f"{path.relative_to(ROOT)}:{block.lineno} {block.fullname}": block.complexity
        for path in source_files("app", suffixes={".py"})
        for block in blocks(cc_visit(path.read_text(encoding="utf-8")))
        if block.complexity > MAX_COMPLEXITY
    }
    assert not complex_, f"simplify (radon complexity over {MAX_COMPLEXITY}): {complex_}"


def isinstance_kinds(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, name) of every isinstance(..., K) whose K names a kind of network."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance"):
            continue
        if len(node.args) < 2:
            continue
        for part in ast.walk(node.args[1]):
            name = part.id if isinstance(part, ast.Name) else getattr(part, "attr", None)
            if name in NETWORK_KINDS:
                yield node.lineno, name


def test_only_the_network_module_asks_which_kind_of_network_it_holds() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} isinstance(..., {name})"
        for path in source_files("app", "bench", suffixes={".py"})
        if path != NETWORK_MODULE
        for line, name in isinstance_kinds(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, f"call the Net interface instead of asking for the kind: {found}"


def test_the_isinstance_check_finds_what_it_looks_for() -> None:
    code = "isinstance(spec, Seq2SeqSpec)\nisinstance(x, (int, engine.Forward))\nisinstance(x, int)"
    assert list(isinstance_kinds(ast.parse(code))) == [(1, "Seq2SeqSpec"), (2, "Forward")]

"""How the exported script is written: tagged templates, and values as exact Python literals.

A template is Python source with $placeholders (string.Template) and optional line tags: a line
ending in "  ##lstm" is kept only when the tag "lstm" is on, one ending in "  ##!lstm" only
when it is off. So each code path is written once, readable, and a script carries only the
lines its run uses.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Mapping
from string import Template

import numpy as np

TAG = re.compile(r"\s+##(!?)(\w+)$")
WIDTH = 88  # characters of a literal's line in the script


def render(template: str, tags: Collection[str], values: Mapping[str, object] | None = None) -> str:
    """The template's lines whose tags hold, with their tags removed and $names filled in."""
    kept = []
    for line in template.splitlines():
        match = TAG.search(line)
        if match:
            wanted = (match.group(2) in tags) != bool(match.group(1))
            if not wanted:
                continue
            line = line[: match.start()]
        kept.append(line)
    text = "\n".join(kept) + "\n"
    return Template(text).substitute(values or {})


def tidy(code: str) -> str:
    """Two blank lines before and after each top-level def, as PEP 8 lays them out."""
    out: list[str] = []
    in_def = False
    for line in code.strip("\n").split("\n"):
        top = bool(line) and not line[0].isspace()
        if top and (line.startswith("def ") or in_def):
            while out and not out[-1]:
                out.pop()
            out += ["", ""] if out else []
        if top:
            in_def = line.startswith("def ")
        out.append(line)
    return "\n".join(out) + "\n"


def wrapped_list(items: list[str], spaces: int = 4) -> str:
    """A list literal of strings over several lines."""
    lines, line = [], ""
    for item in map(repr, items):
        if line and len(line) + len(item) + 2 > WIDTH - spaces:
            lines.append(line.rstrip())
            line = ""
        line += item + ", "
    lines.append(line.rstrip())
    body = "\n".join(" " * spaces + text for text in lines)
    return f"[\n{body}\n{' ' * (spaces - 4)}]"


def indent(text: str, spaces: int) -> str:
    """Every non-blank line moved right by `spaces`."""
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else line for line in text.split("\n"))


def wrapped_string(text: str, spaces: int = 4) -> str:
    """A string literal over several lines (implicit concatenation), breaking after newlines."""
    pieces = []
    for line in text.splitlines(keepends=True) or [""]:
        pieces += [line[i : i + WIDTH - 20] for i in range(0, max(len(line), 1), WIDTH - 20)]
    pad = " " * spaces
    body = "\n".join(pad + repr(piece) for piece in pieces)
    return f"(\n{body}\n{' ' * (spaces - 4)})"


def exact_floats(values: np.ndarray, spaces: int = 4) -> str:
    """float64 values as unpack("<base64 of their bytes>", shape): exact, and compact."""
    data = base64.b64encode(np.ascontiguousarray(values, dtype="<f8").tobytes()).decode()
    pad = " " * spaces
    lines = "\n".join(f'{pad}"{data[i : i + WIDTH - 8]}"' for i in range(0, len(data), WIDTH - 8))
    shape = tuple(int(n) for n in values.shape)
    return f"unpack(\n{lines or pad + repr('')},\n{pad}{shape},\n{' ' * (spaces - 4)})"


def number_list(values: np.ndarray) -> str:
    """A 1-D array as np.array([...]) of shortest round-tripping reprs: exact and readable."""
    items = [repr(float(v)) if values.dtype.kind == "f" else str(int(v)) for v in values]
    lines, line = [], ""
    for item in items:
        if line and len(line) + len(item) + 2 > WIDTH - 8:
            lines.append(line)
            line = ""
        line += item + ", "
    lines.append(line)
    body = "\n".join("    " + text.rstrip() for text in lines)
    return f"np.array(\n    [\n{indent(body, 4)}\n    ]\n)"


def int_array(values: np.ndarray) -> str:
    """An integer array as a nested list literal."""
    return f"np.array({np.asarray(values).tolist()!r})"


UNPACK = '''
def unpack(text, shape):
    """float64 values stored exactly: base64 of their little-endian bytes."""
    return np.frombuffer(base64.b64decode(text), dtype="<f8").reshape(shape).copy()
'''

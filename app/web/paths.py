"""Where the page assets live, whether run from a checkout or from an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # app/
_CHECKOUT = _PACKAGE.parent


def asset_dir(name: str) -> Path:
    """`static` or `templates`: in the package when installed, at the repo root in a checkout."""
    for candidate in (_PACKAGE / name, _CHECKOUT / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ directory of Unroll")

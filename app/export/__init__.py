"""Take a run away as code: one standalone NumPy script that trains it and prints its losses."""

from __future__ import annotations

from app.export.numpy_script import RunPoint, numpy_script

__all__ = ["RunPoint", "numpy_script"]

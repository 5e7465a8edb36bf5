"""Take a run away as code: one standalone NumPy script that trains it and prints its losses.

numpy_script writes a run's script (from its seed, or from a RunPoint); from_run.script_frame
is what a session sends: the script of its run, from the start or from now.
"""

from __future__ import annotations

from app.export.from_run import script_frame
from app.export.numpy_script import RunPoint, numpy_script

__all__ = ["RunPoint", "numpy_script", "script_frame"]

"""What the machine (or the container) gives the server: cores and memory; and giving back.

A container's limits are its cgroup's (v2 cpu.max and memory.max, v1 cpu.cfs_quota_us and
memory.limit_in_bytes), which are smaller than what /proc says the host has.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
M_MMAP_THRESHOLD = -3  # glibc mallopt parameters
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024  # glibc's default, fixed so large blocks always go back on free


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def memory_limit() -> int:
    """Bytes this process may use: the cgroup's limit if there is one, else physical memory."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limits = [physical]
    for path in (CGROUP / "memory.max", CGROUP / "memory" / "memory.limit_in_bytes"):
        limit = _number(_read(path))  # "max" (v2) reads as no limit
        if limit is not None and limit < physical:  # v1 writes "no limit" as a huge number
            limits.append(limit)
    return min(limits)


def cores() -> int:
    """CPU cores this process may use: its affinity, capped by a cgroup's CPU quota."""
    available = len(os.sched_getaffinity(0))
    quota: float | None = None
    v2 = _read(CGROUP / "cpu.max")
    if v2 is not None and not v2.startswith("max"):
        used, period = v2.split()[:2]
        quota = int(used) / int(period)
    else:
        used_v1 = _read(CGROUP / "cpu" / "cpu.cfs_quota_us")
        period_v1 = _number(_read(CGROUP / "cpu" / "cpu.cfs_period_us"))
        if used_v1 is not None and used_v1.lstrip("-").isdigit() and int(used_v1) > 0 and period_v1:
            quota = int(used_v1) / period_v1
    return max(1, min(available, math.ceil(quota))) if quota else max(1, available)


def rss(pid: int) -> int:
    """Resident memory of one process in bytes (0 if it is gone)."""
    status = _read(Path(f"/proc/{pid}/status")) or ""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def tree(pid: int) -> list[int]:
    """A process and all its descendants (the server, its workers and their fork server)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read(entry / "stat")
            if stat is not None:
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    return sum(rss(member) for member in tree(pid))


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None  # glibc only


LIBC = _libc()


def tune_allocator() -> None:
    """glibc: large blocks always mmapped (so freeing them returns them), few arenas."""
    if LIBC is not None:
        LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        LIBC.mallopt(M_ARENA_MAX, 2)


def release_memory() -> None:
    """Hand the heap's free pages back to the system (glibc keeps them otherwise)."""
    if LIBC is not None:
        LIBC.malloc_trim(0)

"""Measurements for the fan-out benchmark: CPU per thread and per machine, peak memory, and a
cProfile of the event loop thread grouped by library.

RSA signing runs in the client's small thread pool and SQLite statements run in aiosqlite's
connection threads, so one profile of the main thread cannot see them. Each thread's own CPU
clock can: `thread_cpu()` reads them all. The profile itself is timed with the main thread's
CPU clock (`time.thread_time`), not the wall clock, so waiting in `epoll` counts as nothing.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import resource
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Thread name patterns → what the thread does for the sender.
THREAD_GROUPS: tuple[tuple[str, str], ...] = (
    ("MainThread", "event loop (HTTP client, SQLAlchemy, our code)"),
    ("http-sign", "RSA signing threads"),
    ("_connection_worker_thread", "SQLite driver threads (aiosqlite)"),
)

# Library path fragments → group, tried in order on each profiled function's file name.
PATH_GROUPS: tuple[tuple[str, str], ...] = (
    ("/cryptography/", "RSA / crypto"),
    ("/fediverse/activitypub/signatures", "RSA / crypto"),
    ("/httpx/", "HTTP client (httpx/httpcore/h11/anyio)"),
    ("/httpcore/", "HTTP client (httpx/httpcore/h11/anyio)"),
    ("/h11/", "HTTP client (httpx/httpcore/h11/anyio)"),
    ("/anyio/", "HTTP client (httpx/httpcore/h11/anyio)"),
    ("/sniffio/", "HTTP client (httpx/httpcore/h11/anyio)"),
    ("/idna/", "HTTP client (httpx/httpcore/h11/anyio)"),
    ("/ssl.py", "HTTP client (httpx/httpcore/h11/anyio)"),
    ("/sqlalchemy/", "SQL (SQLAlchemy, drivers)"),
    ("/aiosqlite/", "SQL (SQLAlchemy, drivers)"),
    ("/asyncpg/", "SQL (SQLAlchemy, drivers)"),
    ("/fediverse/", "our code (fediverse.*)"),
    ("/benchmarks/", "the benchmark itself (polling, progress)"),
    ("/asyncio/", "asyncio event loop"),
    ("selectors.py", "asyncio event loop"),
    ("/concurrent/", "asyncio event loop"),
    ("/threading.py", "asyncio event loop"),
    ("/json/", "JSON"),
)

# Built-in functions (file "~") by a fragment of their name.
BUILTIN_GROUPS: tuple[tuple[str, str], ...] = (
    ("_socket.socket", "socket system calls"),
    ("'send'", "socket system calls"),
    ("'recv'", "socket system calls"),
    ("'connect", "socket system calls"),
    ("'close' of", "socket system calls"),
    ("select.epoll", "asyncio event loop"),
    ("sqlite3", "SQL (SQLAlchemy, drivers)"),
    ("_json", "JSON"),
    ("_thread.lock", "asyncio event loop"),
)


def thread_cpu() -> dict[int, tuple[str, float]]:
    """Return every live thread's CPU seconds so far, by thread id, with its name."""
    clocks: dict[int, tuple[str, float]] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            clock = time.pthread_getcpuclockid(thread.ident)
            clocks[thread.ident] = (thread.name, time.clock_gettime(clock))
        except (OSError, AttributeError):
            continue
    return clocks


def thread_groups(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """Return CPU seconds spent between two snapshots, grouped by what the threads do."""
    groups: dict[str, float] = defaultdict(float)
    for ident, (name, seconds) in after.items():
        spent = seconds - before.get(ident, (name, 0.0))[1]
        label = next((g for pattern, g in THREAD_GROUPS if pattern in name), "other threads")
        groups[label] += spent
    return dict(groups)


def cpu_seconds() -> float:
    """Return this process's user + system CPU seconds (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """Return CPU seconds all processes on this machine spent busy so far (from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    ticks = [int(value) for value in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    # guest time is already counted in user time
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    """Return the 1-minute load average (how busy the shared machine was before a run)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); return whether it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """Return the peak resident set size since the last reset (VmHWM), else since start."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def new_profiler() -> cProfile.Profile:
    """Return a profiler timed by this thread's CPU clock (idle waits cost nothing)."""
    return cProfile.Profile(time.thread_time)


def _group_of(filename: str, function: str) -> str:
    if filename == "~":
        return next((g for pattern, g in BUILTIN_GROUPS if pattern in function), "other built-ins")
    return next((g for pattern, g in PATH_GROUPS if pattern in filename), "other Python")


@dataclass(frozen=True)
class ProfileReport:
    total: float
    own_groups: list[tuple[str, float]]  # self time of each library's own functions
    groups: list[tuple[str, float]]  # built-ins and other stdlib charged to their callers
    top: list[tuple[str, int, float, float]]


FunctionKey = tuple[str, int, str]


def summarise(profiler: cProfile.Profile, top: int = 25) -> ProfileReport:
    """Group a profile's self time by library and list the top functions.

    Two views: each library's own functions, and the same with built-ins and unclassified
    stdlib helpers (socket.py, enum.py, ...) charged to the library that called them, in
    proportion to the calls (pstats keeps self time per caller).
    """
    stats: Any = pstats.Stats(profiler)
    entries: dict[FunctionKey, tuple[int, int, float, float, dict[FunctionKey, Any]]]
    entries = stats.stats
    own_groups: dict[str, float] = defaultdict(float)
    groups: dict[str, float] = defaultdict(float)
    rows: list[tuple[str, int, float, float]] = []
    total = 0.0

    def charge(key: FunctionKey, seconds: float, depth: int) -> None:
        group = _group_of(key[0], key[2])
        callers = entries.get(key, (0, 0, 0.0, 0.0, {}))[4]
        if group not in ("other built-ins", "other Python") or depth > 8 or not callers:
            groups[group] += seconds
            return
        shares = {caller: float(info[2]) for caller, info in callers.items()}
        whole = sum(shares.values())
        for caller, share in shares.items():
            weight = share / whole if whole else 1 / len(shares)
            charge(caller, seconds * weight, depth + 1)

    for key, (_prim, calls, own, cumulative, _callers) in entries.items():
        total += own
        own_groups[_group_of(key[0], key[2])] += own
        charge(key, own, 0)
        rows.append((_describe(*key), calls, own, cumulative))
    rows.sort(key=lambda row: row[2], reverse=True)
    return ProfileReport(
        total=total,
        own_groups=sorted(own_groups.items(), key=lambda item: item[1], reverse=True),
        groups=sorted(groups.items(), key=lambda item: item[1], reverse=True),
        top=rows[:top],
    )


_LIBRARY_PREFIX = re.compile(
    r"^.*?/(site-packages|lib/python3\.\d+)/|^.*?/(?=fediverse/|benchmarks/)"
)


def _describe(filename: str, line: int, function: str) -> str:
    if filename == "~":
        return function
    shortened = _LIBRARY_PREFIX.sub("", filename)
    return f"{shortened}:{line}({function})"

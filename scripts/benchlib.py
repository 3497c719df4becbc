"""Helpers every bench script shares: one percentile, one summary, one memory reading, one
timed `opsbot` command.

Import it from a script in this folder (`from benchlib import percentile`); Python puts
the script's own folder first on sys.path, so no path set-up is needed for it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed_opsbot(*args: str, env: dict[str, str] | None = None) -> float:
    """Seconds one `opsbot ARGS` takes from the repo, as a user runs it (a new process,
    imports included); a failure raises."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, check=True, capture_output=True, cwd=REPO
    )
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1): a measured value, never an interpolation."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max, rounded to 0.01, for a list of latencies."""
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
    }


def mem() -> dict[str, int]:
    """Peak (VmHWM) and current RSS, split into anonymous and file-backed, in bytes."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f if line.startswith(("Vm", "Rss")))
    keys = {"VmHWM": "peak", "VmRSS": "rss", "RssAnon": "anon", "RssFile": "file"}
    return {name: int(fields[key].split()[0]) * 1024 for key, name in keys.items()}

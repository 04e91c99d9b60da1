"""Helpers shared by the benchmark scripts: run a step in a child process and measure it."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import psutil

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def measure(argv: list[str], env: dict | None = None) -> dict:
    """Run a command as a child process; return wall seconds and the child's peak RSS.

    Peak RSS is sampled over the whole process tree every 50 ms (psutil), and also taken from
    the kernel's ru_maxrss of the child; the larger is reported."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(argv, env={**os.environ, **(env or {})})
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed with exit code {proc.returncode}")
    kernel_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"seconds": round(seconds, 1), "peak_rss_gb": round(max(peak, kernel_peak) / 2**30, 2)}


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    # to the second: two runs within a minute must not overwrite each other
    path = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def git_commit() -> str | None:
    """The checkout's commit, recorded with a result (None outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def graphfraud_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "graphfraud", "--quiet", *args]

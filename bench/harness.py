"""Small helpers for long benchmark runs: progress on stderr, /proc figures, stopping children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def step(message: str) -> None:
    """One progress line on stderr: the figures go to stdout."""
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process so far (its own threads, not its children)."""
    f = _stat_fields(pid)
    return (int(f[11]) + int(f[12])) / _CLK_TCK if f else 0.0


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of ``root`` and its direct children alive now (e.g. a postmaster's backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        f = _stat_fields(int(entry.name))
        if f and (int(entry.name) == root or int(f[1]) == root):
            total += (int(f[11]) + int(f[12])) / _CLK_TCK
    return total


def server_cpu_seconds(root: int) -> float:
    """``tree_cpu_seconds`` plus what the children that already exited used (a server's closed
    sessions: the kernel adds them to the parent once it reaps them)."""
    f = _stat_fields(root)
    reaped = (int(f[13]) + int(f[14])) / _CLK_TCK if f else 0.0
    return tree_cpu_seconds(root) + reaped


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM (peak resident set) of a running process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def stop_popen(proc: subprocess.Popen, timeout: float = 30, group: bool = False) -> None:
    """SIGTERM (to its process group when it leads one), wait, then SIGKILL; never raises."""
    if proc.poll() is not None:
        return
    sig_target = (lambda s: os.killpg(proc.pid, s)) if group else proc.send_signal
    try:
        sig_target(signal.SIGTERM)
        proc.wait(timeout)
        return
    except (ProcessLookupError, PermissionError):
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        sig_target(signal.SIGKILL)
        proc.wait(10)
    except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
        pass


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Iterable[float], p: float) -> float:
    """Nearest-rank percentile (with fewer than 100 samples, p99 is the maximum)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


class Deadline:
    """A step's time budget; ``check`` raises once it is spent."""

    def __init__(self, seconds: float, what: str) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def left(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() > self.end

    def check(self, detail: str = "") -> None:
        if self.expired():
            raise TimeoutError(
                f"{self.what} did not finish within {self.seconds:.0f} s"
                + (f": {detail}" if detail else "")
            )

"""Peak resident memory of a process and every process it started, sampled from /proc (Linux)."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(name))
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class TreeMemory:
    """Samples every ``interval`` s until ``stop``: the peak of the sum over the tree, and of
    the root alone (bytes)."""

    root: int
    interval: float = 0.05
    peak_total: int = 0
    peak_root: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        tree = _children()
        pids, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(tree.get(pid, []))
        self.peak_total = max(self.peak_total, sum(_rss(p) for p in pids))
        self.peak_root = max(self.peak_root, _rss(self.root))

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()


def run_measured(
    argv: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], TreeMemory]:
    """Runs ``argv`` to its end, sampling its process tree's memory meanwhile."""
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    memory = TreeMemory(proc.pid)
    sampler = threading.Thread(target=memory.run, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    memory.stop()
    sampler.join()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), memory

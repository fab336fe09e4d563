"""`ledger consume` with every consumer in a process of its own, supervised.

Each consumer is CPU-bound Python; threads in one process share one core (the GIL), so by default
each consumer runs as its own `ledger consume --only NAME` child and the machine's cores work in
parallel. A child that exits while the supervisor is not stopping is restarted with backoff; a
stop request (SIGTERM, Ctrl-C) is passed on and every child is gone within ``grace`` seconds.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: an orphaned child still stops on its own SIGTERM or Ctrl-C


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    failures: int = 0
    restart_at: float | None = None


@dataclass
class ProcessSupervisor:
    names: Sequence[str]
    env: Mapping[str, str] | None = None
    children: list[Child] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "ledger", "consume", "--only", name],
            env=None if self.env is None else dict(self.env),
            preexec_fn=_die_with_parent,
        )

    def start(self) -> None:
        self.children = [Child(name, self.spawn(name)) for name in self.names]

    def watch(self) -> None:
        """One supervision step: restart children that died, once their backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            code = child.process.poll()
            if code is None or self.stopping.is_set():
                continue
            if child.restart_at is None:
                delay = min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2**child.failures)
                child.failures += 1
                child.restart_at = now + delay
                log.error(
                    "consumer %s exited with %s; restarting in %.0f s", child.name, code, delay
                )
            elif now >= child.restart_at:
                child.process = self.spawn(child.name)
                child.restart_at = None
                self.restarts[child.name] = self.restarts.get(child.name, 0) + 1

    def run(self, poll: float = 0.5) -> None:
        while not self.stopping.wait(poll):
            self.watch()

    def stop(self, grace: float = 9.0) -> None:
        self.stopping.set()
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)

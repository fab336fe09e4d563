"""Static group membership: each consumer process keeps one stable ``group.instance.id``.

A dynamic member that dies is noticed only when its session times out (10 s and more), and its
partitions wait that long; a restarted *static* member rejoins under the same instance id and
gets its partitions straight back (KIP-345). The id must be unique among live members, though,
or the broker fences one of them. So a process claims the lowest free *slot* for its consumer
on this host with an advisory lock on a file in the data directory: the lock dies with the
process (even by SIGKILL), so the restarted process claims the same slot and the same id, while
a second live process takes the next slot. ``LEDGER_CONSUMER_INSTANCE`` names the instance
explicitly (a deployment that runs one process per container, say).
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

MAX_SLOTS = 64


@dataclass
class Membership:
    """A claimed instance id; ``release`` (or the process's end) frees its slot."""

    instance_id: str
    lock_fd: int | None = None

    def release(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # closing the descriptor drops the flock
            self.lock_fd = None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:100]


def claim_instance(data_dir: Path, group: str, environ: dict[str, str] | None = None) -> Membership:
    """The instance id for one consumer of ``group`` in this process."""
    env = os.environ if environ is None else environ
    explicit = env.get("LEDGER_CONSUMER_INSTANCE", "").strip()
    if explicit:
        return Membership(f"{_safe(explicit)}-{_safe(group)}")
    members = data_dir / "members"
    members.mkdir(parents=True, exist_ok=True)
    host = _safe(socket.gethostname())
    for slot in range(MAX_SLOTS):
        path = members / f"{_safe(group)}-{slot}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return Membership(f"{host}-{_safe(group)}-{slot}", fd)
    # Every slot taken: fall back to a dynamic member rather than refuse to run.
    return Membership("")

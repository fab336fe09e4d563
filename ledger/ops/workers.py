"""Runs independent pieces of a command (one log, one consumer) in worker processes.

The pieces are CPU-bound Python (hashing, Avro decoding, Kafka record parsing), so threads would
share one core under the GIL; processes use them all. Workers are forked, so they start without
re-importing the ledger; the caller must hold no open connection or Kafka client when it calls.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")

# In a worker: where report() sends progress. None in the parent, where report() does nothing.
_updates: multiprocessing.Queue[int] | None = None
# The work, set before the workers fork: they inherit it, so nothing in it needs to be picklable
# (consumers hold codecs and configurations); only the results travel back.
_work: tuple[Callable[..., Any], Sequence[tuple[Any, ...]]] | None = None


def _run(index: int) -> Any:
    assert _work is not None
    fn, calls = _work
    return fn(*calls[index])


def _start(updates: multiprocessing.Queue[int]) -> None:
    global _updates
    _updates = updates


def report(n: int) -> None:
    """A worker's progress: ``n`` more items done (shown by the parent's progress callback)."""
    if _updates is not None:
        _updates.put(n)


def _drain(
    updates: multiprocessing.Queue[int], progress: Callable[[int], None], wait_s: float
) -> None:
    while True:
        try:
            progress(updates.get(timeout=wait_s) if wait_s else updates.get_nowait())
        except queue.Empty:
            return


def in_processes(
    fn: Callable[..., T],
    calls: Sequence[tuple[Any, ...]],
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> list[T]:
    """``fn(*args)`` for each of ``calls`` in up to ``workers`` forked processes, results in order.

    A worker's exception is raised here (the first, in call order).
    """
    global _work
    context = multiprocessing.get_context("fork")
    _work = (fn, calls)
    updates: multiprocessing.Queue[int] = context.Queue()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start, initargs=(updates,)
    ) as pool:
        futures = [pool.submit(_run, i) for i in range(len(calls))]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if progress is not None:
                _drain(updates, progress, 0)
    _work = None
    if progress is not None:
        _drain(updates, progress, 0.05)  # what the last workers put just before they finished
    return [f.result() for f in futures]

"""Worker processes for verify and replay: results in call order, progress summed, errors raised."""

from __future__ import annotations

import os

import pytest

from ledger.ops import workers


class Unpicklable:
    """Work that cannot be pickled still reaches the workers: they inherit it when they fork."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.callback = lambda n: n  # lambdas do not pickle

    def run(self, n: int) -> tuple[int, int]:
        workers.report(n)
        return self.base + n, os.getpid()


def test_results_come_back_in_call_order_from_other_processes() -> None:
    work = Unpicklable(100)
    seen: list[int] = []
    results = workers.in_processes(work.run, [(n,) for n in range(6)], 2, seen.append)
    assert [r for r, _ in results] == [100, 101, 102, 103, 104, 105]
    assert all(pid != os.getpid() for _, pid in results)
    assert sorted(seen) == [0, 1, 2, 3, 4, 5]


def fails_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n


def test_a_worker_error_is_raised_in_the_caller() -> None:
    with pytest.raises(ValueError, match="three"):
        workers.in_processes(fails_on_three, [(n,) for n in range(5)], 2)

"""ledger.safe_files: regular files only, size caps, JSON depth caps; never a hang or a crash."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.api.statuses import http_status_of
from ledger.cli.exit_codes import exit_code_of
from ledger.exit_codes import ExitCode
from ledger.safe_files import (
    InputRefusedError,
    InputTooDeepError,
    check_depth,
    loads_json,
    open_regular,
    read_bytes,
    read_json,
    read_text,
)


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A FIFO opened the plain way blocks for ever: fail the test instead."""

    def alarm(signum: int, frame: object) -> None:
        raise TimeoutError("the read blocked")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("hello\n")
    assert read_text(tmp_path / "f") == "hello\n"
    assert read_bytes(tmp_path / "f", limit=6) == b"hello\n"


def test_a_symlink_is_refused_even_to_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("secret")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    with pytest.raises(InputRefusedError, match="symbolic link"):
        read_text(tmp_path / "link")


def test_dev_zero_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputRefusedError, match="character device"):
        read_bytes("/dev/zero")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputRefusedError, match="FIFO"):
        open_regular(tmp_path / "fifo")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputRefusedError, match="directory"):
        read_bytes(tmp_path)


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "nowhere")


def test_a_file_over_its_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 101)
    with pytest.raises(InputRefusedError, match="over 100 bytes"):
        read_bytes(tmp_path / "f", limit=100)
    assert len(read_bytes(tmp_path / "f", limit=101)) == 101


def test_deep_json_is_a_named_error_not_a_recursion_error(tmp_path: Path) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(InputTooDeepError) as caught:
        loads_json(deep, "test input")
    assert exit_code_of(caught.value) == ExitCode.INPUT_TOO_DEEP
    assert http_status_of(caught.value) == 422
    (tmp_path / "deep.json").write_text('{"a":' * 100 + "1" + "}" * 100)
    with pytest.raises(InputTooDeepError, match="deeper than 64"):
        read_json(tmp_path / "deep.json")


def test_the_depth_cap_is_exact() -> None:
    def nested(depth: int) -> object:
        value: object = 1
        for _ in range(depth):
            value = [value]
        return value

    check_depth(nested(64), 64, "x")
    with pytest.raises(InputTooDeepError):
        check_depth(nested(65), 64, "x")
    assert loads_json('{"a": [1, {"b": []}]}') == {"a": [1, {"b": []}]}

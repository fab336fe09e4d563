"""Reading a file someone else may have made: regular files only, under a size cap, JSON under a
depth cap.

Every file the ledger reads on a user's say-so (bundle files, ``--file`` inputs, key, rules and
registry files, proofs) is opened here. A symlink could point outside a bundle (``/etc/shadow``)
or at ``/dev/zero``; a FIFO blocks a plain ``open`` forever; a device never ends. So the last
path component is opened with O_NOFOLLOW (a symlink fails with ELOOP) and O_NONBLOCK (a FIFO
opens at once instead of waiting for a writer), and the open descriptor must be a regular file
(``fstat``, so the check and the read are of the same file). Reads stop one byte past the cap.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import IO, Any

from ledger.errors import LedgerError

MiB = 1 << 20
SMALL_LIMIT = 16 * MiB  # keys, checkpoints, rules, proofs, manifests: far below this
INPUT_LIMIT = 2048 * MiB  # the largest `ledger emit --file` read whole
JSON_DEPTH_LIMIT = 64  # the deepest file the ledger writes nests 6 levels


class InputRefusedError(LedgerError):
    """A file is not a regular file (a symlink, FIFO, device, directory) or is over its cap."""


class InputTooDeepError(LedgerError):
    """JSON nests deeper than the ledger reads (it would exhaust the parser's stack)."""


def open_regular(path: Path | str, what: str = "file") -> IO[bytes]:
    """``path`` opened for binary reading, refused unless it is a regular file and no symlink.

    A missing file raises FileNotFoundError as ``open`` does, so callers word that themselves.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputRefusedError(
                f"{what} {path} is a symbolic link; give the file itself."
            ) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputRefusedError(f"{what} {path} is {_kind(mode)}, not a regular file.")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def read_bytes(path: Path | str, limit: int = SMALL_LIMIT, what: str = "file") -> bytes:
    """The whole of a regular file of at most ``limit`` bytes."""
    with open_regular(path, what) as f:
        if os.fstat(f.fileno()).st_size > limit:
            raise InputRefusedError(f"{what} {path} is over {_size(limit)}.")
        data = f.read(limit + 1)  # a file still growing is caught here
    if len(data) > limit:
        raise InputRefusedError(f"{what} {path} is over {_size(limit)}.")
    return data


def read_text(
    path: Path | str, limit: int = SMALL_LIMIT, what: str = "file", errors: str = "strict"
) -> str:
    """A regular file of at most ``limit`` bytes as UTF-8 text (UnicodeDecodeError if not)."""
    return read_bytes(path, limit, what).decode("utf-8", errors=errors)


def loads_json(text: str | bytes, what: str = "input", max_depth: int = JSON_DEPTH_LIMIT) -> Any:
    """``json.loads`` that answers deep nesting with InputTooDeepError, never RecursionError.

    The parser's own recursion limit is caught; what parses is then held to ``max_depth`` too, so
    no later recursive walk (re-keying, dumping) can overflow either.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise InputTooDeepError(f"{what} nests JSON deeper than {max_depth} levels.") from None
    check_depth(value, max_depth, what)
    return value


def check_depth(value: Any, max_depth: int, what: str) -> None:
    """Raises InputTooDeepError when ``value`` nests lists and objects over ``max_depth`` deep
    (iteratively: the check itself cannot overflow)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if not children:
            continue
        if depth > max_depth:
            raise InputTooDeepError(f"{what} nests JSON deeper than {max_depth} levels.")
        stack.extend((child, depth + 1) for child in children)


def read_json(
    path: Path | str,
    limit: int = SMALL_LIMIT,
    what: str = "file",
    max_depth: int = JSON_DEPTH_LIMIT,
) -> Any:
    """A regular JSON file under both caps (ValueError for text that is not JSON)."""
    return loads_json(read_text(path, limit, what), f"{what} {path}", max_depth)


def why(exc: Exception) -> str:
    """What went wrong reading a file, in the words a message needs (no errno, no path)."""
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _size(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit >= MiB else f"{limit} bytes"

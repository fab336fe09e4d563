"""Builds tests/assets/torchwood_verify, a Go program on filippo.io/torchwood v0.10.0, once.

torchwood's ``mpt`` package carries ``//go:build ignore`` in v0.10.0, so its tree.go is copied
from the Go module cache into the program's ``mpt`` directory (tag removed) in a temporary
copy of the program: upstream code is used at test time, never committed. Callers skip only
when the module cannot be fetched (no Go toolchain counts as that)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parent.parent / "assets" / "torchwood_verify"
TOOLCHAIN = "go1.27.3"  # v0.10.0 needs go >= 1.27.0


def go_env() -> dict[str, str]:
    return {**os.environ, "GOTOOLCHAIN": TOOLCHAIN}


def build(workdir: Path) -> Path:
    """The built program (a path to run), or pytest.skip when torchwood cannot be fetched."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain, so filippo.io/torchwood v0.10.0 cannot be fetched")
    src = workdir / "torchwood_verify"
    shutil.copytree(PROGRAM, src)
    fetched = subprocess.run(
        [go, "mod", "download", "-json", "filippo.io/torchwood"],
        cwd=src,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if fetched.returncode != 0:
        pytest.skip(f"filippo.io/torchwood v0.10.0 cannot be fetched: {fetched.stderr[-300:]}")
    module = Path(json.loads(fetched.stdout)["Dir"])
    tree = (module / "mpt" / "tree.go").read_text()
    assert "//go:build ignore\n" in tree, "v0.10.0's mpt is build-ignored; did the pin change?"
    (src / "mpt").mkdir()
    (src / "mpt" / "tree.go").write_text(tree.replace("//go:build ignore\n", "", 1))
    binary = workdir / "torchwood_verify.bin"
    built = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=src,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr
    return binary

"""A plain `pip install .` (not editable) carries everything the ledger needs at run time.

Schemas, migrations, rules defaults and the Kafka pom are package data: the installed `ledger`
must encode, decode and verify from site-packages, run from a directory that is not a checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from consumers.service import start_consumers
from tests.integration.helpers import caught_up, disclosure, isolated_ledger

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECKOUT = Path(__file__).resolve().parents[2]


def test_plain_install_emits_and_verifies_from_site_packages(ledger_settings, tmp_path) -> None:
    venv = tmp_path / "venv"
    # System site-packages provide the dependencies (no network); the ledger itself is built
    # into a wheel and installed into the venv, which comes first on its sys.path.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    build = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(CHECKOUT)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr
    outside = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no checkout on the path
    where = subprocess.run(
        [str(py), "-c", "import ledger; print(ledger.__file__)"],
        env=outside,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(venv)), f"the venv imported {where}, not its own install"

    ledger = isolated_ledger(ledger_settings, "plain")
    env = outside | ledger.environment()
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(json.dumps(disclosure(date(2025, 8, 7), 3, "Plain install")) for _ in range(5))
    )
    cli = str(venv / "bin" / "ledger")
    emitted = subprocess.run(
        [cli, "emit", "--file", str(events)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert emitted.returncode == 0, emitted.stderr
    running = start_consumers(ledger, ["audit_log"])
    try:
        caught_up(ledger, ("audit_log",))
    finally:
        running.stop()
    verified = subprocess.run(
        [cli, "verify"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "5" in verified.stdout

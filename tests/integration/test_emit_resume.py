"""`ledger emit --resume-from`: after a send that stopped part-way, no line is sent twice."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from ledger.config import Settings
from ledger.kafka.offsets import log_end_offsets
from ledger.ops import emit_file
from tests.integration.helpers import cli_env, disclosure, isolated_ledger

pytestmark = pytest.mark.integration
WHEN = "2025-08-07T20:00:00+00:00"


def test_resume_sends_only_the_lines_not_acknowledged_with_the_same_event_ids(
    ledger_settings: Settings, tmp_path: Path
) -> None:
    led = isolated_ledger(ledger_settings, "emitresume")
    path = tmp_path / "six.jsonl"
    path.write_text(
        "".join(json.dumps(disclosure(date(2025, 8, 7), i, "ICE")) + "\n" for i in range(1, 7))
    )
    sha = emit_file.scan(path).sha256
    # What a run that stopped at line 3, with line 5 acknowledged all the same, leaves behind.
    emit_file.ResumeState(sha, WHEN, 3, [5]).save(led.settings.data_dir)
    before = sum(log_end_offsets(led.bootstrap, led.topics.disclosures).values())
    out = subprocess.run(
        [
            shutil.which("ledger") or "ledger",
            "emit",
            "--file",
            str(path),
            "--resume-from",
            "3",
            "--json",
        ],
        env=cli_env(led),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    sent = json.loads(out.stdout)
    derived = emit_file.derived_defaults(sha, WHEN)
    assert [s["event_id"] for s in sent] == [derived(n)["event_id"] for n in (3, 4, 6)]
    after = sum(log_end_offsets(led.bootstrap, led.topics.disclosures).values())
    assert after - before == 3


def test_a_bad_resume_line_is_a_usage_error(ledger_settings: Settings, tmp_path: Path) -> None:
    led = isolated_ledger(ledger_settings, "emitresumebad")
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(disclosure(date(2025, 8, 7), 1, "ICE")) + "\n")
    out = subprocess.run(
        [shutil.which("ledger") or "ledger", "emit", "--file", str(path), "--resume-from", "0"],
        env=cli_env(led),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr

"""The fault suite, short: a three-broker cluster loses no disclosure through the faults that matter.

`python -m bench.faults` runs all six faults over 120,000 disclosures and prints the table; here
four run over a few hundred each (a consumer paused past its session: test_consumer_survival).
"""

from __future__ import annotations

import pytest

from bench.faults import (
    kill_audit_log_consumer,
    kill_leader_broker,
    no_broker_for_20_s,
    restart_postgres,
    run,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_faults_lose_nothing_and_verify() -> None:
    faults = [
        ("leader broker SIGKILL", kill_leader_broker),
        ("audit-log consumer SIGKILL", kill_audit_log_consumer),
        ("PostgreSQL restart", restart_postgres),
        ("no broker for 20 s", no_broker_for_20_s),
    ]
    rows = run(1200, faults)
    assert [r.fault for r in rows] == [name for name, _ in faults]
    for row in rows:
        assert (row.lost, row.duplicated, row.verify, row.replay) == (0, 0, 0, 0), row
        assert "volume" not in row.note, row
    assert rows[-1].events >= 1200

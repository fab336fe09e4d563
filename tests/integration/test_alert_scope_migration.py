"""Migration 005: alerts stored before it get their scope's parts; the append-only guard stays."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest

from ledger.store.alerts import alerts_in_scope
from ledger.store.connection import connection
from ledger.store.migrate import drop_schema, migrate, migration_files
from tests.integration.helpers import migrate_with

pytestmark = pytest.mark.integration

I2 = "26 U.S.C. 6103(i)(2)"
LEGACY = [  # (rule, scope text as the code before 005 stored it, expected parts)
    (
        "spike_over_prior_year",
        "IRS -> recipient U.S. Immigration and Customs Enforcement",
        ("recipient", "IRS", "U.S. Immigration and Customs Enforcement"),
    ),
    ("spike_over_prior_year", f"IRS -> authority {I2}", ("authority", "IRS", I2)),
    (
        "spike_over_prior_year",
        "Internal Revenue Service",
        ("source", "Internal Revenue Service", ""),
    ),
    ("bulk_without_notice", "IRS -> recipient ICE", ("recipient", "IRS", "ICE")),
    ("malformed_event", "t.x.ledger.disclosures/2", (None, None, None)),
]


def test_alerts_stored_before_005_get_their_scope_parts(ledger_settings) -> None:
    admin = ledger_settings.database_url
    schema = f"t_mig005_{uuid.uuid4().hex[:8]}"
    before = [(v, text) for v, _, text in migration_files() if v < 5]
    assert [v for v, _ in before] == [0, 1, 2, 3, 4]
    try:
        migrate_with(admin, schema, before)
        with connection(admin, schema) as conn:
            for rule, scope, _ in LEGACY:
                conn.execute(
                    "INSERT INTO alerts (alert_id, rule, severity, scope, day, observed, evidence,"
                    " legal_source, message) VALUES (%s, %s, 'critical', %s, %s, 1, '{}', 's', 'm')",
                    (uuid.uuid4(), rule, scope, date(2025, 8, 7)),
                )
            conn.commit()
        assert [name for name in migrate(admin, schema) if name.startswith("005_")]
        with connection(admin, schema) as conn:
            parts = dict(
                (scope, (kind, source, value))
                for scope, kind, source, value in conn.execute(
                    "SELECT scope, scope_kind, scope_source, scope_value FROM alerts"
                )
            )
            assert parts == {scope: expected for _, scope, expected in LEGACY}
            (found,) = alerts_in_scope(conn, "authority", "IRS", I2)
            assert found["scope"] == f"IRS -> authority {I2}"
            spikes = alerts_in_scope(conn, "recipient", rule="spike_over_prior_year")
            assert [a["scope_value"] for a in spikes] == [
                "U.S. Immigration and Customs Enforcement"
            ]
            with pytest.raises(psycopg.Error, match="append-only"):  # the guard is back
                conn.execute("UPDATE alerts SET scope_value = 'x'")
    finally:
        drop_schema(admin, schema)

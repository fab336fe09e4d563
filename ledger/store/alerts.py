"""Stores alerts once each (deterministic ids) and reads them back for people and scripts."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ledger.rules.model import AlertDraft

_COLUMNS = (
    "alert_id, rule, severity, scope, day, observed, threshold, evidence, legal_source, message"
)


def insert_new_alerts(conn: psycopg.Connection, drafts: Sequence[AlertDraft]) -> list[AlertDraft]:
    """Inserts the drafts; returns only those that were not stored before (redelivery, replay)."""
    if not drafts:
        return []
    unique = {d.alert_id: d for d in drafts}
    fresh: list[AlertDraft] = []
    with conn.cursor() as cur:
        for draft in unique.values():
            cur.execute(
                f"INSERT INTO alerts ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                " ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id",
                (
                    draft.alert_id,
                    draft.rule,
                    str(draft.severity),
                    draft.scope,
                    draft.day,
                    draft.observed,
                    draft.threshold,
                    list(draft.evidence),
                    draft.legal_source,
                    draft.message,
                ),
            )
            if cur.fetchone() is not None:
                fresh.append(draft)
    return fresh

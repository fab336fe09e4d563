"""Compares a rebuilt schema with the live one, table by table, naming the first difference."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ledger.store.connection import Connection, driver_errors


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    detail: str


COMPARED = (
    (
        "entries",
        ("log_id", "seq"),
        ("kafka_offset", "event_id", "event_type", "value", "leaf_hash", "chain_hash"),
    ),
    ("tree_nodes", ("log_id", "level", "idx"), ("hash",)),
    (
        "disclosures",
        ("event_id",),
        ("disclosure_id", "recipient_agency", "legal_authority", "day", "record_count"),
    ),
    ("disclosure_details", ("event_id",), ("tax_periods", "match_counts", "address_counts")),
    ("requests", ("event_id",), ("request_id", "recipient_agency", "received_at")),
    (
        "daily_volume",
        ("scope_kind", "source_agency", "scope_value", "day"),
        ("disclosures", "records"),
    ),
    (
        "daily_volume_amended",
        ("scope_kind", "source_agency", "scope_value", "day"),
        ("disclosures", "records"),
    ),
    (
        "alerts",
        ("alert_id",),
        ("rule", "scope", "scope_kind", "scope_source", "scope_value", "day"),
    ),
    ("dead_letters", ("consumer", "kafka_topic", "kafka_partition", "kafka_offset"), ("reason",)),
    # The alert lifecycle (migration 007): every status change of every alert, in order, not
    # only where each ended. The judge decides each disclosure with the state every record
    # before it in the log left (ledger/rules/judge.py, property-tested under random batchings),
    # so a replay reproduces the live run's whole history: a difference is a finding.
    ("alert_status", ("alert_id",), ("status",)),
    (
        "alert_status_changes",
        ("alert_id", "seq"),
        ("status", "event_id", "reason", "caused_by", "at"),
    ),
    (
        "disclosure_amendments",
        ("event_id",),
        ("amends_event_id", "seq", "recipient_agency", "day", "record_count", "withdrawn"),
    ),
    ("court_order_changes", ("event_id",), ("order_id", "seq", "kind")),
)


def first_difference(
    conn: Connection,
    live: str,
    replay: str,
    table: str,
    keys: Sequence[str],
    cols: Sequence[str],
) -> Difference | None:
    key_list = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
    differs = sql.SQL(" OR ").join(
        sql.SQL("l.{c} IS DISTINCT FROM r.{c}").format(c=sql.Identifier(c)) for c in cols
    )
    missing = sql.SQL(" OR ").join(
        [
            sql.SQL("l.{} IS NULL").format(sql.Identifier(keys[0])),
            sql.SQL("r.{} IS NULL").format(sql.Identifier(keys[0])),
        ]
    )
    query = sql.SQL(
        "SELECT {keys}, l.{k0} IS NULL AS only_replay, r.{k0} IS NULL AS only_live"
        " FROM {live}.{t} l FULL JOIN {replay}.{t} r USING ({keys})"
        " WHERE {missing} OR {differs} ORDER BY {keys} LIMIT 1"
    ).format(
        keys=key_list,
        k0=sql.Identifier(keys[0]),
        live=sql.Identifier(live),
        replay=sql.Identifier(replay),
        t=sql.Identifier(table),
        missing=missing,
        differs=differs,
    )
    row = conn.execute(query).fetchone()
    if row is None:
        return None
    key = ", ".join(f"{k}={v}" for k, v in zip(keys, row[: len(keys)], strict=True))
    only_replay, only_live = row[len(keys)], row[len(keys) + 1]
    if only_live:
        detail = "present in the live projection only"
    elif only_replay:
        detail = "present in the replay only"
    else:
        detail = f"values of {', '.join(cols)} differ"
    return Difference(table, key, detail)


def compare(admin_url: str, live: str, replay: str) -> list[Difference]:
    found = []
    with driver_errors(), psycopg.connect(admin_url) as conn:
        for table, keys, cols in COMPARED:
            diff = first_difference(conn, live, replay, table, keys, cols)
            if diff:
                found.append(diff)
    return found


def offsets_reached(
    admin_url: str, schema: str, consumers: Sequence[str], ends: Iterable[tuple[str, int, int]]
) -> bool:
    """Every consumer has stored, for every (topic, partition, end), a next offset >= end."""
    query = sql.SQL(
        "SELECT next_offset FROM {}.consumer_offsets"
        " WHERE consumer = %s AND topic = %s AND kafka_partition = %s"
    ).format(sql.Identifier(schema))
    with driver_errors(), psycopg.connect(admin_url, autocommit=True) as conn:
        for topic, partition, end in ends:
            for name in consumers:
                row = conn.execute(query, (name, topic, partition)).fetchone()
                if end > 0 and (row is None or row[0] < end):
                    return False
    return True

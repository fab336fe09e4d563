"""What each recorded disclosure's contents were (a digest), by canonical source and disclosure id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from ledger.store.bulk import copy_rows

Key = tuple[str, str]  # (canonical source id, disclosure id)


def recorded_contents(
    conn: psycopg.Connection, keys: Iterable[Key]
) -> dict[Key, list[tuple[str, bytes]]]:
    """(event id, contents digest) of every recording of each key, in log order."""
    pairs = sorted(set(keys))
    if not pairs:
        return {}
    rows = conn.execute(
        "SELECT c.source_id, c.disclosure_id, c.event_id::text, c.contents_sha256"
        " FROM disclosure_contents c"
        " JOIN unnest(%s::text[], %s::text[]) AS k(source, id)"
        "   ON c.source_id = k.source AND c.disclosure_id = k.id"
        " LEFT JOIN disclosures d USING (event_id)"
        " ORDER BY d.log_id, d.kafka_offset, c.event_id",
        ([p[0] for p in pairs], [p[1] for p in pairs]),
    ).fetchall()
    found: dict[Key, list[tuple[str, bytes]]] = {}
    for source, disclosure_id, event_id, digest in rows:
        found.setdefault((source, disclosure_id), []).append((event_id, bytes(digest)))
    return found


def insert_contents(conn: psycopg.Connection, rows: Sequence[tuple[str, str, str, bytes]]) -> None:
    """Stores (canonical source, disclosure id, event id, contents digest) of new recordings.

    COPY (several times cheaper than binding arrays): a recording's row is written in the
    transaction that stores its disclosure and advances the offset, so none is written twice.
    """
    if not rows:
        return
    copy_rows(
        conn,
        "disclosure_contents",
        ("source_id", "disclosure_id", "event_id", "contents_sha256"),
        ("text", "text", "uuid", "bytea"),
        rows,
    )

"""Rows written in bulk with a binary COPY.

A text COPY escapes every value on the client (a 32-byte hash becomes 66 hex characters, a JSON
rendering is scanned for backslashes and tabs) and parses it again in the server. In binary each
value travels as its type's wire form, so both sides skip that work (docs/benchmarks.md, "Binary
COPY"). Event ids are held as text and stored as ``uuid``: they are sent as their 16 bytes
here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.pq import Format

_UUID_OID = 2950


class _ByOid(str):
    """A marker type: the dumper below is registered for it, and so found by its oid."""


class _UuidFromText(Dumper):
    format = Format.BINARY
    oid = _UUID_OID

    def dump(self, obj: Any) -> bytes:
        text = str(obj)
        if len(text) == 36 and text[8] == text[13] == text[18] == text[23] == "-":
            # canonical, as the codec gives it: the hex digits are the 16 bytes
            return bytes.fromhex(text.replace("-", ""))
        return uuid.UUID(text).bytes


def copy_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    """COPY ``rows`` into ``table``'s ``columns`` (whose PostgreSQL ``types`` are given) in
    binary. ``uuid`` values may be given as text."""
    cur = conn.cursor()
    # Registered on this cursor only, by oid: set_types() picks a column's dumper by its type.
    cur.adapters.register_dumper(_ByOid, _UuidFromText)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cur.copy(statement) as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)

"""The disclosures row type is the table: its fields are the columns of migration 001, in order."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime
from importlib import resources

from ledger.events import DisclosureRecorded
from ledger.store.volume import DISCLOSURE_COLUMNS, DisclosureRow


def table_columns(sql_text: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of each column of ``CREATE TABLE table (...)`` in a migration."""
    body = re.search(rf"CREATE TABLE {table} \((.*?)\n\);", sql_text, re.DOTALL)
    assert body, table
    columns = []
    for line in body.group(1).splitlines():
        words = line.split("--")[0].replace(",", " ").split()
        if words and words[0].isidentifier() and words[0].upper() not in ("PRIMARY", "UNIQUE"):
            columns.append((words[0], words[1]))
    return columns


def test_the_fields_are_the_columns_with_their_types() -> None:
    core = resources.files("ledger.store.migrations").joinpath("001_core.sql").read_text()
    fields = dataclasses.fields(DisclosureRow)
    assert [(f.name, f.metadata["sql"]) for f in fields] == table_columns(core, "disclosures")
    assert tuple(f.name for f in fields) == DISCLOSURE_COLUMNS


def test_a_row_takes_the_event_its_day_and_its_place_in_the_log() -> None:
    sent = datetime(2025, 8, 8, 2, 30, tzinfo=UTC)
    event = DisclosureRecorded(
        event_id="2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c01",
        occurred_at=sent,
        recorded_by="irs",
        disclosure_id="D-1",
        source_agency="IRS",
        recipient_agency="ICE",
        legal_authority="26 U.S.C. 6103(i)(2)",
        purpose="p",
        nature="LAST_KNOWN_ADDRESS",
        transmitted_at=sent,
        record_count=47289,
        tax_periods=("2024",),
        data_categories=("address",),
        notice_id="N-1",
    )
    row = DisclosureRow.of(event, day=date(2025, 8, 7), log_id="t/0", kafka_offset=12)
    assert (row.event_id, row.day, row.log_id, row.kafka_offset) == (
        event.event_id,
        date(2025, 8, 7),
        "t/0",
        12,
    )
    assert (row.record_count, row.notice_id, row.match_method) == (47289, "N-1", None)

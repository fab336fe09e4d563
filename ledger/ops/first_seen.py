"""The scopes first seen while their source warmed up: what new_recipient / new_authority would
have said had they not been silent (a fresh ledger raises nothing on its first day: see
docs/design.md, "History and warm-up")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.rules.config import RulesConfig
from ledger.rules.model import Scope
from ledger.rules.volume_rules import warming_up
from ledger.store import Connection, queries


@dataclass(frozen=True, slots=True)
class FirstSeen:
    scope: str  # as alerts name it: 'IRS -> recipient ICE'
    kind: str
    source: str
    value: str
    first_day: date
    disclosures: int
    records: int


def first_seen(conn: Connection, config: RulesConfig) -> list[FirstSeen]:
    """Recipient and authority scopes whose first day fell in their source's warm-up: scope text
    and parts, first day, that day's disclosures and records; oldest first."""
    return [
        FirstSeen(
            scope=str(Scope(r.scope_kind, r.source_agency, r.scope_value)),
            kind=r.scope_kind,
            source=r.source_agency,
            value=r.scope_value,
            first_day=r.first_day,
            disclosures=r.disclosures,
            records=r.records,
        )
        for r in queries.first_seen(conn)
        if warming_up(
            config.coverage_start.get(r.source_agency, r.coverage_start),
            r.first_day,
            config.warmup_days,
        )
    ]

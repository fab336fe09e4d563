"""What the ledger records about itself: accesses to it and the alerts its rules raise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from ledger.events.base import LedgerEvent


@dataclass(frozen=True, kw_only=True)
class LedgerAccessed(LedgerEvent, writer="ledger"):
    """Someone queried the ledger (oversight of the overseers). Never carries a TIN."""

    accessor: str
    role: str
    action: str
    query: Mapping[str, str] = field(default_factory=dict)
    records_returned: int
    status: int = 200
    token_id: str | None = None  # the API token's id; None for the CLI and unauthenticated calls


@dataclass(frozen=True, kw_only=True)
class AlertRaised(LedgerEvent, writer="ledger"):
    """A rule fired; ``alert_id`` is deterministic (rule + scope + day)."""

    alert_id: str
    rule: str
    severity: str
    scope: str  # the rendered scope (ledger.rules.model.Scope), as stored in alerts.scope
    day: date
    observed: int
    threshold: int | None = None
    evidence: tuple[str, ...]  # event ids (and topic/partition@offset) that caused the alert
    legal_source: str
    message: str

    @property
    def key(self) -> str:
        return self.scope


@dataclass(frozen=True, kw_only=True)
class AlertAcknowledged(LedgerEvent, writer="ledger"):
    """A person on watch acknowledged an alert; acknowledgements are events, never edits."""

    alert_id: str
    acknowledged_by: str
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class AlertResolved(LedgerEvent, writer="ledger"):
    """A later fact no longer supports an alert; the alert stays, its status becomes resolved."""

    alert_id: str
    reason: str
    resolved_by: str  # the event id of the fact that resolved it
    resolved_at: datetime  # when that fact reached the ledger (its broker time)

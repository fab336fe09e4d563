"""Turns alert drafts into AlertRaised events for the ledger.alerts topic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ledger.events import AlertRaised
from ledger.rules.model import AlertDraft

# AlertRaised's own event id derives from the alert id, so a re-publish is recognisably the same.
_EVENT_NS = uuid.UUID("5d0b1b9e-64a4-4f39-9d53-3c0f9d7b7a11")


def alert_event(draft: AlertDraft, recorded_by: str, now: datetime | None = None) -> AlertRaised:
    return AlertRaised(
        event_id=str(uuid.uuid5(_EVENT_NS, str(draft.alert_id))),
        occurred_at=now or datetime.now(UTC),
        recorded_by=recorded_by,
        alert_id=str(draft.alert_id),
        rule=draft.rule,
        severity=str(draft.severity),
        scope=str(draft.scope),
        day=draft.day,
        observed=int(draft.observed),
        threshold=None if draft.threshold is None else int(draft.threshold),
        evidence=tuple(draft.evidence),
        legal_source=draft.legal_source,
        message=draft.message,
    )

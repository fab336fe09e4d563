"""What the rules see and what they produce: facts about events, volume windows, alert drafts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ledger.rules.config import RulesConfig

# Alert ids are UUID5 in this namespace over "rule|scope|day[|discriminator]": the same rule,
# scope and day always give the same id, so redelivery and replay never duplicate an alert.
ALERT_NAMESPACE = uuid.UUID("6e1d3f0c-8b1a-4d8e-9f61-103c0a5e2b7d")


class Severity(StrEnum):
    INFO = "info"  # worth knowing: a new recipient or authority
    WARNING = "warning"  # an early warning or a data-quality problem
    CRITICAL = "critical"  # a legal threshold crossed: prior-year spike, no notice, a stay broken


def alert_id(rule: str, scope: str, day: date, *discriminator: str) -> str:
    return str(
        uuid.uuid5(ALERT_NAMESPACE, "|".join([rule, scope, day.isoformat(), *discriminator]))
    )


@dataclass(frozen=True)
class AlertDraft:
    alert_id: str
    rule: str
    severity: Severity
    scope: str
    day: date
    observed: int
    threshold: int | None
    evidence: list[str]
    legal_source: str
    message: str


@dataclass(frozen=True)
class Scope:
    kind: str  # "recipient", "authority" or "source"
    source: str
    value: str

    def __str__(self) -> str:
        return (
            f"{self.source}"
            if self.kind == "source"
            else f"{self.source} -> {self.kind} {self.value}"
        )


@dataclass(frozen=True)
class ScopeWindow:
    scope: Scope
    day: date
    day_records: int  # including the event being evaluated
    day_disclosures: int
    prior_365_records: int  # day-365 .. day-1
    prior_365_disclosures: int
    trailing_90: list[int] = field(default_factory=list)  # day-90 .. day-1, oldest first


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value


@dataclass(frozen=True)
class DisclosureFacts:
    event_id: str
    disclosure_id: str
    source_agency: str
    recipient_agency: str
    legal_authority: str
    transmitted_at: datetime
    day: date
    record_count: int
    match_method: str | None
    address_verification: str | None
    notice_id: str | None

    @classmethod
    def from_record(cls, rec: dict[str, Any], tz: ZoneInfo) -> DisclosureFacts:
        sent = _utc(rec["transmitted_at"])
        return cls(
            event_id=str(rec["event_id"]),
            disclosure_id=rec["disclosure_id"],
            source_agency=rec["source_agency"],
            recipient_agency=rec["recipient_agency"],
            legal_authority=rec.get("legal_authority") or "",
            transmitted_at=sent,
            day=sent.astimezone(tz).date(),
            record_count=int(rec["record_count"]),
            match_method=rec.get("match_method"),
            address_verification=rec.get("address_verification"),
            notice_id=rec.get("notice_id"),
        )


@dataclass(frozen=True)
class NoticeFacts:
    event_id: str
    notice_id: str
    case_reference: str
    filed_at: datetime
    recipient_agency: str
    legal_authority: str
    planned_start: datetime
    planned_end: datetime
    expected_record_count: int

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> NoticeFacts:
        return cls(
            event_id=str(rec["event_id"]),
            notice_id=rec["notice_id"],
            case_reference=rec["case_reference"],
            filed_at=_utc(rec["filed_at"]),
            recipient_agency=rec["recipient_agency"],
            legal_authority=rec["legal_authority"],
            planned_start=_utc(rec["planned_transmission_start"]),
            planned_end=_utc(rec["planned_transmission_end"]),
            expected_record_count=int(rec["expected_record_count"]),
        )


@dataclass(frozen=True)
class CourtOrderFacts:
    event_id: str
    order_id: str
    case_reference: str
    order_type: str
    effective_at: datetime
    expires_at: datetime | None
    recipients: tuple[str, ...]
    authorities: tuple[str, ...]
    bulk_threshold: int | None
    notice_hours: int

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> CourtOrderFacts:
        return cls(
            event_id=str(rec["event_id"]),
            order_id=rec["order_id"],
            case_reference=rec["case_reference"],
            order_type=rec["order_type"],
            effective_at=_utc(rec["effective_at"]),
            expires_at=_utc(rec["expires_at"]) if rec.get("expires_at") else None,
            recipients=tuple(rec.get("recipients") or ()),
            authorities=tuple(rec.get("authorities") or ()),
            bulk_threshold=rec.get("bulk_threshold"),
            notice_hours=int(rec.get("notice_hours") or 24),
        )

    def in_force(self, at: datetime) -> bool:
        return self.effective_at <= at and (self.expires_at is None or at < self.expires_at)

    def covers(self, recipient: str, authority: str) -> bool:
        from ledger.rules.authorities import same_authority

        recipient_ok = not self.recipients or recipient in self.recipients
        authority_ok = not self.authorities or any(
            same_authority(a, authority) for a in self.authorities
        )
        return recipient_ok and authority_ok

    @property
    def notice_delta(self) -> timedelta:
        return timedelta(hours=self.notice_hours)


@dataclass(frozen=True)
class RuleContext:
    disclosure: DisclosureFacts
    windows: dict[str, ScopeWindow]  # by scope kind
    coverage_start: date
    orders_in_force: list[CourtOrderFacts]
    notices: list[NoticeFacts]
    config: RulesConfig

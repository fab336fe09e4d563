"""The rows the officials' queries read, as typed records (psycopg ``class_row`` builds them).

Field order is the order the queries select them in: the CLI's JSON prints them in that order,
and the API's response models pick their fields by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class DisclosureRow:
    event_id: str
    disclosure_id: str
    day: date
    transmitted_at: datetime
    source_agency: str
    recipient_agency: str
    legal_authority: str
    purpose: str
    nature: str
    record_count: int
    match_method: str | None
    address_verification: str | None
    notice_id: str | None
    log_id: str
    kafka_offset: int


@dataclass(frozen=True, slots=True)
class VolumeDayRow:
    """One scope's day: ``records`` and ``disclosures`` as first recorded (the rules judge
    these), ``*_as_amended`` what the discloser's amendments and withdrawals would leave."""

    day: date
    source_agency: str
    scope_value: str  # '' for a whole source
    disclosures: int
    records: int
    prior_365_records: int
    disclosures_as_amended: int
    records_as_amended: int


@dataclass(frozen=True, slots=True)
class AlertRow:
    alert_id: str
    rule: str
    severity: str
    scope: str
    scope_kind: str | None  # None: an alert stored before scopes had parts
    scope_source: str | None
    scope_value: str | None
    day: date
    observed: int
    threshold: int | None
    evidence: list[str]
    legal_source: str
    message: str
    fired_at: datetime
    status: str  # "open" or "resolved"
    status_reason: str | None
    delivery: str  # "endpoint:outcome, ..." or ''
    acknowledged_by: str  # names, or ''


@dataclass(frozen=True, slots=True)
class FirstDayRow:
    """A recipient or authority scope's first day in daily_volume, and its source's first day."""

    scope_kind: str
    source_agency: str
    scope_value: str
    first_day: date
    disclosures: int
    records: int
    coverage_start: date


@dataclass(frozen=True, slots=True)
class WarmingUpSource:
    source_agency: str
    coverage_start: date
    latest_day: date
    active_from: date

"""What the court and the parties record: orders and the notices they require."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.events.base import LedgerEvent, OrderType


@dataclass(frozen=True, kw_only=True)
class NoticeFiled(LedgerEvent, writer="court"):
    """Advance notice of a planned transmission, filed with the court and served on plaintiffs."""

    notice_id: str
    case_reference: str
    filed_at: datetime
    served_on: tuple[str, ...]
    recipient_agency: str
    legal_authority: str
    planned_transmission_start: datetime
    planned_transmission_end: datetime
    expected_record_count: int


@dataclass(frozen=True, kw_only=True)
class CourtOrderRecorded(LedgerEvent, writer="court"):
    """A court order that constrains disclosures; empty recipients/authorities mean every one."""

    order_id: str
    case_reference: str
    court: str
    order_type: OrderType
    entered_at: datetime
    effective_at: datetime
    expires_at: datetime | None = None
    recipients: tuple[str, ...] = ()
    authorities: tuple[str, ...] = ()
    bulk_threshold: int | None = None  # NOTICE_REQUIREMENT: records at or above need notice
    notice_hours: int | None = None  # NOTICE_REQUIREMENT: hours of notice (24 when None)
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class CourtOrderAmended(LedgerEvent, writer="court"):
    """The court amended an order; each field given (not None) replaces that term of the order."""

    order_id: str
    amended_at: datetime
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    recipients: tuple[str, ...] | None = None  # () means every recipient; None leaves them
    authorities: tuple[str, ...] | None = None
    bulk_threshold: int | None = None
    notice_hours: int | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CourtOrderVacated(LedgerEvent, writer="court"):
    """The court vacated an order: it ends at ``vacated_at``, or never bound anyone (ab initio)."""

    order_id: str
    vacated_at: datetime
    ab_initio: bool = False
    reason: str = ""

"""Response shapes: the OpenAPI document the schemathesis test holds the API to."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    error: str


class Health(BaseModel):
    status: str


# Built from the store's typed rows (ledger/store/query_rows.py) by attribute.
FROM_ROWS = ConfigDict(from_attributes=True)


class Disclosure(BaseModel):
    model_config = FROM_ROWS
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


class DisclosurePage(BaseModel):
    total: int
    limit: int
    offset: int
    disclosures: list[Disclosure]


class VolumeDay(BaseModel):
    model_config = FROM_ROWS
    day: date
    source_agency: str
    scope_value: str
    disclosures: int  # as first recorded: counts only go up, and the rules judge these
    records: int
    prior_365_records: int
    disclosures_as_amended: int  # what the discloser's amendments and withdrawals would leave
    records_as_amended: int


class VolumeSeries(BaseModel):
    kind: str
    limit: int
    offset: int
    more: bool
    days: list[VolumeDay]


class Alert(BaseModel):
    model_config = FROM_ROWS
    alert_id: str
    rule: str
    severity: str
    scope: str
    day: date
    observed: int
    threshold: int | None
    evidence: list[str]
    legal_source: str
    message: str
    fired_at: datetime
    delivery: str
    acknowledged_by: str
    status: str  # "open" or "resolved"
    status_reason: str | None = None  # why it was resolved (or opened again)


class FirstSeen(BaseModel):
    model_config = FROM_ROWS
    scope: str
    kind: str
    source: str
    value: str
    first_day: date
    disclosures: int
    records: int


class Alerts(BaseModel):
    """``counts`` (rule -> alerts) for the public role; ``alerts`` for overseers and auditors
    (open critical first, then newest first; ``more`` follow, from ``?cursor=next_cursor``),
    or with ``first_seen=true`` the scopes first seen while their source warmed up."""

    counts: dict[str, int] | None = None
    alerts: list[Alert] | None = None
    more: int | None = None  # alerts after this page
    next_cursor: str | None = None  # absent on the last page
    first_seen: list[FirstSeen] | None = None


class Notices(BaseModel):
    limit: int
    offset: int
    more: bool
    notices: list[dict[str, Any]]


class CourtOrders(BaseModel):
    limit: int
    offset: int
    more: bool
    court_orders: list[dict[str, Any]]


class Checkpoint(BaseModel):
    log_id: str
    tree_size: int
    note: str
    signed_at: datetime


class Checkpoints(BaseModel):
    checkpoints: list[Checkpoint]


class Entry(BaseModel):
    log_id: str
    seq: int
    kafka_offset: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    body: dict[str, Any]
    taxpayer_refs_withheld: int | None = None


class InclusionProof(BaseModel):
    """RFC 6962 inclusion proof. ``value`` (base64 message bytes) is absent when withheld: the
    message carries taxpayer refs and the caller is below the auditor role; ``leaf_hash`` is
    SHA-256(0x00 || value) and is what the proof proves."""

    model_config = ConfigDict(extra="allow")
    log: str
    leaf_index: int
    tree_size: int
    leaf_hash: str
    value: str | None = None
    value_withheld: str | None = None
    hashes: list[str]
    checkpoint: str


class EntryWithProof(BaseModel):
    entry: Entry
    proof: InclusionProof


class AccountingRequest(BaseModel):
    tin: str
    index_proof: bool = False  # docs/mpt.md: add the taxpayer index's proof


class AccountingRow(BaseModel):
    day: date
    transmitted_at: datetime
    recipient_agency: str
    legal_authority: str
    purpose: str
    nature: str
    disclosure_id: str
    recipient_address: str | None = None
    tax_periods: list[str] = []
    # 5 U.S.C. 552a(c)(3), (j)(2), (k)(2): law-enforcement (6103(i)) disclosures
    withheld_from_individual: bool = False
    # docs/reports.md: the source, as amended beside as first recorded, the refs' reconciliation
    source_agency: str | None = None
    event_id: str | None = None
    record_count: int | None = None
    withdrawn: bool = False
    amended: bool = False
    first_day: date | None = None
    first_recipient_agency: str | None = None
    first_legal_authority: str | None = None
    first_record_count: int | None = None
    listed_taxpayers: int | None = None
    refs_reconcile: bool | None = None
    refs_note: str | None = None


class Accounting(BaseModel):
    disclosures: list[AccountingRow]
    index_proof: dict[str, Any] | None = None
    coverage: str | None = None  # what "none" covers: disclosures without refs are not checked
    basis: str | None = None  # 5 U.S.C. 552a(c)(3); 26 U.S.C. 6103(p)(3)(A)


class P3CLine(BaseModel):
    recipient: str
    subsection: str
    requests: int
    transmissions: int
    records: int
    disclosures: int  # records x tax periods: the JCT's unit
    taxpayers: int | None = None  # distinct refs listed; None: no transmission lists any
    transmissions_without_refs: int = 0
    amended: int = 0  # transmissions amended or withdrawn since (counts are as first recorded)
    records_as_amended: int = 0


class P3CReport(BaseModel):
    year: int
    timezone: str
    source: str | None = None
    unit: str
    rows: list[P3CLine]  # the last two are the 6103(i) subtotal and TOTALS


class OrderTerms(BaseModel):
    """One span of an order's terms over time (amendments apply from their own start)."""

    model_config = ConfigDict(populate_by_name=True)
    from_: datetime | None = Field(alias="from")
    until: datetime | None
    recipients: list[str]
    authorities: list[str]
    bulk_threshold: int | None
    notice_hours: int | None


class OrderChange(BaseModel):
    kind: str  # amended / vacated
    event_id: str
    received_at: datetime | None
    note: str
    reason: str


class OrderTransmission(BaseModel):
    disclosure_id: str
    event_id: str
    transmitted_at: datetime
    recipient: str
    authority: str
    terms_from: datetime | None  # the terms in force at the transmission
    notice_hours: int | None
    bulk_threshold: int | None
    notice_id: str | None
    notice_event_id: str | None
    notice_served_on: list[str] | None
    notice_filed_at: datetime | None
    notice_received_at: datetime | None
    lead_hours: float | None
    noticed_records: int | None
    actual_records: int
    status: str  # violation / complied / not bulk
    problem: str | None
    alert_id: str | None
    alert_status: str  # open / contested / resolved / none
    agrees_with_alert: bool


class OrderReport(BaseModel):
    order_id: str
    order_type: str
    case_reference: str
    event_id: str
    received_at: datetime | None
    notice_hours: int | None  # as first recorded; `terms` has them over time
    bulk_threshold: int | None
    terms: list[OrderTerms]
    changes: list[OrderChange]
    transmissions: list[OrderTransmission]
    violations: int
    disagreements: int


class StaysReport(BaseModel):
    orders: list[OrderReport]

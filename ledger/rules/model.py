"""What the rules see and what they produce: facts about events, volume windows, alert drafts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from ledger.events import CourtOrderRecorded, DisclosureRecorded, NoticeFiled
from ledger.rules.fields_of import fields_of
from ledger.rules.registry import Flow, Registry
from ledger.rules.requests import RequestFacts
from ledger.rules.volume_book import Trailing

if TYPE_CHECKING:
    from ledger.rules.config import RulesConfig


# Alert ids are UUID5 in this namespace over "rule|scope|day[|discriminator]": the same rule,
# scope and day always give the same id, so redelivery and replay never duplicate an alert.
class ScopeKind(StrEnum):
    """The kinds of volume scope, defined once (CLI, API, dashboard and SQL checks use these)."""

    RECIPIENT = "recipient"
    AUTHORITY = "authority"
    PAIR = "pair"
    SOURCE = "source"


SCOPE_KINDS: tuple[str, ...] = tuple(k.value for k in ScopeKind)
SCOPE_KIND_PATTERN = f"^({'|'.join(SCOPE_KINDS)})$"  # for query parameters

ALERT_NAMESPACE = uuid.UUID("6e1d3f0c-8b1a-4d8e-9f61-103c0a5e2b7d")


class Severity(StrEnum):
    INFO = "info"  # worth knowing: a new recipient or authority
    WARNING = "warning"  # an early warning or a data-quality problem
    CRITICAL = "critical"  # a legal threshold crossed: prior-year spike, no notice, a stay broken


def alert_id(rule: str, scope: str | Scope | LogScope, day: date, *discriminator: str) -> str:
    """UUID5 over "rule|scope|day[|discriminator]", the scope as its stored text."""
    return str(
        uuid.uuid5(ALERT_NAMESPACE, "|".join([rule, str(scope), day.isoformat(), *discriminator]))
    )


@dataclass(frozen=True)
class Scope:
    """A volume scope: (source, recipient), (source, authority), (source, recipient under
    authority) or the source as a whole, each named by registry ids. A recipient scope counts its
    agency and the agencies within it (DHS holds ICE's disclosures too), an authority scope its
    citation and those within it (6103(i) holds 6103(i)(2)).

    Its text (``str(scope)``) is what ``alerts.scope`` and AlertRaised events hold and what alert
    ids are derived from, so that format never changes. Its parts are stored beside it
    (``alerts.scope_kind``, ``scope_source``, ``scope_value``): nothing parses the text back.
    """

    kind: str  # "recipient", "authority", "pair" or "source"
    source: str
    value: str  # the recipient, the authority, "ICE under 6103(i)(2)", or "" for the source

    def __str__(self) -> str:
        if self.kind == "source":
            return self.source
        if self.kind == "pair":
            return f"{self.source} -> {self.value}"
        return f"{self.source} -> {self.kind} {self.value}"


@dataclass(frozen=True)
class LogScope:
    """What a malformed_event alert is about: one partition of a topic, not a volume scope."""

    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}"


@dataclass(frozen=True, kw_only=True)
class AlertDraft:
    """An alert a rule raises, before it is stored (once: ``alert_id`` is deterministic)."""

    alert_id: str
    rule: str
    severity: Severity
    scope: Scope | LogScope
    day: date
    observed: int
    threshold: int | None
    evidence: list[str]
    legal_source: str
    message: str

    @classmethod
    def about(
        cls,
        rule: str,
        severity: Severity,
        scope: Scope | LogScope,
        day: date,
        *discriminator: str,
        observed: int,
        threshold: int | None = None,
        evidence: list[str],
        legal_source: str,
        message: str,
    ) -> AlertDraft:
        """The alert ``rule`` raises on ``scope`` and ``day``, its id derived from those and
        ``discriminator`` (see alert_id): the one place a draft's id is worked out."""
        return cls(
            alert_id=alert_id(rule, scope, day, *discriminator),
            rule=rule,
            severity=severity,
            scope=scope,
            day=day,
            observed=observed,
            threshold=threshold,
            evidence=evidence,
            legal_source=legal_source,
            message=message,
        )


class ScopeWindow(NamedTuple):
    """One scope's day as the rules see it. A named tuple, not a frozen dataclass: eight are
    built per disclosure, and a tuple is built in a third of the time."""

    scope: Scope
    day: date
    day_records: int  # including the event being evaluated
    day_disclosures: int
    prior_365_records: int  # day-365 .. day-1
    prior_365_disclosures: int
    trailing_90: tuple[int, ...] = ()  # day-90 .. day-1, oldest first
    own: bool = True  # the disclosure's own recipient/authority, not a parent agency or family
    sustained: Trailing | None = None  # a trailing window that starts exceeding its prior year


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
    request_id: str | None = None
    # Match quality as counts (DisclosureRecorded v2), sorted (category, records) pairs.
    match_counts: tuple[tuple[str, int], ...] = ()
    address_counts: tuple[tuple[str, int], ...] = ()
    tax_periods: tuple[str, ...] = ()  # what a request must have set forth

    @classmethod
    def from_event(cls, event: DisclosureRecorded, tz: ZoneInfo) -> DisclosureFacts:
        return fields_of(
            cls,
            event,
            day=event.transmitted_at.astimezone(tz).date(),
            match_counts=tuple(sorted(event.match_counts.items())),
            address_counts=tuple(sorted(event.address_counts.items())),
        )

    @classmethod
    def from_record(cls, rec: Mapping[str, Any], tz: ZoneInfo) -> DisclosureFacts:
        """From a stored JSON rendering of the event (ISO 8601 times), for readers of the tables."""
        return cls.from_event(DisclosureRecorded.from_json(rec), tz)


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
    served_on: tuple[str, ...] = ()

    @classmethod
    def from_event(cls, event: NoticeFiled) -> NoticeFacts:
        return fields_of(
            cls,
            event,
            planned_start=event.planned_transmission_start,
            planned_end=event.planned_transmission_end,
        )

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> NoticeFacts:
        """From a stored JSON rendering of the event (``notices.record``)."""
        return cls.from_event(NoticeFiled.from_json(rec))


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
    def from_event(cls, event: CourtOrderRecorded) -> CourtOrderFacts:
        return fields_of(cls, event, notice_hours=event.notice_hours or 24)

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> CourtOrderFacts:
        """From a stored JSON rendering of the event (``court_orders.record``)."""
        return cls.from_event(CourtOrderRecorded.from_json(rec))

    def in_force(self, at: datetime) -> bool:
        return self.effective_at <= at and (self.expires_at is None or at < self.expires_at)

    def covers(self, recipient: str, authority: str, registry: Registry) -> bool:
        """By canonical id and ancestry: an order naming DHS covers ICE, one naming 6103(i)
        covers 6103(i)(2)(A); spelling does not matter. An order naming ICE also covers data sent
        to DHS (routed through the parent), and an unknown recipient could be any agency, so
        every order covers it until the registry maps it (``Registry.could_be``)."""
        authorities = registry.authority(authority).chain
        recipient_ok = not self.recipients or any(
            registry.could_be(r, recipient) for r in self.recipients
        )
        authority_ok = not self.authorities or any(
            registry.authority(a).id in authorities for a in self.authorities
        )
        return recipient_ok and authority_ok

    @property
    def notice_delta(self) -> timedelta:
        return timedelta(hours=self.notice_hours)


@dataclass(frozen=True)
class RuleContext:
    disclosure: DisclosureFacts
    # The scopes the disclosure counts under that a rule may speak on (judge.speaking_windows),
    # always with its own recipient's.
    windows: list[ScopeWindow]
    coverage_start: date
    orders_in_force: list[CourtOrderFacts]
    notices: list[NoticeFacts]
    config: RulesConfig
    flow: Flow | None = None  # resolved from ``disclosure`` by the registry when not given
    # The requests the disclosure cites, by request_id, loaded by the consumer (rules do no I/O);
    # a cited id missing here is one the ledger has not seen.
    requests: Mapping[str, RequestFacts] = field(default_factory=dict)
    # Records of earlier transmissions each notice (by notice_id) already covered: a notice
    # covers only the record count it announced, summed over its transmissions.
    notice_use: dict[str, int] = field(default_factory=dict)
    # Earlier transmissions of the same day (ledger time zone), loaded by the consumer when a
    # notice order may count the day's records together (ledger.rules.notices.day_records).
    same_day: list[DisclosureFacts] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.flow is None:
            d = self.disclosure
            flow = self.config.registry.flow(d.source_agency, d.recipient_agency, d.legal_authority)
            object.__setattr__(self, "flow", flow)

    @property
    def resolved(self) -> Flow:
        assert self.flow is not None  # set in __post_init__
        return self.flow

    def window(self, kind: str) -> ScopeWindow | None:
        """The disclosure's own scope of ``kind`` (not a parent agency or authority family)."""
        return next((w for w in self.windows if w.own and w.scope.kind == kind), None)

"""What a request for disclosure sets forth, and which 6103(i)(2)(B) elements it lacks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledger.events.requests import DisclosureRequested
from ledger.rules.fields_of import fields_of


@dataclass(frozen=True)
class RequestFacts:
    """A DisclosureRequested as the rules see it (taxpayers as counts only)."""

    event_id: str
    request_id: str
    requesting_agency: str
    recipient_agency: str
    requesting_official: str | None
    requesting_official_title: str | None
    received_at: datetime
    legal_authority: str | None
    statutes: tuple[str, ...]
    reasons: str | None
    taxpayer_count: int
    names_set_forth: int
    addresses_set_forth: int
    tins_set_forth: int
    tax_periods: tuple[str, ...]

    @classmethod
    def from_event(cls, event: DisclosureRequested) -> RequestFacts:
        return fields_of(cls, event, recipient_agency=event.recipient)

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> RequestFacts:
        """From a stored JSON rendering of the event (``requests.record``)."""
        return cls.from_event(DisclosureRequested.from_json(rec))


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _of(count: int, total: int, what: str) -> str:
    return f"{what} for {total - count:,} of {total:,} taxpayers"


def missing_elements(r: RequestFacts) -> list[str]:
    """The 6103(i)(2)(A)-(B) elements request ``r`` does not set forth, in the statute's order.

    (A): a written request signed by the head of the agency (or its inspector general), so the
    official and title. (B): the taxpayer's name and address, the tax periods, the statutory
    authority under which the proceeding is conducted, and the specific reasons. The statutes
    under investigation are how the request shows the matter is a non-tax criminal one. A TIN is
    not an element of (B): ``tins_set_forth`` is recorded for the match, never required.
    """
    missing = []
    if _blank(r.requesting_official):
        missing.append("the requesting official")
    if _blank(r.requesting_official_title):
        missing.append("the official's title")
    if r.taxpayer_count <= 0:
        missing.append("any taxpayer")
    else:
        if r.names_set_forth < r.taxpayer_count:
            missing.append(_of(r.names_set_forth, r.taxpayer_count, "names"))
        if r.addresses_set_forth < r.taxpayer_count:
            missing.append(_of(r.addresses_set_forth, r.taxpayer_count, "addresses"))
    if not r.tax_periods:
        missing.append("the tax periods")
    if _blank(r.legal_authority):
        missing.append("the legal authority")
    if not [s for s in r.statutes if s.strip()]:
        missing.append("the statutes under investigation")
    if _blank(r.reasons):
        missing.append("the specific reasons")
    return missing


def coverage_problems(
    r: RequestFacts, transmitted_at: datetime, record_count: int, tax_periods: Sequence[str]
) -> list[str]:
    """What a disclosure takes that request ``r`` did not ask for: a request received after the
    transmission (whatever it says, it could not have been the ground for it), more taxpayers'
    records than it set forth, or tax periods it did not name (26 U.S.C. 6103(i)(2)(B)(ii))."""
    problems = []
    if r.received_at > transmitted_at:
        late = r.received_at - transmitted_at
        problems.append(f"request {r.request_id} was received {_span(late)} after the transmission")
    if record_count > r.taxpayer_count:
        problems.append(
            f"request {r.request_id} names {r.taxpayer_count:,} taxpayers, not {record_count:,}"
        )
    asked = {p.strip() for p in r.tax_periods}
    beyond = sorted({p.strip() for p in tax_periods} - asked)
    if beyond:
        problems.append(f"request {r.request_id} does not name tax period(s) {', '.join(beyond)}")
    return problems


def _span(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days {hours % 24} hours" if hours >= 24 else f"{hours} hours"

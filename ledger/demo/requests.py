"""The written requests behind the demo's 6103(i)(2) disclosures (what request_incomplete checks).

The ordinary year's are complete. The spike's, like ICE's in 2025, names every taxpayer but sets
forth an address for only 4,594 of the 47,289: the D.D.C. counted about 42,695 disclosures
released without one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from ledger.events import DisclosureRecorded, DisclosureRequested, LedgerEvent
from ledger.rules.authorities import citation_family

_NS = uuid.UUID("0b8f8f0e-6d0a-4a51-9a43-6103b2000002")
SPIKE_WITHOUT_ADDRESS = 42_695
_OFFICIALS = {
    "U.S. Immigration and Customs Enforcement": (
        "Secretary of Homeland Security",
        "500 12th St SW, Washington, DC 20536",
    ),
}
_DEFAULT_OFFICIAL = ("Attorney General", "950 Pennsylvania Ave NW, Washington, DC 20530")


def request_for(d: DisclosureRecorded, *, addresses: int | None = None) -> DisclosureRequested:
    """The request ``d`` cites, received three days before it: complete unless ``addresses``
    says how many taxpayers it gave an address for."""
    assert d.request_id, "demo disclosures cite their request"
    title, address = _OFFICIALS.get(d.recipient_agency, _DEFAULT_OFFICIAL)
    received = d.transmitted_at - timedelta(days=3)
    return DisclosureRequested(
        event_id=str(uuid.uuid5(_NS, f"request-{d.request_id}")),
        occurred_at=received,
        recorded_by="irs-disclosure-office",
        request_id=d.request_id,
        source_agency=d.source_agency,
        requesting_agency=d.recipient_agency,
        requesting_official="(agency head)",
        requesting_official_title=title,
        received_at=received,
        legal_authority=d.legal_authority,
        statutes=("18 U.S.C. 1001",),
        reasons=d.purpose or "Non-tax criminal investigation",
        taxpayer_count=d.record_count,
        names_set_forth=d.record_count,
        addresses_set_forth=d.record_count if addresses is None else addresses,
        tins_set_forth=d.record_count,
        tax_periods=d.tax_periods,
        recipient_address=address,
    )


def requests_for(events: Iterable[LedgerEvent]) -> list[DisclosureRequested]:
    """A complete request for every 6103(i)(2) disclosure among ``events``."""
    return [
        request_for(e)
        for e in events
        if isinstance(e, DisclosureRecorded)
        and e.request_id
        and "6103(i)(2)" in citation_family(e.legal_authority)
    ]


def spike_request(spike: DisclosureRecorded) -> DisclosureRequested:
    return request_for(spike, addresses=spike.record_count - SPIKE_WITHOUT_ADDRESS)

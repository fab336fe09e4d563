"""Requests for disclosure: what an agency asked for, as received, before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.events.base import LedgerEvent


@dataclass(frozen=True, kw_only=True)
class DisclosureRequested(LedgerEvent, writer="agency"):
    """A written request with the 26 U.S.C. 6103(i)(2)(B) elements; taxpayers only as counts.

    An element the request did not set forth stays at its default (None, empty, 0), so the
    request_incomplete rule can say which are missing.
    """

    request_id: str
    source_agency: str  # the agency asked
    requesting_agency: str
    recipient_agency: str | None = None  # when it is not the requesting agency
    requesting_official: str | None = None
    requesting_official_title: str | None = None
    received_at: datetime
    legal_authority: str | None = None
    statutes: tuple[str, ...] = ()  # the non-tax criminal statutes under investigation
    reasons: str | None = None
    taxpayer_count: int = 0
    names_set_forth: int = 0
    addresses_set_forth: int = 0
    tins_set_forth: int = 0
    tax_periods: tuple[str, ...] = ()
    recipient_address: str | None = None

    @property
    def recipient(self) -> str:
        """Who receives what is disclosed on this request: the agency its disclosures name."""
        return self.recipient_agency or self.requesting_agency

    @property
    def key(self) -> str:
        # The recipient, like DisclosureRecorded: a request and its disclosures share a partition.
        return self.recipient

    def problems(self) -> list[str]:
        counted = {
            "names_set_forth": self.names_set_forth,
            "addresses_set_forth": self.addresses_set_forth,
            "tins_set_forth": self.tins_set_forth,
        }
        return [
            f"{name} exceeds taxpayer_count"
            for name, count in counted.items()
            if count > self.taxpayer_count
        ]

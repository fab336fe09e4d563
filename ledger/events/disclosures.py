"""Disclosures: what was sent, to whom, under which authority, and corrections to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from ledger.events.base import AddressVerification, LedgerEvent, MatchMethod

MATCH_METHODS = frozenset(get_args(MatchMethod))
ADDRESS_STATUSES = frozenset(get_args(AddressVerification))


def count_map_problems(
    name: str, counts: Mapping[str, int], allowed: frozenset[str], total: int
) -> list[str]:
    """Why a map of category -> count cannot describe ``total`` records (never the keys)."""
    problems = []
    if any(key not in allowed for key in counts):
        problems.append(f"{name} keys must be among {', '.join(sorted(allowed))}")
    if sum(counts.values()) > total:
        problems.append(f"{name} add up to more than record_count")
    return problems


@dataclass(frozen=True, kw_only=True)
class DisclosureRecorded(LedgerEvent, writer="agency"):
    """One transmission of taxpayer data from a source agency to a recipient."""

    disclosure_id: str
    request_id: str | None = None
    source_agency: str
    recipient_agency: str
    recipient_address: str | None = None
    legal_authority: str  # e.g. 26 U.S.C. 6103(i)(2)
    purpose: str
    nature: str  # e.g. LAST_KNOWN_ADDRESS, TRANSCRIPT
    transmitted_at: datetime
    transmission_channel: str | None = None
    record_count: int  # taxpayer records: the unit of volume
    tax_periods: tuple[str, ...]
    data_categories: tuple[str, ...]
    match_method: MatchMethod | None = None
    address_verification: AddressVerification | None = None
    manifest_sha256: str | None = None  # hex SHA-256 of the transmitted file
    taxpayer_refs: tuple[str, ...] = ()  # HMAC-SHA256 keyed hashes, never a raw TIN
    notice_id: str | None = None
    # v2: match quality as counts, so "42,695 of 47,289 placeholder addresses" can be recorded.
    match_counts: Mapping[str, int] = field(default_factory=dict)  # MatchMethod -> records
    address_counts: Mapping[str, int] = field(
        default_factory=dict
    )  # AddressVerification -> records

    @property
    def key(self) -> str:
        return self.recipient_agency or self.source_agency

    def problems(self) -> list[str]:
        return [
            *count_map_problems(
                "match_counts", self.match_counts, MATCH_METHODS, self.record_count
            ),
            *count_map_problems(
                "address_counts", self.address_counts, ADDRESS_STATUSES, self.record_count
            ),
        ]


@dataclass(frozen=True, kw_only=True)
class DisclosureManifest(LedgerEvent, writer="agency"):
    """One chunk of a bulk disclosure's taxpayer refs."""

    disclosure_id: str
    recipient_agency: str  # keys the chunk to its disclosure's partition
    chunk_index: int
    chunk_count: int
    taxpayer_refs: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class DisclosureAmended(LedgerEvent, writer="agency"):
    """Corrects an earlier disclosure by reference; the original is never overwritten."""

    disclosure_id: str
    amends_event_id: str | None = None
    recipient_agency: str
    changes: Mapping[str, str]  # field name to corrected value, as text
    reason: str

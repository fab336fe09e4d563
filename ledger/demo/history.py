"""A realistic, reproducible year of disclosures, then the day one transmission exceeds it.

Figures follow the Joint Committee on Taxation's public 6103(p)(3)(C) reports: U.S. Attorneys
received 28,501 records under 6103(i)(1) and 14,640 under 6103(i)(2) in 2022; state tax agencies
receive billions a year under 6103(d). On 7 August 2025 the IRS sent ICE last-known addresses for
47,289 taxpayers under 6103(i)(2), more than all 6103(i) disclosures of a typical year.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from ledger.events import (
    AddressVerification,
    CourtOrderRecorded,
    DisclosureAmended,
    DisclosureManifest,
    DisclosureRecorded,
    LedgerEvent,
    MatchMethod,
    NoticeFiled,
)

SOURCE = "Internal Revenue Service"
ICE = "U.S. Immigration and Customs Enforcement"
USAO = "U.S. Attorneys' Offices"
I1 = "26 U.S.C. 6103(i)(1)"
I2 = "26 U.S.C. 6103(i)(2)"
D = "26 U.S.C. 6103(d)"
SPIKE_DAY = date(2025, 8, 7)
SPIKE_RECORDS = 47_289
CASE = "1:25-cv-00457-CKK"
_NS = uuid.UUID("0b7c8a40-4f0e-4a7e-9a44-2f3c0d1e5b21")


@dataclass(frozen=True)
class Flow:
    """A steady stream of disclosures to one recipient under one authority."""

    recipient: str
    authority: str
    annual_records: int
    per_day: float  # transmissions per business day
    purpose: str
    nature: str
    channel: str


FLOWS = (
    Flow(
        USAO,
        I1,
        28_501,
        3.0,
        "Non-tax criminal investigation (ex parte court order)",
        "TRANSCRIPT",
        "SFTP",
    ),
    Flow(
        USAO,
        I2,
        14_640,
        2.0,
        "Non-tax criminal investigation (agency head request)",
        "RETURN_INFORMATION",
        "SFTP",
    ),
    Flow(
        "California Franchise Tax Board",
        D,
        2_400_000_000,
        1.0,
        "State tax administration",
        "RETURN_INFORMATION",
        "IRS-SDT",
    ),
    Flow(
        "New York State Department of Taxation and Finance",
        D,
        1_500_000_000,
        1.0,
        "State tax administration",
        "RETURN_INFORMATION",
        "IRS-SDT",
    ),
    Flow(
        "Texas Comptroller of Public Accounts",
        D,
        900_000_000,
        1.0,
        "State tax administration",
        "RETURN_INFORMATION",
        "IRS-SDT",
    ),
    Flow(
        ICE,
        I2,
        480,
        0.15,
        "Non-tax criminal investigation (agency head request)",
        "LAST_KNOWN_ADDRESS",
        "SFTP",
    ),
    Flow(
        "Bureau of the Census",
        "26 U.S.C. 6103(j)(1)(A)",
        160_000_000,
        0.2,
        "Censuses and surveys",
        "RETURN_INFORMATION",
        "IRS-SDT",
    ),
    Flow(
        "Social Security Administration",
        "26 U.S.C. 6103(l)(1)",
        2_000_000,
        0.5,
        "Programs under the Social Security Act",
        "RETURN_INFORMATION",
        "IRS-SDT",
    ),
)

BUSINESS_DAYS_PER_YEAR = 250


def business_days(start: date, end: date) -> list[date]:
    days, d = [], start
    while d < end:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def _at(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def disclosure(
    n: int,
    day: date,
    recipient: str,
    authority: str,
    records: int,
    tz: ZoneInfo,
    *,
    hour: int = 10,
    minute: int = 0,
    purpose: str = "",
    nature: str = "RETURN_INFORMATION",
    channel: str = "SFTP",
    match_method: MatchMethod = "NAME_DOB_ADDRESS",
    address_verification: AddressVerification = "VALID",
    notice_id: str | None = None,
) -> DisclosureRecorded:
    sent = _at(day, hour, minute, tz)
    return DisclosureRecorded(
        event_id=str(uuid.uuid5(_NS, f"disclosure-{n}")),
        occurred_at=sent,
        recorded_by="irs-disclosure-office",
        disclosure_id=f"D-{day:%Y%m%d}-{n:06d}",
        request_id=f"R-{day:%Y%m%d}-{n:06d}",
        source_agency=SOURCE,
        recipient_agency=recipient,
        legal_authority=authority,
        purpose=purpose,
        nature=nature,
        transmitted_at=sent,
        transmission_channel=channel,
        record_count=records,
        tax_periods=(str(day.year - 1), str(day.year - 2)),
        data_categories=(
            ("name", "address") if nature == "LAST_KNOWN_ADDRESS" else ("return_information",)
        ),
        match_method=match_method,
        address_verification=address_verification,
        notice_id=notice_id,
    )


def history(tz: ZoneInfo, seed: int = 6103, end: date = SPIKE_DAY) -> list[DisclosureRecorded]:
    """A year and a day of ordinary disclosures before ``end`` (so the spike rule is warmed up)."""
    rng = random.Random(seed)
    events = []
    n = 0
    for day in business_days(end - timedelta(days=366), end):
        for flow in FLOWS:
            count = int(flow.per_day) + (1 if rng.random() < flow.per_day % 1 else 0)
            for _ in range(count):
                mean = flow.annual_records / (BUSINESS_DAYS_PER_YEAR * flow.per_day)
                records = max(1, int(rng.gauss(mean, mean * 0.25)))
                n += 1
                events.append(
                    disclosure(
                        n,
                        day,
                        flow.recipient,
                        flow.authority,
                        records,
                        tz,
                        hour=rng.randint(8, 17),
                        minute=rng.randint(0, 59),
                        purpose=flow.purpose,
                        nature=flow.nature,
                        channel=flow.channel,
                    )
                )
    return events


def spike(tz: ZoneInfo) -> DisclosureRecorded:
    """The 7 August 2025 transmission: 47,289 last-known addresses to ICE under 6103(i)(2), all
    matched by TIN and name, 42,695 of them to placeholder addresses."""
    sent = disclosure(
        900_000,
        SPIKE_DAY,
        ICE,
        I2,
        SPIKE_RECORDS,
        tz,
        hour=15,
        minute=12,
        purpose="Immigration enforcement: last-known addresses (MOU of 7 April 2025)",
        nature="LAST_KNOWN_ADDRESS",
        channel="SFTP",
        match_method="TIN_NAME",
        address_verification="VALID",
    )
    return dataclasses.replace(
        sent,
        match_counts={"TIN_NAME": SPIKE_RECORDS},
        address_counts={"PLACEHOLDER": 42_695, "VALID": SPIKE_RECORDS - 42_695},
    )


def court_order_story(tz: ZoneInfo) -> list[LedgerEvent]:
    """The notice order in force; notice 25 hours ahead (fine), 2 hours ahead (alert), placeholders,
    and a notice filed 30 hours ahead but entered after its transmission (alert, then contested:
    the ledger received the notice after the transmission, whatever filed_at it claims)."""
    order_day = date(2025, 9, 5)
    d1, d2, d3 = date(2025, 9, 16), date(2025, 9, 23), date(2025, 9, 30)
    d4 = date(2025, 10, 7)

    def notice(
        n: int, filed: datetime, start: datetime, end: datetime, expected: int
    ) -> NoticeFiled:
        return NoticeFiled(
            event_id=str(uuid.uuid5(_NS, f"notice-{n}")),
            occurred_at=filed,
            recorded_by="irs-chief-counsel",
            notice_id=f"N-2025-{n:03d}",
            case_reference=CASE,
            filed_at=filed,
            served_on=(
                "U.S. District Court for the District of Columbia",
                "Counsel for plaintiffs",
            ),
            recipient_agency=ICE,
            legal_authority=I2,
            planned_transmission_start=start,
            planned_transmission_end=end,
            expected_record_count=expected,
        )

    # The story's IRS-to-ICE transmissions of last-known addresses, at 2 pm unless told.
    to_ice = partial(
        disclosure,
        recipient=ICE,
        authority=I2,
        tz=tz,
        hour=14,
        purpose="Immigration enforcement: last-known addresses",
        nature="LAST_KNOWN_ADDRESS",
    )
    t1, t2, t4 = _at(d1, 14, 0, tz), _at(d2, 14, 0, tz), _at(d4, 14, 0, tz)
    return [
        CourtOrderRecorded(
            event_id=str(uuid.uuid5(_NS, "order-notice")),
            occurred_at=_at(order_day, 17, 0, tz),
            recorded_by="court-liaison",
            order_id="ECF-NOTICE-2025-09-05",
            case_reference=CASE,
            court="U.S. District Court for the District of Columbia",
            order_type="NOTICE_REQUIREMENT",
            entered_at=_at(order_day, 17, 0, tz),
            effective_at=_at(order_day, 17, 0, tz),
            recipients=(ICE,),
            authorities=(I2,),
            bulk_threshold=1000,
            notice_hours=24,
            description="24 hours' notice to the court and plaintiffs before any IRS-to-ICE transmission.",
        ),
        notice(1, t1 - timedelta(hours=25), t1 - timedelta(hours=1), t1 + timedelta(hours=4), 5000),
        to_ice(900_001, d1, records=4_800, notice_id="N-2025-001"),
        notice(2, t2 - timedelta(hours=2), t2 - timedelta(hours=1), t2 + timedelta(hours=4), 5000),
        to_ice(900_002, d2, records=3_900, notice_id="N-2025-002"),
        to_ice(
            900_003,
            d3,
            records=420,
            hour=11,
            minute=30,
            match_method="TIN_NAME",
            address_verification="PLACEHOLDER",
        ),
        to_ice(900_004, d4, records=2_500, notice_id="N-2025-003"),
        # Filed with the court 30 hours ahead, but entered in the ledger only after the
        # transmission: the bulk_without_notice alert stays open, contested when the notice lands.
        notice(3, t4 - timedelta(hours=30), t4 - timedelta(hours=1), t4 + timedelta(hours=4), 3000),
    ]


def contested_amendment(spike: DisclosureRecorded) -> DisclosureAmended:
    """Months later, the source "re-counts" the 7 August transmission as 400 records. The spike
    alerts stay open, contested, and a critical finding_contested names the amendment and each
    alert: a later statement by the discloser does not undo what the ledger recorded."""
    return DisclosureAmended(
        event_id=str(uuid.uuid5(_NS, "amendment-spike")),
        occurred_at=spike.transmitted_at + timedelta(days=120),
        recorded_by="irs-disclosure-office",
        disclosure_id=spike.disclosure_id,
        amends_event_id=spike.event_id,
        recipient_agency=spike.recipient_agency,
        changes={"record_count": "400"},
        reason="Re-counted: most addresses were not released",
    )


MANIFEST_CHUNK = 5_000


def synthetic_tin(i: int) -> str:
    """Synthetic ITIN-shaped numbers for the demo's taxpayers (only their keyed hashes are sent)."""
    return f"9{70 + i % 19:02d}{i:06d}"


def example_tin() -> str:
    return synthetic_tin(4242)


def manifest(disclosure_id: str, key: bytes, occurred_at: datetime) -> list[DisclosureManifest]:
    """The spike's 47,289 taxpayer refs as DisclosureManifest chunks (one message would exceed 1 MB)."""
    from ledger.privacy import taxpayer_ref

    refs = [taxpayer_ref(key, synthetic_tin(i)) for i in range(SPIKE_RECORDS)]
    chunks = [tuple(refs[i : i + MANIFEST_CHUNK]) for i in range(0, len(refs), MANIFEST_CHUNK)]
    return [
        DisclosureManifest(
            event_id=str(uuid.uuid5(_NS, f"manifest-{disclosure_id}-{n}")),
            occurred_at=occurred_at,
            recorded_by="irs-disclosure-office",
            disclosure_id=disclosure_id,
            recipient_agency=ICE,
            chunk_index=n,
            chunk_count=len(chunks),
            taxpayer_refs=chunk,
        )
        for n, chunk in enumerate(chunks)
    ]

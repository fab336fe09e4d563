"""The split transfer: 47,289 records in four transmissions on four days, none alone over the
prior year, together over it.

Sent to the FBI (a part of the Justice Department) under 6103(i)(2) on 8 to 11 September 2025.
The FBI has no history, so its first day raises new_recipient, CRITICAL at 12,000 records. No day
exceeds the Justice Department's prior year (the U.S. Attorneys' 6103(i) requests and orders, about
40,000 records), but the four days together do: sustained_over_prior_year fires once, on the
fourth day, for "IRS -> recipient DOJ".
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from ledger.demo.history import I2, disclosure
from ledger.events import DisclosureRecorded

FBI = "Federal Bureau of Investigation"
SPLIT_START = date(2025, 9, 8)
SPLIT_RECORDS = (12_000, 11_900, 11_800, 11_589)  # 47,289; each day smaller than the one before


def split_transfer(tz: ZoneInfo) -> list[DisclosureRecorded]:
    return [
        disclosure(
            910_000 + n,
            SPLIT_START + timedelta(days=n),
            FBI,
            I2,
            records,
            tz,
            hour=11,
            minute=0,
            purpose="Non-tax criminal investigation (agency head request)",
            nature="LAST_KNOWN_ADDRESS",
        )
        for n, records in enumerate(SPLIT_RECORDS)
    ]

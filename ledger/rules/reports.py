"""The reports the law asks for, as pure aggregation: the 6103(p)(3)(C) table and which Privacy
Act accounting entries are withheld from the individual.

The database hands these functions tallies and facts; nothing here reads or writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.rules.authorities import citation_family, normalize_authority
from ledger.rules.registry import Registry

NO_AUTHORITY = "(none cited)"


def report_authority(text: str | None) -> str:
    """How every report names and groups an authority: the 6103 subsection as the JCT prints it
    ('26 U.S.C. 6103(i)(2)', '26 usc §6103 (i)(2)' -> '(i)(2)'; the canonical id of the
    registry without its section number), else the normalised citation."""
    if text is None or not text.strip():
        return NO_AUTHORITY
    family = citation_family(text)
    return family[0].removeprefix("6103") if family else normalize_authority(text)


def report_recipient(text: str, registry: Registry) -> str:
    """How every report names and groups a recipient: its registry agency's name ('U.S.
    Attorneys' and 'United States Attorneys' are one row), else its single-spaced text."""
    return registry.name(registry.agency(text).id)


def withheld_from_individual(authority: str | None) -> bool:
    """Whether a Privacy Act accounting entry is withheld from the taxpayer who asks for it.

    5 U.S.C. 552a(c)(3) exempts from the individual's access the accounting of disclosures to
    law enforcement (552a(b)(7)), and systems of records exempted under 552a(j)(2) (criminal law
    enforcement) and (k)(2) (investigatory material) withhold it too. The ledger applies that to
    every disclosure under a 26 U.S.C. 6103(i) subsection (disclosures for the investigation of
    non-tax crimes, terrorism and other law-enforcement purposes) and to nothing else.
    """
    return report_authority(authority).startswith("(i)")


# --- 6103(p)(3)(C) ------------------------------------------------------------------------


@dataclass(frozen=True)
class DisclosureTally:
    """Disclosures to one recipient under one cited authority in the report's year."""

    recipient: str
    authority: str
    transmissions: int  # DisclosureRecorded events
    records: int  # sum of record_count
    disclosures: int  # the JCT unit: records x tax periods (see p3c_rows)


@dataclass(frozen=True)
class RequestTally:
    """Requests received for one recipient under one cited authority in the report's year."""

    recipient: str
    authority: str | None
    requests: int


@dataclass(frozen=True)
class P3CRow:
    """One line of the JCT table: "Disclosure To/For", "IRC Section 6103 subsection", counts."""

    recipient: str
    authority: str
    requests: int
    transmissions: int
    records: int
    disclosures: int


TOTALS = "TOTALS"


def p3c_rows(
    disclosures: Iterable[DisclosureTally], requests: Iterable[RequestTally], registry: Registry
) -> list[P3CRow]:
    """The (p)(3)(C) table: one row per recipient and authority (``report_recipient``,
    ``report_authority``), sorted, then a TOTALS row as the JCT prints it.

    The unit: the JCT counts "one taxpayer x one tax period x one record" as a disclosure. A
    ledger record is one taxpayer's data in one transmission, so ``disclosures`` is each record
    times the number of tax periods its transmission covered (a transmission naming none counts
    each record once); ``records`` is the ledger's own unit beside it.
    """
    rows: dict[tuple[str, str], list[int]] = {}
    for d in disclosures:
        key = (report_recipient(d.recipient, registry), report_authority(d.authority))
        row = rows.setdefault(key, [0, 0, 0, 0])
        row[1] += d.transmissions
        row[2] += d.records
        row[3] += d.disclosures
    for r in requests:
        key = (report_recipient(r.recipient, registry), report_authority(r.authority))
        rows.setdefault(key, [0, 0, 0, 0])[0] += r.requests
    table = [
        P3CRow(recipient, authority, *counts) for (recipient, authority), counts in rows.items()
    ]
    table.sort(key=lambda row: (row.recipient, row.authority))
    totals = P3CRow(
        TOTALS,
        "",
        sum(r.requests for r in table),
        sum(r.transmissions for r in table),
        sum(r.records for r in table),
        sum(r.disclosures for r in table),
    )
    return [*table, totals]

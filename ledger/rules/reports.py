"""The reports the law asks for, as pure aggregation: the 6103(p)(3)(C) table and which Privacy
Act accounting entries are withheld from the individual.

The database hands these functions tallies and facts; nothing here reads or writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

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

    5 U.S.C. 552a(c)(3) makes the accounting of disclosures kept under (c)(1) available to the
    individual on request, except for disclosures to law enforcement under (b)(7), and a system
    of records exempted under (j)(2) or (k)(2) may withhold it too. The ledger treats every
    disclosure under a 26 U.S.C. 6103(i) subsection (non-tax criminal investigation, terrorism and
    other law-enforcement purposes) as such and nothing else (``BASIS``).
    """
    return report_authority(authority).startswith("(i)")


BASIS = (
    "Basis: 5 U.S.C. 552a(c)(3) makes the accounting of disclosures kept under 552a(c)(1)"
    " available to the individual on request, except disclosures to law enforcement under"
    " 552a(b)(7) and what a system exempted under 552a(j)(2) or (k) withholds; the ledger"
    " withholds its 26 U.S.C. 6103(i) disclosures on that ground. 26 U.S.C. 6103(p)(3)(A) also"
    " applies: the agency keeps a record of every disclosure of returns and return information"
    " (some subsections excepted), made at the time of disclosure."
)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def refs_note(listed: int, records: int) -> str | None:
    """Why a disclosure's taxpayer list does not account for its records, or None when it does:
    a list of refs is one per record (a record is one taxpayer's data)."""
    if listed == records:
        return None
    return (
        f"lists {plural(listed, 'taxpayer')} for {plural(records, 'record')}: the taxpayer list"
        " does not reconcile with record_count"
    )


def accounting_coverage(found: int, unlisted: int, unlisted_records: int) -> str:
    """What an accounting's answer covers: only disclosures that list their taxpayers can name
    one, so "none" means none among those, and the rest are stated."""
    rest = (
        f"{plural(unlisted, 'disclosure')} ({plural(unlisted_records, 'record')}) carry no"
        " taxpayer list and cannot be checked"
        if unlisted
        else "every disclosure recorded lists its taxpayers"
    )
    if found == 0:
        return f"None: no disclosure that lists taxpayers names this taxpayer; {rest}."
    return f"{plural(found, 'disclosure')} name this taxpayer; {rest} for this taxpayer."


# --- 6103(p)(3)(C) ------------------------------------------------------------------------


@dataclass(frozen=True)
class DisclosureTally:
    """Disclosures to one recipient under one cited authority in the report's year, as first
    recorded (an amendment or withdrawal is counted beside them, never instead)."""

    recipient: str
    authority: str
    transmissions: int  # DisclosureRecorded events
    records: int  # sum of record_count
    disclosures: int  # the JCT unit: records x tax periods (see p3c_rows)
    amended: int = 0  # transmissions amended or withdrawn since
    records_as_amended: int | None = None  # sum of record_count as amended (withdrawn: 0)
    unlisted: int = 0  # transmissions that carry no taxpayer refs
    refs: frozenset[str] = frozenset()  # the distinct taxpayer refs the others list


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
    amended: int = 0
    records_as_amended: int = 0
    unlisted: int = 0
    refs: frozenset[str] = frozenset()

    @property
    def taxpayers(self) -> int | None:
        """Distinct taxpayers the row's refs name; None ("n/a") when no transmission lists any.
        With ``unlisted`` > 0 it is a floor: those transmissions' taxpayers are unknown."""
        return None if self.unlisted == self.transmissions else len(self.refs)


TOTALS = "TOTALS"
SUBTOTAL_6103I = "SUBTOTAL 6103(i)"


def _sum(label: str, authority: str, rows: list[P3CRow]) -> P3CRow:
    counts: dict[str, int] = {f: sum(getattr(r, f) for r in rows) for f in _COUNTS}
    refs: frozenset[str] = frozenset().union(*(r.refs for r in rows))
    return P3CRow(label, authority, **counts, refs=refs)


_COUNTS = (
    "requests",
    "transmissions",
    "records",
    "disclosures",
    "amended",
    "records_as_amended",
    "unlisted",
)


def p3c_rows(
    disclosures: Iterable[DisclosureTally], requests: Iterable[RequestTally], registry: Registry
) -> list[P3CRow]:
    """The (p)(3)(C) table: one row per recipient and authority (``report_recipient``,
    ``report_authority``), sorted, then a 6103(i) subtotal (the law-enforcement disclosures the
    Privacy Act accounting withholds) and a TOTALS row as the JCT prints it.

    The unit: the JCT counts "one taxpayer x one tax period x one record" as a disclosure. A
    ledger record is one taxpayer's data in one transmission, so ``disclosures`` is each record
    times the number of tax periods its transmission covered (a transmission naming none counts
    each record once); ``records`` is the ledger's own unit beside it.
    """
    rows: dict[tuple[str, str], P3CRow] = {}
    empty = P3CRow("", "", 0, 0, 0, 0)
    for d in disclosures:
        key = (report_recipient(d.recipient, registry), report_authority(d.authority))
        row = rows.get(key, empty)
        as_amended = d.records if d.records_as_amended is None else d.records_as_amended
        rows[key] = P3CRow(
            key[0],
            key[1],
            row.requests,
            row.transmissions + d.transmissions,
            row.records + d.records,
            row.disclosures + d.disclosures,
            row.amended + d.amended,
            row.records_as_amended + as_amended,
            row.unlisted + d.unlisted,
            row.refs | d.refs,
        )
    for r in requests:
        key = (report_recipient(r.recipient, registry), report_authority(r.authority))
        row = rows.get(key, empty)
        rows[key] = replace(
            row, recipient=key[0], authority=key[1], requests=row.requests + r.requests
        )
    table = sorted(rows.values(), key=lambda row: (row.recipient, row.authority))
    law_enforcement = [r for r in table if r.authority.startswith("(i)")]
    return [*table, _sum(SUBTOTAL_6103I, "(i)", law_enforcement), _sum(TOTALS, "", table)]

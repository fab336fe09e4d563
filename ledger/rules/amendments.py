"""DisclosureAmended's changes: which fields may be corrected, in what form, and what they do.

``changes`` travels as text (field name to value); ``parse_changes`` reads it into typed
corrections, or says in one line which field is wrong (never echoing its value, which might be
anything). Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ledger.errors import EventValidationError
from ledger.privacy import contains_tin_shape
from ledger.rules.model import DisclosureFacts
from ledger.storable import count_problem, time_problem

AMENDABLE = ("record_count", "recipient_agency", "legal_authority", "transmitted_at", "withdrawn")
_FORMS = {
    "record_count": "a whole number of records, 0 to 2^53",
    "recipient_agency": "the recipient's name (not blank)",
    "legal_authority": "the authority cited (not blank)",
    "transmitted_at": (
        "an ISO 8601 time with its UTC offset between 1900 and 2200, e.g. 2025-08-07T15:12:00-04:00"
    ),
    "withdrawn": '"true" or "false"',
}


@dataclass(frozen=True)
class Correction:
    """The typed changes of one amendment; None leaves a field as it was."""

    record_count: int | None = None
    recipient_agency: str | None = None
    legal_authority: str | None = None
    transmitted_at: datetime | None = None
    withdrawn: bool | None = None


def _bad(name: str) -> EventValidationError:
    return EventValidationError(f"changes.{name} must be {_FORMS[name]}.")


def _count(text: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 16 or count_problem(int(value)):
        raise _bad("record_count")
    return int(value)


def _time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _bad("transmitted_at") from None
    if when.tzinfo is None or time_problem(when):
        raise _bad("transmitted_at")
    return when


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise _bad("withdrawn")
    return value == "true"


def _text(name: str, text: str) -> str:
    if not text.strip():
        raise _bad(name)
    return text.strip()


def parse_changes(changes: Mapping[str, str]) -> Correction:
    """The typed correction; EventValidationError naming the first field that is not allowed
    or not in its form."""
    if not changes:
        raise EventValidationError(
            f"changes is empty; it corrects one or more of {', '.join(AMENDABLE)}."
        )
    unknown = sorted(set(changes) - set(AMENDABLE))
    if unknown:
        name = unknown[0]
        plain = name.isidentifier() and len(name) <= 64 and not contains_tin_shape(name)
        shown = name if plain else "a field (name not shown)"
        raise EventValidationError(
            f"changes names {shown}, which cannot be amended; allowed: {', '.join(AMENDABLE)}."
        )
    c = changes
    return Correction(
        record_count=_count(c["record_count"]) if "record_count" in c else None,
        recipient_agency=(
            _text("recipient_agency", c["recipient_agency"]) if "recipient_agency" in c else None
        ),
        legal_authority=(
            _text("legal_authority", c["legal_authority"]) if "legal_authority" in c else None
        ),
        transmitted_at=_time(c["transmitted_at"]) if "transmitted_at" in c else None,
        withdrawn=_flag(c["withdrawn"]) if "withdrawn" in c else None,
    )


def corrected(d: DisclosureFacts, c: Correction, tz: ZoneInfo) -> DisclosureFacts:
    """``d`` with the correction applied (its day follows a corrected transmission time)."""
    when = d.transmitted_at if c.transmitted_at is None else c.transmitted_at
    return dataclasses.replace(
        d,
        record_count=d.record_count if c.record_count is None else c.record_count,
        recipient_agency=c.recipient_agency or d.recipient_agency,
        legal_authority=c.legal_authority or d.legal_authority,
        transmitted_at=when,
        day=d.day if c.transmitted_at is None else when.astimezone(tz).date(),
    )

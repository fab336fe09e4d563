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

AMENDABLE = ("record_count", "recipient_agency", "legal_authority", "transmitted_at", "withdrawn")
_FORMS = {
    "record_count": "a whole number of records, 0 or more",
    "recipient_agency": "the recipient's name (not blank)",
    "legal_authority": "the authority cited (not blank)",
    "transmitted_at": "an ISO 8601 time with its UTC offset, e.g. 2025-08-07T15:12:00-04:00",
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


def _parse(name: str, text: str) -> object:
    value = text.strip()
    if name == "record_count":
        if not value.isascii() or not value.isdigit() or len(value) > 15:
            raise _bad(name)
        return int(value)
    if name == "transmitted_at":
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(name) from None
        if when.tzinfo is None:
            raise _bad(name)
        return when
    if name == "withdrawn":
        if value.lower() not in ("true", "false"):
            raise _bad(name)
        return value.lower() == "true"
    if not value:
        raise _bad(name)
    return value


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
    values = {name: _parse(name, text) for name, text in changes.items()}
    return Correction(**values)  # type: ignore[arg-type]  # each parsed to its field's type


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

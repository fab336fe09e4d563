"""A disclosure's contents, so a second recording of a disclosure id can be judged.

The contents are the fields that describe the transmission: every field of DisclosureRecorded
except ``event_id``, ``occurred_at`` and ``recorded_by`` (which describe the recording, not what
was sent). Agencies and the authority are compared by their canonical registry ids ("ICE" and
"U.S. Immigration and Customs Enforcement" are one recipient); lists are compared as sets (their
order carries no meaning); every other field exactly. A second recording with the same contents
is a resend (``duplicate_disclosure``: a warning, not counted again); with other contents it is
a conflict (``conflicting_disclosure``: critical, and counted, since the ledger cannot tell which
recording is the true one and must not hide either).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from ledger.events import DisclosureRecorded
from ledger.rules.model import AlertDraft, DisclosureFacts, Scope, Severity
from ledger.rules.registry import Registry

CONFLICT = "conflicting_disclosure"
NOT_CONTENTS = frozenset({"event_id", "occurred_at", "recorded_by"})
_CANONICAL_AGENCIES = ("source_agency", "recipient_agency")


def contents(event: DisclosureRecorded, registry: Registry) -> dict[str, Any]:
    """The fields compared between two recordings of one disclosure id, canonical."""
    record = event.to_record()
    for name in NOT_CONTENTS:
        record.pop(name, None)
    for name, value in record.items():
        if type(value) is list:  # lists of strings: tax periods, data categories, refs
            record[name] = sorted(value, key=str)
    for name in _CANONICAL_AGENCIES:
        record[name] = registry.agency(record[name]).id
    record["legal_authority"] = registry.authority(record["legal_authority"]).id
    return record


def contents_digest(event: DisclosureRecorded, registry: Registry) -> bytes:
    # orjson: times as ISO 8601, keys sorted; a few microseconds (this runs for every disclosure).
    text = orjson.dumps(contents(event, registry), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).digest()


def conflict_alert(dup: DisclosureFacts, original_event_id: str) -> AlertDraft:
    """A second DisclosureRecorded of the same (source, disclosure id) with other contents."""
    scope = Scope("recipient", dup.source_agency, dup.recipient_agency)
    return AlertDraft.about(
        CONFLICT,
        Severity.CRITICAL,
        scope,
        dup.day,
        dup.disclosure_id,
        dup.event_id,
        observed=dup.record_count,
        evidence=[dup.event_id, original_event_id],
        legal_source="26 U.S.C. 6103(p)(3)(A): an accurate accounting, each disclosure once",
        message=(
            f"Disclosure {dup.disclosure_id} from {dup.source_agency} was recorded again as event"
            f" {dup.event_id} with other contents than event {original_event_id}; both are"
            f" counted ({dup.record_count:,} records to {dup.recipient_agency} in this one)."
        ),
    )

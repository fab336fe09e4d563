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
from ledger.rules.declared import RuleKind, declare
from ledger.rules.lifecycle import second_recording_alert
from ledger.rules.model import AlertDraft, DisclosureFacts, Severity
from ledger.rules.registry import Registry

CONFLICT = declare("conflicting_disclosure", RuleKind.LIFECYCLE, None)
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
    return second_recording_alert(
        CONFLICT,
        Severity.CRITICAL,
        dup,
        original_event_id,
        f"with other contents than event {original_event_id}; both are counted"
        f" ({dup.record_count:,} records to {dup.recipient_agency} in this one).",
    )

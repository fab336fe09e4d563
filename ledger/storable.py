"""What the projections can hold: bounds every event value must respect, checked at both edges.

Intake refuses a value outside them before anything is sent; consumers dead-letter a record that
carries one anyway (the topics are a trust boundary). PostgreSQL text and jsonb cannot hold NUL,
UTF-8 cannot carry lone surrogates, JSON readers lose integers past 2^53, and the rules do date
arithmetic that must stay inside the calendar, and a btree index row holds at most 2,704 bytes
(every string has a length bound: FIELD_BOUNDS). Problems name the field, never the value: a bad
value may be a taxpayer identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

COUNT_MAX = 2**53
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    if _LONE_SURROGATE.search(value):
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def count_problem(value: int) -> str | None:
    if value < 0:
        return f"cannot be negative: must be between 0 and 2^53 ({COUNT_MAX})"
    if value > COUNT_MAX:
        return f"must be between 0 and 2^53 ({COUNT_MAX})"
    return None


def time_problem(value: datetime | date) -> str | None:
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment < LATEST:
        return "must be between 1900-01-01 and 2200-01-01"
    return None


def digest_problem(value: str) -> str | None:
    if not _HEX64.fullmatch(value):
        return "must be a SHA-256 digest: 64 hex characters"
    return None


# Fields whose integers count things (records, disclosures, chunks, hours of notice): every
# long/int field of schemas/*/v*.avsc but LedgerAccessed.status (an HTTP status code). Other
# integers are only held to 64 bits.
_COUNT_FIELDS = frozenset(
    {
        "record_count",
        "expected_record_count",
        "records_returned",
        "observed",
        "threshold",
        "bulk_threshold",
        "chunk_index",
        "chunk_count",
        "notice_hours",
    }
)
_DIGEST_FIELDS = frozenset({"manifest_sha256"})

# Length bounds, in characters, on every string an event holds (docs/dup.md lists them; a unit
# test holds that table and every string field of schemas/ to these). An identifier may
# sit in a btree index beside another (PostgreSQL refuses an index row over 2,704 bytes): 200
# characters are at most 800 bytes of UTF-8, two of them under 1,700. Free text is never
# indexed; its bound keeps one record to a readable size.
IDENTIFIER_MAX = 200
TEXT_MAX = 4000
IDENTIFIER_FIELDS = frozenset(
    {
        "event_id",
        "amends_event_id",
        "token_id",
        "recorded_by",
        "disclosure_id",
        "request_id",
        "notice_id",
        "order_id",
        "alert_id",
        "case_reference",
        "court",
        "source_agency",
        "recipient_agency",
        "requesting_agency",
        "legal_authority",
        "transmission_channel",
        "requesting_official",
        "requesting_official_title",
        "acknowledged_by",
        "resolved_by",
        "rule",
        "severity",
        "order_type",
        "match_method",
        "address_verification",
        "manifest_sha256",
        "recipients",
        "authorities",
        "served_on",
        "statutes",
        "tax_periods",
        "data_categories",
        "taxpayer_refs",
        "evidence",
        "match_counts",
        "address_counts",
    }
)
TEXT_FIELDS = frozenset(
    {
        "purpose",
        "nature",
        "recipient_address",
        "reasons",
        "reason",
        "description",
        "note",
        "message",
        "legal_source",
        "scope",
        "changes",
        "accessor",
        "role",
        "action",
        "query",
    }
)
FIELD_BOUNDS: dict[str, int] = (
    {name: IDENTIFIER_MAX for name in IDENTIFIER_FIELDS}
    | {name: TEXT_MAX for name in TEXT_FIELDS}
    # The ledger's own alert evidence: event ids and "topic/partition@offset" (a Kafka topic
    # name has up to 249 ASCII characters); ASCII, so 300 stay far under the index row limit.
    | {"evidence": 300}
)


def length_bound(field: str) -> int:
    """The most characters any string of ``field`` (its items, keys and values too) may hold;
    a field not listed is held to the identifier bound."""
    return FIELD_BOUNDS.get(field, IDENTIFIER_MAX)


def length_problem(field: str, value: str) -> str | None:
    bound = length_bound(field)
    if len(value) > bound:
        return f"is longer than {bound:,} characters ({len(value):,})"
    return None


def _walk(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, Mapping):
        for k, v in value.items():  # keys are data too: never put them in a message
            yield from _walk(f"{path}[key]", k)
            yield from _walk(f"{path}[value]", v)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk(f"{path}[{i}]", v)


_BOUNDS = FIELD_BOUNDS  # a module global: one lookup on the hot path
_EARLIEST_NAIVE = EARLIEST.replace(tzinfo=None)
_LATEST_NAIVE = LATEST.replace(tzinfo=None)
_EARLIEST_DAY = EARLIEST.date()
_LATEST_DAY = LATEST.date()
_INT64_MAX = 2**63 - 1


def _clean(name: str, value: Any, top: bool) -> bool:
    """True when ``value`` certainly has no problem (the hot path: every decoded event).

    Checks what ``record_problems`` checks, with no paths and no generators; a False sends the
    record to the slow walk, which names the field.
    """
    kind = type(value)
    if kind is str:
        if "\x00" in value or not (value.isascii() or _LONE_SURROGATE.search(value) is None):
            return False
        if len(value) > _BOUNDS.get(name, IDENTIFIER_MAX):
            return False
        return not (top and name in _DIGEST_FIELDS and not _HEX64.fullmatch(value))
    if kind is bool or value is None:
        return True
    if kind is int:
        if name in _COUNT_FIELDS:
            return bool(0 <= value <= COUNT_MAX)
        return bool(-_INT64_MAX <= value <= _INT64_MAX)
    if kind is datetime:
        if value.tzinfo is None:
            return bool(_EARLIEST_NAIVE <= value < _LATEST_NAIVE)
        return bool(EARLIEST <= value < LATEST)
    if kind is date:
        return bool(_EARLIEST_DAY <= value < _LATEST_DAY)
    if kind is list or kind is tuple:
        # Plain loops (noqa SIM110): a generator costs more than the checks on this hot path.
        for item in value:  # noqa: SIM110
            if not _clean(name, item, False):
                return False
        return True
    if kind is dict:
        for k, v in value.items():  # noqa: SIM110
            if not (_clean(name, k, False) and _clean(name, v, False)):
                return False
        return True
    return False  # anything rarer (floats, subclasses): let the full walk decide


def record_problems(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, problem) for every value of an event record that the ledger cannot store."""
    for name, value in record.items():
        if not _clean(name, value, True):
            break
    else:
        return []
    found: list[tuple[str, str]] = []
    for name, top in record.items():
        for path, value in _walk(name, top):
            problem: str | None = None
            if isinstance(value, str):
                problem = text_problem(value) or length_problem(name, value)
                if problem is None and name in _DIGEST_FIELDS and path == name:
                    problem = digest_problem(value)
            elif isinstance(value, bool):
                continue
            elif isinstance(value, int):
                if name in _COUNT_FIELDS:
                    problem = count_problem(value)
                elif abs(value) > 2**63 - 1:
                    problem = "does not fit a 64-bit integer"
            elif isinstance(value, float):
                if value != value or value in (float("inf"), float("-inf")):
                    problem = "must be a finite number"
            elif isinstance(value, datetime | date):
                problem = time_problem(value)
            if problem is not None:
                found.append((path, problem))
    return found

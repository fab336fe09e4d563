"""Turns JSON lines into validated ledger events; nothing is sent until every line passes.

Every message names the line and the field, never the value: a bad value may be a taxpayer
identifier, and error text ends up in terminals, CI logs and tickets.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.errors import EventValidationError
from ledger.events import (
    EMIT_EVENT_TYPES,
    LEDGER_EVENT_TYPES,
    DisclosureAmended,
    LedgerEvent,
    from_record,
)
from ledger.intake_values import coerce_logical_types, describe_mismatch, mismatched_fields
from ledger.privacy import contains_tin_shape, is_taxpayer_ref, is_tin_shaped
from ledger.rules.amendments import parse_changes
from ledger.rules.names import is_blank
from ledger.schema_registry import SchemaRegistry, SchemaVersion, default_registry
from ledger.storable import record_problems

# Strings that are identifiers or digests by construction, never free text.
_NOT_FREE_TEXT = {
    "event_id",
    "amends_event_id",
    "manifest_sha256",
    "taxpayer_refs",
    "evidence",
    "token_id",  # a UUID the ledger made: its digit runs can look like a TIN
}
# Agency-assigned identifiers may contain long digit runs; only one that *is* a TIN is refused.
_IDENTIFIERS = {"disclosure_id", "request_id", "notice_id", "order_id", "alert_id"}
_NOT_SCANNED = frozenset(_NOT_FREE_TEXT | _IDENTIFIERS)
_DEFAULT_RECORDED_BY = "ledger emit"
# A name typed where a schema or field name belongs may be echoed only if it cannot be data: an
# event type of letters only; a field name shaped like an identifier that holds no TIN.
_TYPE_NAME = re.compile(r"[A-Za-z]{1,64}")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class BatchValidationError(EventValidationError):
    """One or more input lines are invalid; nothing was sent."""

    def __init__(self, errors: list[LineError], *, more: int = 0) -> None:
        self.errors = errors  # ``more`` bad lines were counted but not kept (a huge file)
        shown = "\n".join(str(e) for e in errors[:20])
        hidden = len(errors) - 20 + more if len(errors) > 20 else more
        more_text = f"\n... and {hidden} more" if hidden > 0 else ""
        super().__init__(
            f"{len(errors) + more} invalid line(s); nothing was sent.\n{shown}{more_text}"
        )


def _shown_type(name: str) -> str:
    return repr(name) if _TYPE_NAME.fullmatch(name) else "(not shown: not a schema name)"


def _shown_fields(unknown: Iterable[Any]) -> str:
    names = list(unknown)
    safe = sorted(
        n
        for n in names
        if isinstance(n, str) and _FIELD_NAME.fullmatch(n) and not contains_tin_shape(n)
    )
    hidden = len(names) - len(safe)
    if hidden:
        safe.append(f"{hidden} more not shown (not shaped like a field name)")
    return ", ".join(safe)


def _texts_in(value: Any) -> list[str]:
    """The strings a value carries: itself, a list's items, or a map's keys and values."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    if isinstance(value, dict):
        return [t for t in (*value.keys(), *value.values()) if isinstance(t, str)]
    return []


def _free_texts(name: str, value: Any) -> list[str]:
    return [] if name in _NOT_SCANNED else _texts_in(value)


def _joined_free_text(record: Mapping[str, Any]) -> str:
    """What ``_free_texts`` gives for every field, joined by NUL (one pass, no list per field)."""
    texts: list[str] = []
    for name, value in record.items():
        if name in _NOT_SCANNED:
            continue
        if type(value) is str:  # most fields: no call
            texts.append(value)
        else:
            texts += _texts_in(value)
    return "\x00".join(texts)


def _check_privacy(record: Mapping[str, Any]) -> None:
    # One search over all free text joined by NUL (which is neither a digit nor a separator, and
    # which no stored string holds: storable refused it), so a TIN shape cannot span two values;
    # only when it finds one is each field searched again, to name it.
    free_text_clean = not contains_tin_shape(_joined_free_text(record))
    for name, value in record.items():
        if name == "taxpayer_refs":
            for ref in value or []:
                if not isinstance(ref, str) or not is_taxpayer_ref(ref):
                    raise EventValidationError(
                        "taxpayer_refs must hold 64-hex-digit keyed hashes (HMAC-SHA256), "
                        "never a raw identifier."
                    )
            continue
        if name in _NOT_FREE_TEXT:
            continue
        if name in _IDENTIFIERS:
            if isinstance(value, str) and is_tin_shaped(value.strip()):
                raise EventValidationError(
                    f"{name} is shaped like an SSN, ITIN or EIN; identifiers must not be taxpayer numbers."
                )
            continue
        if free_text_clean:
            continue
        for text in _free_texts(name, value):
            if contains_tin_shape(text):
                raise EventValidationError(
                    f"{name} contains something shaped like an SSN, ITIN or EIN; the ledger "
                    "never stores taxpayer identifiers (use taxpayer_refs for keyed hashes)."
                )


# Agency names the rules resolve: one that shows nothing (blank, spaces, zero-width or other
# invisible characters only) names no one, and is refused rather than counted as a new agency.
_AGENCY_FIELDS = ("source_agency", "recipient_agency", "requesting_agency", "recipients")


def _check_names(record: Mapping[str, Any]) -> None:
    for name in _AGENCY_FIELDS:
        value = record.get(name)
        texts = value if isinstance(value, list | tuple) else [value] if value is not None else []
        if any(isinstance(t, str) and is_blank(t) for t in texts):
            raise EventValidationError(
                f"{name} is blank (or holds only spaces or invisible characters); name the agency."
            )


def build_event(
    obj: Mapping[str, Any], registry: SchemaRegistry | None = None, *, now: datetime | None = None
) -> LedgerEvent:
    """Validates one JSON object (``type`` plus schema fields) and returns the typed event
    (``ledger.events``): a DisclosureRecorded, a NoticeFiled, ... of the type ``obj`` names.

    Any event type of the registry is accepted: the ledger's own writers (access log, alert
    acknowledgements) build their events here too. Which types *people* may send is decided by
    ``parse_lines`` (the ``ledger emit`` path). Raises EventValidationError and nothing else.
    """
    registry = registry or default_registry()
    if not isinstance(obj, Mapping):
        raise EventValidationError("each line must be a JSON object.")
    event_type = obj.get("type")
    if not isinstance(event_type, str):
        raise EventValidationError('missing "type" naming the event, e.g. "DisclosureRecorded".')
    if event_type not in registry.known_types:
        known = ", ".join(registry.event_types)
        raise EventValidationError(
            f"Unknown event type {_shown_type(event_type)}; known types: {known}."
        )
    schema = registry.latest(event_type)
    record = {k: v for k, v in obj.items() if k != "type"}
    names = schema.field_name_set
    if not names.issuperset(record):
        unknown = set(record) - names
        raise EventValidationError(f"{event_type} has no field(s) {_shown_fields(unknown)}.")
    # Not setdefault: its argument would be worked out (a uuid4, a clock read) for every line.
    if "event_id" not in record:
        record["event_id"] = str(uuid.uuid4())
    if "occurred_at" not in record:
        record["occurred_at"] = now or datetime.now(UTC)
    record.setdefault("recorded_by", _DEFAULT_RECORDED_BY)
    coerce_logical_types(schema, record)
    _validate(schema, record)
    problems = record_problems(record)
    if problems:
        raise EventValidationError(
            "; ".join(f"{path} {problem}" for path, problem in problems[:3]) + "."
        )
    _check_privacy(record)
    _check_names(record)
    event = from_record(event_type, record)
    contradictions = event.problems()
    if contradictions:
        raise EventValidationError("; ".join(contradictions) + ".")
    if isinstance(event, DisclosureAmended):
        parse_changes(event.changes)  # the allowed fields, each in its form
    return event


def _validate(schema: SchemaVersion, record: dict[str, Any]) -> None:
    missing = [name for name in schema.required_fields if name not in record]
    if missing:
        raise EventValidationError(f"{schema.event_type} is missing {', '.join(missing)}.")
    wrong = mismatched_fields(schema, record)
    if wrong:
        raise EventValidationError(describe_mismatch(schema, wrong))


def _refused_type(
    obj: Any, allowed: Collection[str] | None, registry: SchemaRegistry
) -> str | None:
    """Why ``ledger emit`` does not take this line's event type, or None if it does."""
    if allowed is None or not isinstance(obj, Mapping):
        return None
    event_type = obj.get("type")
    if not isinstance(event_type, str) or event_type in allowed:
        return None
    accepted = ", ".join(sorted(allowed))
    if event_type in LEDGER_EVENT_TYPES:
        return (
            f"{event_type} events are written by the ledger itself, never through "
            f"`ledger emit`; it accepts {accepted}."
        )
    if event_type in registry.event_types:
        return f"{event_type} events are not accepted here; only {accepted}."
    return f"Unknown event type {_shown_type(event_type)}; ledger emit accepts {accepted}."


def parse_numbered_lines(
    lines: Iterable[str],
    registry: SchemaRegistry | None = None,
    *,
    allowed_types: Collection[str] | None = EMIT_EVENT_TYPES,
    first_line: int = 1,
    defaults: Callable[[int], dict[str, Any]] | None = None,
) -> list[tuple[int, LedgerEvent]]:
    """(line number, event) for every non-blank line, all validated before any is returned.

    ``allowed_types`` is what the sender may record (by default the agency and court types of
    ``ledger emit``); None allows every type of the registry. ``first_line`` is the number of
    the first of ``lines`` (a part of a file). ``defaults(number)`` gives fields a line may
    leave out (``ledger emit`` derives event ids from the file, so a resumed send repeats them).
    Raises BatchValidationError listing each bad line by number.
    """
    registry = registry or default_registry()
    events: list[tuple[int, LedgerEvent]] = []
    errors: list[LineError] = []
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:  # its msg is the parser's, without the text
            errors.append(LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except (ValueError, RecursionError):
            errors.append(
                LineError(
                    number,
                    "not valid JSON the ledger reads (a number too long or nesting too deep)",
                )
            )
            continue
        refused = _refused_type(obj, allowed_types, registry)
        if refused:
            errors.append(LineError(number, refused))
            continue
        if defaults is not None and isinstance(obj, dict):  # what the line leaves out, by number
            obj = {**defaults(number), **obj}
        try:
            events.append((number, build_event(obj, registry)))
        except EventValidationError as exc:
            errors.append(LineError(number, str(exc)))
    if errors:
        raise BatchValidationError(errors)
    return events


def parse_lines(
    lines: Iterable[str],
    registry: SchemaRegistry | None = None,
    *,
    allowed_types: Collection[str] | None = EMIT_EVENT_TYPES,
) -> list[LedgerEvent]:
    """Validates every line first; raises BatchValidationError listing each bad line by number."""
    return [e for _, e in parse_numbered_lines(lines, registry, allowed_types=allowed_types)]


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + 1
    if isinstance(value, Mapping):
        return sum(_size(k) + _size(v) for k, v in value.items()) + 1
    if isinstance(value, list | tuple):
        return sum(_size(v) for v in value) + 1
    return 8


def oversize_reason(event: LedgerEvent, size: int, limit: int) -> str:
    """A line error for an event too large for one Kafka message: sizes and the largest field."""
    record = event.to_record()
    largest = max(record, key=lambda name: _size(record[name]))
    hint = (
        " (send the refs in DisclosureManifest chunks of at most 5,000)"
        if largest == "taxpayer_refs"
        else ""
    )
    return (
        f"the encoded {event.event_type} is {size:,} bytes, more than the {limit:,} bytes one "
        f"Kafka message may hold here; its largest field is {largest}{hint}."
    )

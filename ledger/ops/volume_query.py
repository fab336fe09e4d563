"""The daily volume series of one scope kind: `ledger query --volume KIND` and /api/volume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.errors import QueryError
from ledger.ops.scope_asked import check_kind, check_scope, pair_of, scope_value
from ledger.rules.registry import Registry
from ledger.store import Connection, queries
from ledger.store.query_rows import VolumeDayRow


@dataclass(frozen=True)
class VolumeRequest:
    """Names as typed. The scope is ``value``, or its halves ``recipient`` and ``authority``
    (the halves a recipient, authority or pair series takes; a source series ignores them)."""

    kind: str = "recipient"
    value: str | None = None
    source: str | None = None  # only this source's days
    recipient: str | None = None
    authority: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int | None = None  # days per page; None: every day
    offset: int = 0


@dataclass(frozen=True)
class VolumeAnswer:
    kind: str
    value: str | None  # the stored scope value asked for, None for every scope of the kind
    days: list[VolumeDayRow]
    more: bool  # days follow this page


def scope_text(asked: VolumeRequest) -> str | None:
    """The scope as typed, from ``value`` or the halves; refuses both, or half a pair."""
    check_kind(asked.kind)
    halves = asked.recipient is not None or asked.authority is not None
    if asked.value is not None and halves:
        raise QueryError("give the scope as a value or as a recipient and an authority, not both")
    if asked.value is not None or asked.kind == "source":
        return asked.value
    if asked.kind == "pair":
        return pair_of(asked.recipient, asked.authority)
    return asked.recipient if asked.kind == "recipient" else asked.authority


def check(asked: VolumeRequest) -> str | None:
    """Refuses what no series answers; returns the scope as typed."""
    text = scope_text(asked)
    check_scope(asked.kind, text)
    if asked.limit is not None and asked.limit < 1:
        raise QueryError("limit must be at least 1")
    if asked.offset < 0:
        raise QueryError("offset must not be negative")
    return text


def volume_series(conn: Connection, registry: Registry, asked: VolumeRequest) -> VolumeAnswer:
    """The days of ``asked`` in order, names resolved through the registry (any spelling)."""
    text = check(asked)
    value = scope_value(registry, asked.kind, text)
    source = None if asked.source is None else registry.agency(asked.source).id
    # One day past the page says whether more follow.
    fetch = None if asked.limit is None else asked.limit + 1
    rows = queries.volume_series(
        conn, asked.kind, source, value, asked.since, asked.until, fetch, asked.offset
    )
    more = asked.limit is not None and len(rows) > asked.limit
    return VolumeAnswer(asked.kind, value, rows[: asked.limit], more)

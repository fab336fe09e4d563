"""From `ledger export`'s options to the Selection the store runs (see store.export.Selection)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.config import Settings
from ledger.errors import ExitCode, LedgerError
from ledger.rules.config import load_registry
from ledger.rules.model import CourtOrderFacts
from ledger.store import Connection
from ledger.store.export import Selection, court_order, stored_pairs

if TYPE_CHECKING:
    from ledger.ops.export import ExportRequest


class ExportRefusedError(LedgerError):
    """The export cannot be made as asked (a bad option, an output directory in use)."""

    exit_code = ExitCode.USAGE
    http_status = 422


def _refused(message: str) -> ExportRefusedError:
    return ExportRefusedError(message)


def resolve_selection(conn: Connection, settings: Settings, request: ExportRequest) -> Selection:
    """--recipient and --authority match exactly (as `ledger query` does); --order selects the
    transmissions the order covers: made while it was in force, to a recipient and under an
    authority it covers as the rules judge it (the registry: an order naming DHS covers ICE, one
    naming 6103(i) covers 6103(i)(2)), plus the order's own entry. All given filters hold at once."""
    if request.since and request.until and request.since > request.until:
        raise _refused(f"--since {request.since} is after --until {request.until}.")
    start = before = None
    extra: list[str] = []
    pairs: list[tuple[str, str]] | None = None
    if request.order is not None:
        found = court_order(conn, request.order)
        if found is None:
            raise _refused("No court order with that order id is recorded in the ledger.")
        event_id, record = found
        order = CourtOrderFacts.from_record(record)
        extra.append(event_id)
        start, before = order.effective_at, order.expires_at
        registry = load_registry(settings.registry_file)
        # The stored (recipient, authority) pairs are few: each is judged as the rules judge it.
        pairs = [(r, a) for r, a in stored_pairs(conn) if order.covers(r, a, registry)]
    narrowed = request.recipient is not None or request.authority is not None or bool(request.order)
    return Selection(
        timezone=settings.timezone.key,
        since=request.since,
        until=request.until,
        recipients=None if request.recipient is None else [request.recipient],
        authorities=None if request.authority is None else [request.authority],
        pairs=pairs,
        transmitted_from=start,
        transmitted_before=before,
        all_types=not narrowed,
        extra_event_ids=extra,
    )

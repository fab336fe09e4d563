"""From `ledger export`'s options to the Selection the store runs (see store.export.Selection)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.ops.order_reports import build_report, notices_of
from ledger.ops.scope_filter import authority_spellings, recipient_spellings
from ledger.rules.config import configured_rules
from ledger.rules.model import CourtOrderFacts
from ledger.store import Connection
from ledger.store.export import Selection, court_order
from ledger.store.reports import amendment_events, order_notices

if TYPE_CHECKING:
    from ledger.ops.export import ExportRequest


class ExportRefusedError(LedgerError):
    """The export cannot be made as asked (a bad option, an output directory in use)."""


def _refused(message: str) -> ExportRefusedError:
    return ExportRefusedError(message)


def _order_entries(conn: Connection, settings: Settings, order_id: str) -> list[str]:
    """Every entry the order report's verdicts rest on (``ledger.ops.order_reports``): the
    order's amendments and vacatur, each covered transmission under its terms over time (small
    ones too) with its amendments, the notices filed in the order's case for those recipients,
    and the requests they cite."""
    config = configured_rules(settings)
    report = build_report(conn, order_id, config)
    agency = config.registry.agency
    covered = {agency(line.disclosure.recipient_agency).id for line in report.lines}
    notices = notices_of(report.lines)
    notices += [
        n
        for n in order_notices(conn, report.order.case_reference)
        if agency(n.recipient_agency).id in covered
    ]
    transmissions = [line.disclosure for line in report.lines]
    return [
        *(c.event_id for c in report.changes),
        *(d.event_id for d in transmissions),
        *amendment_events(conn, [d.disclosure_id for d in transmissions]),
        *(n.event_id for n in notices),
        *report.request_events,
    ]


def resolve_selection(conn: Connection, settings: Settings, request: ExportRequest) -> Selection:
    """--recipient and --authority match by canonical id and ancestry, as the rules count
    (--recipient DHS selects ICE's disclosures too, any spelling of a citation is one authority);
    --order selects the transmissions the order covers: made while it was in force, to a
    recipient and under an authority it covers (the rules' test), plus the order's own entry and every entry the order report's verdicts rest on.
    All given filters must hold at once."""
    if request.since and request.until and request.since > request.until:
        raise _refused(f"--since {request.since} is after --until {request.until}.")
    registry = configured_rules(settings).registry
    recipients = authorities = None
    if request.recipient is not None:
        recipients = recipient_spellings(conn, registry, [request.recipient])
    if request.authority is not None:
        authorities = authority_spellings(conn, registry, [request.authority])
    start = before = None
    extra: list[str] = []
    if request.order is not None:
        found = court_order(conn, request.order)
        if found is None:
            raise _refused(f"No court order {request.order!r} is recorded in the ledger.")
        extra.extend(_order_entries(conn, settings, request.order))
        event_id, record = found
        order = CourtOrderFacts.from_record(record)
        extra.append(event_id)
        start, before = order.effective_at, order.expires_at
        if order.recipients:
            covered = recipient_spellings(conn, registry, order.recipients)
            recipients = covered if recipients is None else [r for r in recipients if r in covered]
        if order.authorities:
            covered = authority_spellings(conn, registry, order.authorities)
            authorities = (
                covered if authorities is None else [a for a in authorities if a in covered]
            )
    narrowed = request.recipient is not None or request.authority is not None or bool(request.order)
    return Selection(
        timezone=settings.timezone.key,
        since=request.since,
        until=request.until,
        recipients=recipients,
        authorities=authorities,
        transmitted_from=start,
        transmitted_before=before,
        all_types=not narrowed,
        extra_event_ids=extra,
    )

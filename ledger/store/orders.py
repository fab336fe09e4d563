"""Court orders as they now read: the recorded orders and their amendments and vacaturs."""

from __future__ import annotations

from ledger.events import CourtOrderAmended, CourtOrderVacated
from ledger.rules.model import CourtOrderFacts
from ledger.rules.orders import OrderChange, current_orders
from ledger.store.connection import Connection
from ledger.store.event_rows import event_json
from ledger.store.volume import court_order_records


def insert_change(conn: Connection, change: OrderChange) -> bool:
    """Appends an amendment or vacatur after the order's earlier ones; False if stored before."""
    kind = "vacated" if isinstance(change, CourtOrderVacated) else "amended"
    row = conn.execute(
        "INSERT INTO court_order_changes (event_id, order_id, seq, kind, record)"
        " SELECT %(e)s, %(o)s, COALESCE(max(seq), 0) + 1, %(k)s, %(r)s"
        "   FROM court_order_changes WHERE order_id = %(o)s"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        {
            "e": change.event_id,
            "o": change.order_id,
            "k": kind,
            "r": event_json(change.to_record()),
        },
    ).fetchone()
    return row is not None


def order_changes(conn: Connection, order_id: str | None = None) -> list[OrderChange]:
    """Every change (of ``order_id`` when given), in the order recorded."""
    rows = conn.execute(
        "SELECT kind, record FROM court_order_changes"
        " WHERE %(o)s::text IS NULL OR order_id = %(o)s ORDER BY order_id, seq",
        {"o": order_id},
    ).fetchall()
    return [
        CourtOrderVacated.from_json(r) if kind == "vacated" else CourtOrderAmended.from_json(r)
        for kind, r in rows
    ]


def recorded_orders(conn: Connection) -> list[CourtOrderFacts]:
    """The orders as first recorded, in the order they took effect."""
    return [CourtOrderFacts.from_record(r) for r in court_order_records(conn)]


def orders_now(conn: Connection) -> list[CourtOrderFacts]:
    """Every order under its latest terms; orders vacated from the start are left out."""
    return current_orders(recorded_orders(conn), order_changes(conn))
